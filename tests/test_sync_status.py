"""What store IT sees of sync: /healthz, the status page, the schedule."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa

from storeserver.extensions import db
from storeserver.sync.models import OutboxRow
from storeserver.sync.outbox import enqueue

from .conftest import STORE_IT_OPS, staff


def store_it(world):
    world.pull([staff("T1", "Tom", "Informatique", STORE_IT_OPS)])


def test_healthz_says_how_old_the_last_good_pull_is(world, client):
    response = client.get("/healthz")

    assert response.json["database"] == "ok"
    assert response.json["pull"] == "fresh"
    assert response.json["last_good_pull_age_hours"] < 1


def test_status_page_shows_parked_changes_and_queues_them_again(world, app, login):
    store_it(world)
    with app.app_context():
        row = enqueue("note.create", {"n": 1})
        row.status, row.last_error = "parked", "409 customer unknown at HQ"
        db.session.commit()
    session = login("T1")

    page = session.get("/admin").get_data(as_text=True)
    retried = session.post("/admin/outbox/retry", {})

    assert "409 customer unknown at HQ" in page
    assert "Send the parked changes again" in page
    assert retried.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(OutboxRow.status)) == "queued"


def test_the_schedule_runs_the_pull_at_the_stores_local_time(app):
    from storeserver.sync import schedule

    app.config["PULL_AT"] = "02:30"
    scheduler = schedule.start(app, "Europe/Paris")
    try:
        runs = schedule.next_runs(app)
    finally:
        scheduler.shutdown(wait=False)

    local = runs["pull"].astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (2, 30)
    assert "push" in runs
