"""The app factory: layered configuration, secret key, database settings."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime

import sqlalchemy as sa

from storeserver import create_app
from storeserver.extensions import db


def make(tmp_path, monkeypatch, **config):
    monkeypatch.setenv("STORESERVER_INSTANCE_PATH", str(tmp_path))
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db", **config}
    )


def test_instance_config_then_environment_then_test_mapping(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("STORE_ID = 'FROM-FILE'\nPAGE_SIZE = 20\n")
    monkeypatch.setenv("STORESERVER_PAGE_SIZE", "30")

    app = make(tmp_path, monkeypatch, HOST="0.0.0.0")

    assert app.config["STORE_ID"] == "FROM-FILE"
    assert app.config["PAGE_SIZE"] == 30
    assert app.config["HOST"] == "0.0.0.0"


def test_database_url_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("STORESERVER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/other.db")

    app = create_app()

    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("other.db")


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    first = make(tmp_path, monkeypatch)
    second = make(tmp_path, monkeypatch)
    elsewhere = make(tmp_path / "other", monkeypatch)

    key_file = tmp_path / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["SECRET_KEY"] != elsewhere.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 64
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(tmp_path, monkeypatch):
    # An app on SQLite whatever database the suite runs on: these settings are
    # SQLite's own, and a store runs on SQLite by default.
    app = make(tmp_path, monkeypatch)

    with app.app_context():
        pragma = {
            name: db.session.execute(sa.text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }

    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}


def test_an_instant_is_stored_and_read_back_as_naive_utc(app):
    # The suite's PostgreSQL server runs in a time zone far from UTC: were the
    # session's zone the server's, the aware instant would be shifted by it.
    from storeserver.sync.models import SyncRun

    with app.app_context():
        db.session.add(
            SyncRun(
                kind="pull",
                started_at=datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
                finished_at=datetime(2026, 3, 29, 1, 30),
            )
        )
        db.session.commit()
        db.session.expunge_all()
        run = db.session.scalars(sa.select(SyncRun)).one()

    assert (run.started_at, run.finished_at) == (
        datetime(2026, 3, 29, 0, 30),
        datetime(2026, 3, 29, 1, 30),
    )


def test_a_postgresql_url_without_a_driver_uses_psycopg(tmp_path, monkeypatch):
    monkeypatch.setenv("STORESERVER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://store@db.example.com/paris")

    app = create_app()

    assert app.config["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://store@db.example.com/paris"
    )


def test_migrations_match_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, db.metadata)

    assert differences == []


def test_healthz_says_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json["database"] == "ok"
    assert response.json["pull"] == "stale"  # never pulled


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/nowhere", headers={"Accept-Language": "en"})

    assert response.status_code == 404
    assert "This page does not exist." in response.get_data(as_text=True)
