"""A pull killed with SIGKILL at any point leaves the old state or the new one."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as raw:
        check = raw.execute("PRAGMA integrity_check").fetchone()[0]
        customers = raw.execute("SELECT count(*) FROM customer").fetchone()[0]
        row = raw.execute(
            "SELECT value FROM sync_state WHERE key = 'pull.watermark'"
        ).fetchone()
    return check, customers, row[0] if row else None


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
    import sys, time
    from storeserver import create_app
    from storeserver.sync.lock import sync_lock
    from storeserver.sync.pull import pull_lines

    app = create_app({"TESTING": True})

    def lines():
        with open(sys.argv[1], "rb") as handle:
            for line in handle:
                time.sleep(0.002)
                yield line

    with app.app_context(), sync_lock("pull"):
        print("locked", flush=True)
        pull_lines(lines(), "S1", "slow")
    print("done", flush=True)
    """
)


def test_two_pulls_at_once_one_runs_the_other_is_refused(app, store):
    env = {
        **os.environ,
        "STORESERVER_INSTANCE_PATH": app.instance_path,
        "STORESERVER_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "STORESERVER_STORE_ID": "S1",
    }
    first = subprocess.Popen(
        [sys.executable, "-c", SLOW_PULL, str(store)],
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
