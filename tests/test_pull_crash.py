"""A pull killed with SIGKILL at any point leaves the old state or the new one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import base_records, customer, feed_lines

# The child applies the feed line by line and kills itself without warning
# after `kill_after` lines, or at the moment it commits (-1).
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import sqlalchemy as sa
    from storeserver import create_app
    from storeserver.extensions import db
    from storeserver.sync.pull import pull_lines

    path, kill_after = sys.argv[1], int(sys.argv[2])
    app = create_app({"TESTING": True})

    def lines():
        with open(path, "rb") as handle:
            for number, line in enumerate(handle):
                if number == kill_after:
                    os.kill(os.getpid(), signal.SIGKILL)
                yield line

    with app.app_context():
        if kill_after < 0:
            sa.event.listen(
                db.engine, "commit", lambda conn: os.kill(os.getpid(), signal.SIGKILL)
            )
        pull_lines(lines(), "S1", "crash-test")
    """
)

NEW_CUSTOMERS = 1500


@pytest.fixture
def store(app, hq, tmp_path):
    """The old state: the base feed; the new feed: 1,500 customers more."""
    hq.pull(base_records() + [customer("C0", "Old", "State")], kind="full")
    feed = tmp_path / "new.ndjson"
    feed.write_text(
        "".join(
            feed_lines(
                [
                    customer(f"N{n:05d}", "New", f"Customer {n}")
                    for n in range(NEW_CUSTOMERS)
                ],
                kind="delta",
                watermark="2027-01-01T00:00:00Z",
            )
        ),
        "utf-8",
    )
    return feed


def run_child(app, feed: Path, kill_after: int) -> int:
    env = {
        **os.environ,
        "STORESERVER_INSTANCE_PATH": app.instance_path,
        "STORESERVER_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "STORESERVER_STORE_ID": "S1",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(feed), str(kill_after)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    return done.returncode


def state(app) -> tuple[str, int, str | None]:
    """The database's own check, the customer count and the stored watermark."""
    engine = sa.create_engine(
        app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool
    )
    with engine.connect() as connection:
        check = integrity(connection)
        customers = connection.scalar(sa.text("SELECT count(*) FROM customer"))
        watermark = connection.scalar(
            sa.text("SELECT value FROM sync_state WHERE key = 'pull.watermark'")
        )
    return check, customers, watermark


def integrity(connection) -> str:
    """ "ok", or the error of the database's own consistency check.

    SQLite: the killed process wrote the file itself, so the file is checked
    whole. PostgreSQL: the killed process was only a client and the server
    rolls its transaction back; amcheck verifies that every B-tree index
    agrees with its table, every row indexed (it needs a superuser).
    """
    if connection.dialect.name == "sqlite":
        return connection.scalar(sa.text("PRAGMA integrity_check"))
    connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS amcheck"))
    connection.commit()
    try:
        checked = connection.execute(
            sa.text(
                "SELECT bt_index_check(c.oid::regclass, true)"
                " FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN pg_am am ON am.oid = c.relam"
                " WHERE am.amname = 'btree'"
                " AND c.relnamespace = 'public'::regnamespace"
            )
        ).all()
    except sa.exc.DatabaseError as exc:
        connection.rollback()
        return str(exc.orig)
    connection.rollback()
    return "ok" if checked else "no index checked"


KILL_POINTS = [1, 150, 300, 450, 600, 750, 900, 1050, 1200, 1350, 1501, -1]


@pytest.mark.parametrize("kill_after", KILL_POINTS)
def test_a_killed_pull_leaves_old_or_new_state_and_completes_next_time(
    app, store, kill_after
):
    from storeserver.sync.pull import pull_lines

    before = state(app)

    code = run_child(app, store, kill_after)
    after_kill = state(app)
    with app.app_context(), store.open("rb") as handle:
        pull_lines(iter(handle), "S1", "after-crash")
    after_retry = state(app)

    assert code == -signal.SIGKILL
    assert after_kill[0] == "ok"
    assert after_kill in (before, ("ok", 1 + NEW_CUSTOMERS, "2027-01-01T00:00:00Z"))
    assert after_kill == before  # killed before or at commit: nothing of it stays
    assert after_retry == ("ok", 1 + NEW_CUSTOMERS, "2027-01-01T00:00:00Z")


SLOW_PULL = textwrap.dedent(
    """
    import pathlib, sys, time
    from storeserver import create_app
    from storeserver.sync.lock import sync_lock
    from storeserver.sync.pull import pull_lines

    app = create_app({"TESTING": True})
    go_on = pathlib.Path(sys.argv[2])

    def lines():
        # Hold the lock until the test has seen the second run refused,
        # however slow the machine is.
        for _ in range(1200):
            if go_on.exists():
                break
            time.sleep(0.1)
        with open(sys.argv[1], "rb") as handle:
            yield from handle

    with app.app_context(), sync_lock("pull"):
        print("locked", flush=True)
        pull_lines(lines(), "S1", "slow")
    print("done", flush=True)
    """
)


def test_two_pulls_at_once_one_runs_the_other_is_refused(app, store, tmp_path):
    env = {
        **os.environ,
        "STORESERVER_INSTANCE_PATH": app.instance_path,
        "STORESERVER_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "STORESERVER_STORE_ID": "S1",
    }
    first = subprocess.Popen(
        [sys.executable, "-c", SLOW_PULL, str(store), str(tmp_path / "go-on")],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert first.stdout.readline().strip() == "locked"

    second = subprocess.run(
        [sys.executable, "-m", "storeserver.cli", "sync", "pull"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    (tmp_path / "go-on").touch()
    rest, _ = first.communicate(timeout=120)

    assert second.returncode == 2
    assert "HQ pull not started: another sync run holds the lock: pull by pid" in (
        second.stderr
    )
    assert rest.strip() == "done"
    assert state(app) == ("ok", 1 + NEW_CUSTOMERS, "2027-01-01T00:00:00Z")


def test_the_scheduled_pull_runs_in_a_child_process(app, hq, monkeypatch, caplog):
    """The server's schedule applies a feed without doing the work in its process."""
    from storeserver.sync import schedule, services

    hq.pull(base_records(), kind="full")
    hq.write([customer("C9", "Nuit", "Programmée")], "next.ndjson", kind="delta")
    monkeypatch.setenv(
        "STORESERVER_SQLALCHEMY_DATABASE_URI", app.config["SQLALCHEMY_DATABASE_URI"]
    )
    monkeypatch.setenv("STORESERVER_STORE_ID", "S1")

    def not_here():
        raise AssertionError("the scheduled pull ran inside the server process")

    monkeypatch.setattr(services, "pull", not_here)
    caplog.set_level("INFO", logger="storeserver.sync.schedule")

    schedule._run(app, "pull")

    check, customers, watermark = state(app)
    assert (check, customers) == ("ok", 1)
    assert watermark == hq.clock.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "scheduled pull done: next.ndjson: delta feed applied" in caplog.text
