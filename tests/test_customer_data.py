"""A customer's data on request: store IT's export, and HQ's erasure."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from storeserver.audit import AuditEvent
from storeserver.extensions import db
from storeserver.sync.models import OutboxRow

from .conftest import STORE_IT_OPS, customer, staff, value
from .test_book import book, member

NAME = "Zoë Ørsted-Çelik"
NOTE = "Cherche un sac pour le mariage de sa fille"


@pytest.fixture
def held(world, login):
    """C1 with attributes, a measure, a book, a note, an activity, a queued change."""
    world.pull(
        [
            staff("T1", "Tom", "Informatique", STORE_IT_OPS),
            customer("C1", "Zoë", "Ørsted-Çelik"),
            customer("C2", "Ana", "Un"),
            value("C1", "aime", ["Sacs"]),
            ("measure_value", {"customer": "C1", "measure": "churn", "value": 0.42}),
            book("CB-A", "A1"),
            member("CB-A", "C2"),
        ]
    )
    session = login("A1")
    assert session.post("/book/add", {"customer": "C1"}).status_code in (302, 303)
    assert session.post("/customers/C1/notes", {"note-body": NOTE}).status_code == 303
    assert (
        session.post("/customers/C2/notes", {"note-body": "Autre"}).status_code == 303
    )
    response = session.post(
        "/customers/C1/activities",
        {
            "type": "CALL",
            "subject": "Appel mariage",
            "day": "2026-03-02",
            "status": "done",
            "token": "t-1",
        },
    )
    assert response.status_code == 303
    return world


def test_store_it_finds_a_customer_and_reads_everything_held(held, login):
    session = login("T1")

    found = session.get("/admin/customers?q=orsted").get_data(as_text=True)
    assert NAME in found
    page = session.get("/admin/customers/C1/data").get_data(as_text=True)

    assert NAME in page
    assert NOTE in page
    assert "Appel mariage" in page
    assert "Sacs" in page and "0.42" in page
    assert "CB-A" in page


def test_the_json_export_holds_the_card_notes_activities_and_trail(app, held, login):
    response = login("T1").get("/admin/customers/C1/data.json")

    assert response.status_code == 200
    assert "customer-C1.json" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    data = json.loads(response.get_data(as_text=True))
    assert data["customer"]["first_name"] == "Zoë"
    assert data["customer"]["consent"] == {"email": True, "phone": True, "sms": None}
    assert [n["body"] for n in data["notes"]] == [NOTE]
    assert [a["subject"] for a in data["activities"]] == ["Appel mariage"]
    assert data["attributes"][0]["value"] == "Sacs"
    assert data["measures"][0]["measure"] == "churn"
    assert data["client_books"][0]["book"] == "CB-A"
    assert [e["action"] for e in data["audit_events"]] == ["book.add"]
    assert data["client_books"][0]["added_by"] == "A1"
    # What is still to go to HQ about the customer holds the note's text too.
    kinds = [c["kind"] for c in data["changes_for_hq"]]
    assert kinds == ["book.add", "note.create", "activity.create"]
    assert data["changes_for_hq"][1]["payload"]["body"] == NOTE
    assert data["activities"][0]["version"] == 1
    with app.app_context():
        exported = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "customer.export")
        ).one()
        assert exported.actor_id == "T1" and exported.customer_id == "C1"


def test_associates_cannot_export_a_customer(held, login):
    assert login("A1").get("/admin/customers/C1/data.json").status_code == 403


def test_another_companys_customer_is_not_found(held, login):
    held.pull([customer("C9", "Xena", "Ailleurs", le="LE2", books=("AB9",))])

    assert login("T1").get("/admin/customers/C9/data").status_code == 404


def everything_stored(app) -> str:
    """Every row of every table, as text."""
    with app.app_context():
        parts = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)):
                parts.append(repr(tuple(row)))
        return "\n".join(parts)


def test_an_erasure_from_hq_removes_everything_and_pushes_nothing(
    app, held, login, caplog
):
    assert NOTE in everything_stored(app)
    with app.app_context():
        queued_before = db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboxRow)
        )

    result = held.pull([("erasure", {"customer": "C1"})])

    stored = everything_stored(app)
    for trace in (NOTE, "Zoë", "Ørsted", "Appel mariage", "c1@example.org"):
        assert trace not in stored
    assert "Autre" in stored  # C2's note stays
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxRow)).all()
        # The changes about C1 waiting for HQ are gone; nothing new was queued.
        assert all(r.payload.get("customer") != "C1" for r in rows)
        assert len(rows) < queued_before
        assert {r.kind for r in rows} >= {"note.create"}
        erased = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "customer.erased")
        ).one()
        assert erased.customer_id == "C1"
        assert erased.details["notes"] == 1 and erased.details["activities"] == 1
    assert result.counts["erasure.upsert"] == 1
    assert "customer C1 erased at HQ's request: " in caplog.text
    assert "Zoë" not in caplog.text.split("erased at HQ's request")[1]
    page = login("A1").get("/book").get_data(as_text=True)
    assert "Ørsted" not in page
    assert login("A1").get("/customers/C1").status_code == 404


def test_erasing_a_customer_the_store_never_held_is_counted(held):
    result = held.pull([("erasure", {"customer": "C-NEVER"})])

    assert result.counts["erasure.not_held"] == 1


def test_an_erased_customer_cannot_be_referred_to_later_in_the_feed(app, held):
    from storeserver.sync.feed import FeedError

    with pytest.raises(FeedError) as refused:
        held.pull([("erasure", {"customer": "C1"}), member("CB-A", "C1")])

    assert "C1" in str(refused.value)
    assert NOTE in everything_stored(app)  # the whole feed was refused
