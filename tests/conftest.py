"""Fixtures: an app on a fresh database per test, HQ feeds, and logins.

The schema is built once per session by running the migrations; each test
then starts from a migrated, empty database without paying for Alembic.

The suite runs on SQLite unless STORESERVER_TEST_DATABASE_URL names a
PostgreSQL server (any database on it; the role must be allowed to create
databases, and be a superuser for the crash test's index check). On SQLite
each test copies a template file; on PostgreSQL the suite migrates a database
of its own, empties its tables before each test and drops it at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from storeserver import create_app, upgrade_database

PASSWORD = "pw-for-tests"
# A cheap hash: tests sign in often and the hash strength is not under test.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

ALL_BOOK_OPS = ["712", "714", "715", "customer.view"]
STORE_IT_OPS = ["store.admin", "customer.view"]


@pytest.fixture(autouse=True)
def _push_request_context():
    """Replace pytest-flask's fixture of the same name with one that does nothing.

    Why: pytest-flask pushes one request context for the whole test, so every
    request made in the test shares one `g` (the CSRF token and the current
    store would leak from one request, or one test client, to the next). Real
    requests each get their own context, and so must ours.
    """


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs():
    """Compile the translation catalogs, as `make install` does, for a bare pytest."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (Path(__file__).parent.parent / "storeserver" / "translations").glob(
        "*/LC_MESSAGES/messages.po"
    ):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source, mo.open("wb") as target:
                write_mo(target, read_po(source, locale=po.parent.parent.name))


TEST_DATABASE_URL = os.environ.get("STORESERVER_TEST_DATABASE_URL", "")


class SQLiteFiles:
    """A template file migrated once; each test copies it."""

    def __init__(self, folder: Path):
        self.template = folder / "template.sqlite3"
        self.url_to_migrate = f"sqlite:///{self.template}"

    def create(self, folder: Path) -> str:
        path = folder / "store.sqlite3"
        shutil.copy(self.template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        """Nothing to do: the file goes with the test's temporary folder."""

    def close(self) -> None:
        """Nothing to close: there is no server."""


class PostgreSQLDatabase:
    """One database migrated once; each test starts with its tables emptied.

    Emptying the tables costs 5-10 ms; copying a template database (CREATE
    DATABASE ... TEMPLATE) costs 5 to 20 times more, as it copies the system
    catalogs too, and more still when the machine is busy.
    """

    def __init__(self, server_url: str):
        server = sa.make_url(server_url)
        # The process id keeps two runs against one server apart.
        self.name = f"storeserver_test_{os.getpid()}"
        self.admin = sa.create_engine(
            server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
        )
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {self.name}")
        self.url_to_migrate = server.set(database=self.name).render_as_string(
            hide_password=False
        )
        self.engine = sa.create_engine(self.url_to_migrate, pool_size=1)
        self._emptying: str | None = None

    def _admin(self, sql: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(sql)

    def _emptying_sql(self, connection) -> str:
        """One script: delete every row, children first, and restart the ids."""
        from storeserver.extensions import db

        statements = [
            f"DELETE FROM {table.name}" for table in reversed(db.metadata.sorted_tables)
        ]
        sequences = connection.exec_driver_sql(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
        ).scalars()
        statements += [f"ALTER SEQUENCE {name} RESTART" for name in sequences]
        return "; ".join(statements)

    def create(self, folder: Path) -> str:
        with self.engine.begin() as connection:
            # The sessions a test left behind (a child process it killed)
            # would hold locks on the rows to delete.
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if self._emptying is None:
                self._emptying = self._emptying_sql(connection)
            connection.exec_driver_sql(self._emptying)
        return self.url_to_migrate

    def drop(self, url: str) -> None:
        """Nothing to do: the next test empties the tables first."""

    def close(self) -> None:
        self.engine.dispose()
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self.admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    """Where each test's database comes from, migrated once."""
    if TEST_DATABASE_URL:
        source = PostgreSQLDatabase(TEST_DATABASE_URL)
    else:
        source = SQLiteFiles(tmp_path_factory.mktemp("template"))
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": source.url_to_migrate,
            "SECRET_KEY": "template",
        }
    )
    upgrade_database(app)
    with app.app_context():
        from storeserver.extensions import db

        db.engine.dispose()
    yield source
    source.close()


@pytest.fixture
def app_config(tmp_path) -> dict:
    """The test mapping given to create_app; a test may change it before `app`."""
    return {}


@pytest.fixture
def app(tmp_path, databases, app_config, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir()
    url = databases.create(tmp_path)
    monkeypatch.setenv("STORESERVER_INSTANCE_PATH", str(instance))
    # A developer's DATABASE_URL would win over the test's database in the
    # child processes some tests start: it must never be a real store's.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "STORE_ID": "S1",
        # Many tests move the clock by months while signed in: idle sign-out
        # is off unless a test turns it on (tests/test_shared_tablets.py).
        "IDLE_MINUTES": 0,
        **app_config,
    }
    app = create_app(config)
    yield app
    with app.app_context():
        from storeserver.extensions import db

        db.engine.dispose()
    databases.drop(url)


@pytest.fixture
def clock(monkeypatch):
    """clock("2026-10-20T09:00:00Z") sets the server's current instant."""
    from storeserver import timeutil

    def set_now(text: str) -> None:
        now = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
        monkeypatch.setattr(timeutil, "_now", lambda: now)

    return set_now


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# -- HQ feeds ------------------------------------------------------------------------


def feed_lines(
    records: Iterable[tuple[str, dict] | tuple[str, str, dict]],
    store: str = "S1",
    kind: str = "full",
    watermark: str = "2026-01-01T00:00:00Z",
    trailer: bool = True,
    count: int | None = None,
) -> list[str]:
    """NDJSON lines of a feed; a record is (entity, data) or (entity, op, data)."""
    header = {
        "type": "header",
        "format": 1,
        "store": store,
        "kind": kind,
        "watermark": watermark,
    }
    lines = [json.dumps(header)]
    n = 0
    for record in records:
        entity, op, data = (
            record if len(record) == 3 else (record[0], "upsert", record[1])
        )
        lines.append(
            json.dumps({"type": "record", "entity": entity, "op": op, "data": data})
        )
        n += 1
    if trailer:
        lines.append(
            json.dumps({"type": "trailer", "count": n if count is None else count})
        )
    return [line + "\n" for line in lines]


class HQ:
    """Plays HQ: builds feeds and applies them through the real pull."""

    def __init__(self, app):
        self.app = app
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)

    def next_watermark(self) -> str:
        self.clock += timedelta(minutes=1)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def lines(self, records, kind="delta", **kwargs) -> list[str]:
        kwargs.setdefault("watermark", self.next_watermark())
        return feed_lines(records, kind=kind, **kwargs)

    def pull(self, records, kind="delta", **kwargs):
        from storeserver.sync.pull import pull_lines

        with self.app.app_context():
            return pull_lines(self.lines(records, kind=kind, **kwargs), "S1", "test")

    def write(self, records, name: str, kind="full", **kwargs) -> Path:
        """Write a feed file into the app's HQ feed folder."""
        folder = Path(self.app.config["HQ_FEED_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text("".join(self.lines(records, kind=kind, **kwargs)), "utf-8")
        return path


@pytest.fixture
def hq(app) -> HQ:
    return HQ(app)


def staff(staff_id, first, last, ops, le="LE1", books=("AB1",), **extra) -> tuple:
    return (
        "staff",
        {
            "id": staff_id,
            "legal_entity": le,
            "first_name": first,
            "last_name": last,
            "password_hash": PASSWORD_HASH,
            "address_books": list(books),
            "operations": ops,
            **extra,
        },
    )


def customer(customer_id, first, last, le="LE1", books=("AB1",), **extra) -> tuple:
    data = {
        "id": customer_id,
        "legal_entity": le,
        "account_number": f"ACC-{customer_id}",
        "first_name": first,
        "last_name": last,
        "email": f"{customer_id.lower()}@example.org",
        "phone": "+33 6 00 00 00 00",
        "consent": {"email": True, "phone": True, "sms": None},
        "address_books": list(books),
    }
    data.update(extra)
    return ("customer", data)


def value(customer_id, attribute, val) -> tuple:
    return (
        "attribute_value",
        {"customer": customer_id, "attribute": attribute, "value": val},
    )


def base_records(card_measures=(), exclusive=True) -> list[tuple]:
    """A small legal entity: one store, associates of each kind, an attribute group."""
    return [
        ("legal_entity", {"id": "LE1", "name": "Maison Test"}),
        ("legal_entity", {"id": "LE2", "name": "Autre Maison"}),
        (
            "number_sequence",
            {"id": "NS1", "legal_entity": "LE1", "prefix": "CB-", "next": 100},
        ),
        ("address_book", {"id": "AB1", "legal_entity": "LE1", "name": "Boutique 1"}),
        ("address_book", {"id": "AB2", "legal_entity": "LE1", "name": "Boutique 2"}),
        ("address_book", {"id": "AB9", "legal_entity": "LE2", "name": "Ailleurs"}),
        (
            "store",
            {
                "id": "S1",
                "legal_entity": "LE1",
                "name": "Boutique Test",
                "time_zone": "Europe/Paris",
                "default_locale": "fr",
                "address_books": ["AB1"],
            },
        ),
        staff("A1", "Inès", "Essai", ALL_BOOK_OPS),
        staff("B1", "Marc", "Exemple", ALL_BOOK_OPS),
        staff("R1", "Rita", "Lecture", ["712", "customer.view"]),
        staff("N1", "Noé", "Rien", []),
        staff(
            "M1",
            "Maud",
            "Gérante",
            ["712", "713", "714", "715", "716", "customer.view"],
        ),
        staff("D1", "Denis", "Parti", ALL_BOOK_OPS, login_enabled=False),
        staff("X1", "Xavier", "Ailleurs", ALL_BOOK_OPS, le="LE2", books=("AB9",)),
        (
            "attribute_group",
            {"id": "AG1", "legal_entity": "LE1", "name": "Client book"},
        ),
        (
            "attribute",
            {
                "id": "aime",
                "group": "AG1",
                "label": {"en": "Likes", "fr": "Aime"},
                "type": "multi_choice",
                "refinable": True,
                "display_order": 1,
                "values": ["Sacs", "Chaussures", "Bijoux", "Sacs & ceintures"],
            },
        ),
        (
            "attribute",
            {
                "id": "anniversaire",
                "group": "AG1",
                "label": {"en": "Birthday", "fr": "Anniversaire"},
                "type": "yearless_date",
                "display_order": 2,
            },
        ),
        (
            "attribute",
            {
                "id": "marque",
                "group": "AG1",
                "label": {"en": "Brand", "fr": "Marque"},
                "type": "single_choice",
                "refinable": True,
                "display_order": 3,
                "values": ["Maison Test", "Atelier Test"],
            },
        ),
        (
            "attribute",
            {
                "id": "taille",
                "group": "AG1",
                "label": {"en": "Size", "fr": "Taille"},
                "type": "single_choice",
                "refinable": True,
                "display_order": 4,
                "values": ["36", "38", "40"],
            },
        ),
        (
            "attribute",
            {
                "id": "remarque",
                "group": "AG1",
                "label": {"en": "Gift note", "fr": "Remarque cadeau"},
                "type": "text",
                "display_order": 5,
            },
        ),
        (
            "measure",
            {
                "id": "churn",
                "legal_entity": "LE1",
                "label": {"en": "Churn", "fr": "Attrition"},
                "format": "percent",
            },
        ),
        (
            "measure",
            {
                "id": "nba",
                "legal_entity": "LE1",
                "label": {"en": "Next best action", "fr": "Prochaine action"},
                "format": "text",
            },
        ),
        (
            "measure",
            {
                "id": "clv",
                "legal_entity": "LE1",
                "label": {"en": "Lifetime value", "fr": "Valeur client"},
                "format": "number",
            },
        ),
        (
            "activity_type",
            {
                "id": "CALL",
                "legal_entity": "LE1",
                "code": "CALL",
                "label": {"en": "Phone call", "fr": "Appel"},
            },
        ),
        (
            "activity_type",
            {
                "id": "APPT",
                "legal_entity": "LE1",
                "code": "APPT",
                "label": {"en": "Appointment", "fr": "Rendez-vous"},
                "appointment": True,
            },
        ),
        (
            "activity_type",
            {
                "id": "VISIT",
                "legal_entity": "LE1",
                "code": "VISIT",
                "label": {"en": "Store visit", "fr": "Visite en boutique"},
            },
        ),
        (
            "settings",
            {
                "legal_entity": "LE1",
                "enabled": True,
                "number_sequence": "NS1",
                "attribute_group": "AG1",
                "exclusive": exclusive,
                "card_measures": list(card_measures),
            },
        ),
    ]


@pytest.fixture
def world(hq):
    """The small legal entity of `base_records`, pulled as a full feed."""
    hq.pull(base_records(), kind="full")
    return hq


# -- signing in ------------------------------------------------------------------------

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page as a browser would."""
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = _TOKEN.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


class Session:
    """A signed-in test client that sends the CSRF token like the pages do."""

    def __init__(self, client, token: str, language: str = "en"):
        self.client = client
        self.token = token
        self.language = language

    def _headers(self, kwargs) -> dict:
        # The test store defaults to French; tests read English unless they ask.
        return {"Accept-Language": self.language, **kwargs.pop("headers", {})}

    def get(self, url, htmx=False, **kwargs):
        headers = self._headers(kwargs)
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.get(url, headers=headers, **kwargs)

    def post(self, url, data=None, htmx=False, **kwargs):
        headers = self._headers(kwargs)
        if htmx:
            # htmx sends the token in a header (hx-headers on <body>).
            headers.update({"HX-Request": "true", "X-CSRFToken": self.token})
        else:
            data = {**(data or {}), "csrf_token": self.token}
        return self.client.post(url, data=data, headers=headers, **kwargs)


@pytest.fixture
def login(app):
    """login("A1") -> a Session signed in as that staff member."""

    def sign_in(staff_id: str, password: str = PASSWORD) -> Session:
        client = app.test_client()
        token = csrf_token(client)
        response = client.post(
            "/login",
            data={"staff_id": staff_id, "password": password, "csrf_token": token},
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return Session(client, csrf_token(client, "/"))

    return sign_in
