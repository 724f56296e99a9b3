"""The clienteling store server."""

from __future__ import annotations

import logging
import logging.handlers
import os
import secrets
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, g, has_request_context, request

from . import errors
from .extensions import babel, csrf, db, htmx, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"

logger = logging.getLogger(__name__)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, instance config, environment, then test mapping."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("STORESERVER_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    _configure(app, test_config)
    _configure_logging(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(
        app, locale_selector=_select_locale, timezone_selector=_select_timezone
    )
    login_manager.init_app(app)
    limiter.init_app(app)
    _import_models()
    _prepare_database(app)

    from .cache import init_cache

    init_cache(app)
    errors.register(app)
    _register_blueprints(app)
    app.after_request(_security_headers)
    from .cli import register as register_commands

    register_commands(app)
    _register_template_helpers(app)
    return app


def upgrade_database(app: Flask) -> None:
    """Bring the database to the newest schema (run when the server starts)."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(MIGRATIONS))


def _configure(app: Flask, test_config: dict | None) -> None:
    app.config.from_object("storeserver.config")
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("STORESERVER")
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if test_config:
        app.config.update(test_config)

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{instance / 'storeserver.sqlite3'}"
        )
    app.config["SQLALCHEMY_DATABASE_URI"] = _with_driver(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    for key in ("HQ_FEED_DIR", "HQ_OUTBOX_DIR"):
        app.config[key] = str(instance / app.config[key])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(instance)


def _with_driver(uri: str) -> str:
    """A PostgreSQL URL without a driver ("postgresql://...") uses psycopg 3.

    Hosting services hand out such URLs, and SQLAlchemy would otherwise look
    for psycopg2, which the project does not install.
    """
    url = sa.make_url(uri)
    if url.drivername in ("postgres", "postgresql"):
        return url.set(drivername="postgresql+psycopg").render_as_string(
            hide_password=False
        )
    return uri


def _instance_secret_key(instance: Path) -> str:
    """Read the store's secret key, generating it into the instance folder once."""
    path = instance / "secret_key"
    if not path.exists():
        # Created with owner-only rights; never a fixed string in the code.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def _configure_logging(app: Flask) -> None:
    level = app.config["LOG_LEVEL"]
    root = logging.getLogger("storeserver")
    root.setLevel(level)
    if app.testing or root.handlers:
        return

    # Our own handlers only: the migrations configure the root logger too, and
    # a line must not be written twice.
    root.propagate = False
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    console = logging.StreamHandler()
    console.setFormatter(formatter)
    root.addHandler(console)
    log_dir = Path(app.instance_path) / "logs"
    log_dir.mkdir(exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(
        log_dir / "storeserver.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(formatter)
    root.addHandler(file_handler)


def _import_models() -> None:
    # Imported for their side effect: every table is on db.metadata before
    # Alembic compares it with the database.
    from . import audit  # noqa: F401
    from .activities import models as _activities  # noqa: F401
    from .auth import models as _auth  # noqa: F401
    from .book import models as _book  # noqa: F401
    from .customers import models as _customers  # noqa: F401
    from .insights import models as _insights  # noqa: F401
    from .notes import models as _notes  # noqa: F401
    from .org import models as _org  # noqa: F401
    from .store_book import models as _store_book  # noqa: F401
    from .sync import models as _sync  # noqa: F401


def _prepare_database(app: Flask) -> None:
    """Settings every new connection gets, by database.

    SQLite: WAL journal, foreign keys on, and a busy timeout. PostgreSQL: the
    session's time zone is UTC, as the stored instants are (naive UTC), so
    that the server's own zone never shifts one.
    """
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        sa.event.listen(engine, "connect", _postgresql_session)
        sa.event.listen(engine, "handle_error", _without_row_data)
        return
    if engine.dialect.name != "sqlite":
        return
    timeout = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {timeout}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Deleted rows (an erased customer's notes) are overwritten, not left
        # in the file's free pages.
        cursor.execute("PRAGMA secure_delete = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()


def _postgresql_session(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    # The driver opened a transaction for the SET: a rollback would undo it.
    dbapi_connection.commit()


def _without_row_data(context) -> None:
    """Keep PostgreSQL's row data out of an error's message, hence out of the log.

    The server details a failed constraint with the row or the key values
    ("Failing row contains (...)"): a note's body or a customer's details. The
    message keeps the server's first line only; `orig.diag` keeps the rest.
    """
    orig = context.original_exception
    diag = getattr(orig, "diag", None)
    wrapped = context.sqlalchemy_exception
    if diag is None or not diag.message_detail or wrapped is None:
        return
    orig.args = (diag.message_primary or type(orig).__name__,)
    # The wrapping error wrote its message from the original one's.
    wrapped.args = (f"({type(orig).__module__}.{type(orig).__name__}) {orig}",)


def _register_blueprints(app: Flask) -> None:
    from .activities.routes import bp as activities_bp
    from .admin.routes import bp as admin_bp
    from .auth.routes import bp as auth_bp
    from .book.routes import bp as book_bp
    from .customers.routes import bp as customers_bp
    from .health import bp as health_bp
    from .lists.routes import bp as lists_bp
    from .notes.routes import bp as notes_bp
    from .store_book.routes import bp as store_book_bp

    for blueprint in (
        auth_bp,
        book_bp,
        customers_bp,
        store_book_bp,
        lists_bp,
        activities_bp,
        notes_bp,
        admin_bp,
        health_bp,
    ):
        app.register_blueprint(blueprint)


CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    )
)


def _security_headers(response):
    """Headers every response carries: no framing, no sniffing, scripts from us."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype in ("text/html", "text/csv", "text/calendar"):
        # Pages and exports hold customer data: a shared tablet must not keep
        # them for the back button after sign-out.
        response.headers["Cache-Control"] = "no-store"
    return response


def _select_locale() -> str:
    """The device's choice, else the browser's, else the store's language.

    The browser's region is kept ("en_GB", "fr_CH") so that dates and numbers
    read as the associate expects; translations fall back to the language.
    """
    from babel import Locale, UnknownLocaleError
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # A CLI command or a job: the store's language.
        store = current_store()
        return store.default_locale if store is not None else languages[0]
    chosen = request.cookies.get("lang")
    if chosen in languages:
        return chosen
    for tag, _quality in request.accept_languages:
        try:
            locale = Locale.parse(tag, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
        if locale.language in languages:
            return str(locale)
    store = current_store()
    if store is not None and store.default_locale in languages:
        return store.default_locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _select_timezone() -> str:
    store = current_store()
    return store.time_zone if store is not None else "UTC"


def current_store():
    """The store this server serves, loaded once per request."""
    from flask import current_app

    from .org.models import Store

    if "store" not in g:
        g.store = db.session.get(Store, current_app.config["STORE_ID"])
    return g.store


def _register_template_helpers(app: Flask) -> None:
    from flask_babel import format_date, format_datetime, format_time, get_locale

    from .permissions import Operation, has

    @app.context_processor
    def helpers():
        idle = round(float(app.config["IDLE_MINUTES"]) * 60)
        return {
            "idle_seconds": idle,
            "idle_warning_seconds": min(
                int(app.config["IDLE_WARNING_SECONDS"]), idle // 2
            ),
            "current_store": current_store(),
            "Operation": Operation,
            "has": has,
            "current_locale": str(get_locale()).replace("_", "-"),
            "current_language": get_locale().language,
            "languages": app.config["LANGUAGES"],
            "format_datetime": format_datetime,
            "format_date": format_date,
            "format_time": format_time,
        }

    @app.template_filter("label")
    def label(value: dict | None) -> str:
        """Pick the label for the current language from an HQ label mapping."""
        if not value:
            return ""
        language = get_locale().language
        return value.get(language) or value.get("en") or next(iter(value.values()))
