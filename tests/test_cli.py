"""The `storeserver` command: sync pull, demo setup, staff list, db upgrade.

The commands live on the `storeserver` group (`storeserver.cli:main`), which is
what the console script runs, so the runner is given that group; it still runs
them against the test app (the runner passes it in as the script info).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from storeserver.cli import main
from storeserver.customers.models import Customer
from storeserver.demo import DEMO_STORE
from storeserver.extensions import db

from .conftest import base_records, customer

demo_store = pytest.mark.parametrize(
    "app_config", [{"STORE_ID": DEMO_STORE}], ids=["demo"]
)


def invoke(runner, *args: str):
    return runner.invoke(main, args=list(args))


def customer_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Customer))


# -- sync pull -------------------------------------------------------------------------


def test_sync_pull_prints_counts_per_entity_and_elapsed_time(runner, hq):
    hq.write(
        [
            *base_records(),
            customer("C1", "Lucie", "Fictive"),
            customer("C2", "Zoë", "Exemple"),
        ],
        "S1-20260101T000000Z-full.ndjson",
    )

    result = invoke(runner, "sync", "pull")

    assert result.exit_code == 0, result.output
    assert "S1-20260101T000000Z-full.ndjson: full feed applied" in result.output
    assert re.search(r"^\s+customer\.upsert\s+2$", result.output, re.M)
    assert re.search(r"^\s+staff\.upsert\s+7$", result.output, re.M)
    assert re.search(r"^Elapsed: \d+\.\d\d s$", result.output, re.M)


def test_sync_pull_applies_the_feed(app, runner, hq):
    hq.write(
        [*base_records(), customer("C1", "Lucie", "Fictive")],
        "S1-20260101T000000Z-full.ndjson",
    )

    invoke(runner, "sync", "pull")

    assert customer_count(app) == 1


def test_sync_pull_refused_feed_exits_1_naming_the_line(app, runner, hq):
    bad = customer("C9", "Sans", "Compte")
    del bad[1]["account_number"]
    hq.write([*base_records(), bad], "S1-20260101T000000Z-full.ndjson")
    line = len(base_records()) + 2  # after the header and the base records

    result = invoke(runner, "sync", "pull")

    assert result.exit_code == 1
    assert "refused, nothing changed" in result.output
    assert f'line {line}: customer record lacks required field "account_number"' in (
        result.output
    )
    assert customer_count(app) == 0


def test_sync_pull_without_feed_says_so(runner):
    result = invoke(runner, "sync", "pull")

    assert result.exit_code == 0
    assert "No feed for this store in the HQ folder." in result.output


def test_sync_pull_skips_a_feed_already_applied(runner, hq):
    hq.write(base_records(), "S1-20260101T000000Z-full.ndjson")
    invoke(runner, "sync", "pull")

    result = invoke(runner, "sync", "pull")

    assert result.exit_code == 0
    assert "S1-20260101T000000Z-full.ndjson: skipped, already applied" in result.output


# -- the demo store --------------------------------------------------------------------


@demo_store
def test_demo_feed_then_sync_pull_stores_the_demo_customers(app, runner):
    invoke(runner, "demo", "feed", "--customers", "200")

    result = invoke(runner, "sync", "pull")

    assert result.exit_code == 0, result.output
    assert (
        f"{DEMO_STORE}-20261203T020000Z-full.ndjson: full feed applied" in result.output
    )
    assert customer_count(app) > 0


@demo_store
def test_staff_list_lists_the_demo_associate(runner):
    invoke(runner, "demo", "feed", "--customers", "200")
    invoke(runner, "sync", "pull")

    result = invoke(runner, "staff", "list")

    assert result.exit_code == 0, result.output
    assert re.search(r"^S1001\s+Inès Moreau\s+712,", result.output, re.M)


@demo_store
def test_demo_setup_writes_and_pulls_the_demo_feed(app, runner, monkeypatch):
    import storeserver.demo

    real = storeserver.demo.write_demo_feeds
    # 200 customers instead of the default 5,000 keep the test quick.
    monkeypatch.setattr(
        storeserver.demo,
        "write_demo_feeds",
        lambda out, customers: real(out, customers=200),
    )

    result = invoke(runner, "demo", "setup")

    assert result.exit_code == 0, result.output
    assert "full feed applied" in result.output
    assert customer_count(app) > 0


@demo_store
def test_demo_setup_is_skipped_when_a_store_is_held(app, runner):
    invoke(runner, "demo", "feed", "--customers", "200")
    invoke(runner, "sync", "pull")
    before = customer_count(app)

    result = invoke(runner, "demo", "setup")

    assert result.exit_code == 0
    assert "demo setup skipped" in result.output
    assert customer_count(app) == before


# -- the database ----------------------------------------------------------------------


def test_db_upgrade_on_a_migrated_database_succeeds(runner):
    result = invoke(runner, "db", "upgrade")

    assert result.exit_code == 0, result.output
    assert result.exception is None


def test_sync_push_and_status_report_what_happened(app, runner, world):
    from storeserver.cli import main
    from storeserver.extensions import db as database
    from storeserver.sync.outbox import enqueue

    with app.app_context():
        for n in range(3):
            enqueue("note.create", {"n": n})
        database.session.commit()

    pushed = runner.invoke(main, ["sync", "push"])
    status = runner.invoke(main, ["sync", "status"])

    assert pushed.exit_code == 0, pushed.output
    assert "3 sent, 0 parked, 0 still queued" in pushed.output
    assert "changes/s" in pushed.output
    assert status.exit_code == 0
    assert "last pull:" in status.output and "ok" in status.output
    assert "last push:" in status.output
    assert "outbox: 0 queued, 0 parked, 3 sent" in status.output
    assert "lock: free" in status.output
    outbox = Path(app.config["HQ_OUTBOX_DIR"])
    files = list(outbox.glob("*.ndjson"))
    assert [f.name for f in files] == ["S1-0000000001-0000000003.ndjson"]
    assert not list(outbox.glob("*.part"))
