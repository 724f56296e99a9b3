"""Applying HQ feeds (docs/hq-protocol.md): all or nothing, matched on HQ ids.

Feeds go through the real pull (`pull_lines`, or the folder connector through
`storeserver.sync.services.pull`); what they did is read back from the tables.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from storeserver.activities.models import ActivityType
from storeserver.book.models import ClientBook, Membership
from storeserver.customers.models import (
    Attribute,
    AttributeValue,
    Customer,
    MeasureValue,
)
from storeserver.extensions import db
from storeserver.org.models import (
    ClientelingSettings,
    LegalEntity,
    NumberSequence,
    Staff,
    Store,
    store_address_books,
)
from storeserver.sync.feed import FeedError
from storeserver.sync.models import SyncRun, SyncState
from storeserver.sync.pull import pull_lines

from .conftest import ALL_BOOK_OPS, base_records, customer, value

WATERMARK_KEY = "pull.watermark"


# -- helpers ---------------------------------------------------------------------------


def scalars(app, stmt) -> list:
    with app.app_context():
        return list(db.session.scalars(stmt))


def scalar(app, stmt):
    with app.app_context():
        return db.session.scalar(stmt)


def watermark(app) -> str | None:
    with app.app_context():
        state = db.session.get(SyncState, WATERMARK_KEY)
        return state.value if state else None


def last_run(app) -> dict:
    with app.app_context():
        run = db.session.scalars(sa.select(SyncRun).order_by(SyncRun.id.desc())).first()
        return {
            "kind": run.kind,
            "result": run.result,
            "error": run.error,
            "watermark": run.watermark,
            "counts": run.counts,
            "finished": run.finished_at is not None,
        }


def pull_raw(app, lines):
    """Apply feed lines as they are (for feeds `hq.pull` cannot build)."""
    with app.app_context():
        return pull_lines(lines, "S1", "test")


def first_name(app, customer_id) -> str | None:
    return scalar(app, sa.select(Customer.first_name).where(Customer.id == customer_id))


def customer_row(app, customer_id) -> dict:
    with app.app_context():
        row = db.session.get(Customer, customer_id)
        return {c.name: getattr(row, c.key) for c in Customer.__table__.columns}


def values_of(app, customer_id, attribute) -> set[str]:
    return set(
        scalars(
            app,
            sa.select(AttributeValue.value).where(
                AttributeValue.customer_id == customer_id,
                AttributeValue.attribute_id == attribute,
            ),
        )
    )


def books_of(app, customer_id) -> list[str]:
    return scalars(
        app,
        sa.select(Membership.book_id)
        .where(Membership.customer_id == customer_id)
        .order_by(Membership.book_id),
    )


def book(book_id, owner):
    return ("client_book", {"id": book_id, "legal_entity": "LE1", "staff": owner})


def member(book_id, customer_id):
    return ("membership", {"book": book_id, "customer": customer_id})


def without(record: tuple, *fields: str) -> tuple:
    entity, data = record
    return entity, {k: v for k, v in data.items() if k not in fields}


def full_feed() -> list[tuple]:
    """`base_records` plus one record of every other entity."""
    return base_records(card_measures=("churn", "nba")) + [
        (
            "activity_type",
            {
                "id": "AT-CALL",
                "legal_entity": "LE1",
                "code": "CALL",
                "label": {"en": "Phone call", "fr": "Appel"},
            },
        ),
        customer("C1", "Lucie", "Fictive"),
        customer(
            "C2", "Zoë", "Exemple", consent={"email": False, "phone": True, "sms": None}
        ),
        value("C1", "aime", ["Sacs", "Bijoux"]),
        (
            "measure_value",
            {
                "customer": "C1",
                "measure": "churn",
                "value": 0.42,
                "as_of": "2026-01-01T00:00:00Z",
            },
        ),
        book("CB1", "A1"),
        ("membership", {"book": "CB1", "customer": "C1", "added_by": "A1"}),
    ]


@pytest.fixture
def held(world):
    """The base world plus customer C1 "Lucie Fictive", pulled in a delta."""
    world.pull([customer("C1", "Lucie", "Fictive")])
    return world


# -- a full feed -----------------------------------------------------------------------


def test_full_feed_stores_the_organisation(app, hq):
    hq.pull(full_feed(), kind="full")

    with app.app_context():
        store = db.session.get(Store, "S1")
        store_books = db.session.scalars(
            sa.select(store_address_books.c.address_book_id).where(
                store_address_books.c.store_id == "S1"
            )
        ).all()
        a1 = db.session.get(Staff, "A1")
        settings = db.session.get(ClientelingSettings, "LE1")
        assert set(db.session.scalars(sa.select(LegalEntity.id))) == {"LE1", "LE2"}
        assert (store.name, store.time_zone, store.default_locale) == (
            "Boutique Test",
            "Europe/Paris",
            "fr",
        )
        assert store_books == ["AB1"]
        assert (a1.first_name, a1.operations, a1.login_enabled) == (
            "Inès",
            ALL_BOOK_OPS,
            True,
        )
        assert db.session.get(Staff, "D1").login_enabled is False
        assert db.session.get(NumberSequence, "NS1").next_value == 100
        assert db.session.get(ActivityType, "AT-CALL").code == "CALL"
        assert (settings.number_sequence_id, settings.attribute_group_id) == (
            "NS1",
            "AG1",
        )
        assert settings.card_measures == ["churn", "nba"]


def test_full_feed_stores_customers_values_and_measures(app, hq):
    hq.pull(full_feed(), kind="full")

    c2 = customer_row(app, "C2")
    assert scalars(app, sa.select(Customer.id).order_by(Customer.id)) == ["C1", "C2"]
    assert (c2["first_name"], c2["last_name"], c2["active"]) == ("Zoë", "Exemple", True)
    assert (c2["consent_email"], c2["consent_phone"], c2["consent_sms"]) == (
        False,
        True,
        None,
    )
    assert "zoe exemple" in c2["search_text"]
    assert values_of(app, "C1", "aime") == {"Sacs", "Bijoux"}
    assert (
        scalar(
            app, sa.select(MeasureValue.value).where(MeasureValue.customer_id == "C1")
        )
        == "0.42"
    )


def test_full_feed_stores_client_books_and_memberships(app, hq):
    hq.pull(full_feed(), kind="full")

    assert (
        scalar(app, sa.select(ClientBook.staff_id).where(ClientBook.id == "CB1"))
        == "A1"
    )
    assert books_of(app, "C1") == ["CB1"]
    assert scalar(app, sa.select(Membership.added_by_id)) == "A1"


def test_full_feed_result_counts_records_by_entity_and_op(hq):
    result = hq.pull(full_feed(), kind="full")

    assert result.applied is True
    assert result.kind == "full"
    assert dict(result.counts) == {
        "legal_entity.upsert": 2,
        "number_sequence.upsert": 1,
        "address_book.upsert": 3,
        "store.upsert": 1,
        "staff.upsert": 7,
        "attribute_group.upsert": 1,
        "attribute.upsert": 5,
        "measure.upsert": 3,
        "settings.upsert": 1,
        "activity_type.upsert": 4,
        "customer.upsert": 2,
        "attribute_value.upsert": 1,
        "measure_value.upsert": 1,
        "client_book.upsert": 1,
        "membership.upsert": 1,
    }


def test_full_feed_stores_its_watermark(app, hq):
    result = hq.pull(full_feed(), kind="full", watermark="2026-03-04T05:06:07Z")

    assert result.watermark == "2026-03-04T05:06:07Z"
    assert watermark(app) == "2026-03-04T05:06:07Z"


def test_full_feed_is_recorded_as_an_ok_run(app, hq):
    result = hq.pull(full_feed(), kind="full", watermark="2026-03-04T05:06:07Z")

    run = last_run(app)
    assert run["kind"] == "pull"
    assert run["result"] == "ok"
    assert run["error"] is None
    assert run["watermark"] == "2026-03-04T05:06:07Z"
    assert run["counts"] == dict(result.counts)
    assert run["finished"]


# -- a refused feed --------------------------------------------------------------------

# A good start for every bad feed: a rename of C1 (line 2), a new customer C9
# (line 3) and a value for it (line 4, which makes the customers be written
# before the bad record of line 5 is read).
GOOD_START = [
    customer("C1", "Renamed", "Fictive"),
    customer("C9", "Nouvelle", "Cliente"),
    value("C9", "aime", ["Sacs"]),
]


def _with_bad_line(hq, raw: str) -> list[str]:
    lines = hq.lines(GOOD_START, count=len(GOOD_START) + 1)
    return [*lines[:-1], raw + "\n", lines[-1]]


# (id, lines built from `hq`, line the error names, words the message holds)
BAD_FEEDS = [
    (
        "truncated",
        lambda hq: hq.lines(GOOD_START, trailer=False),
        4,
        "without its trailer",
    ),
    (
        "trailer-count",
        lambda hq: hq.lines(GOOD_START, count=4),
        5,
        "the trailer counts 4 records but the feed holds 3",
    ),
    (
        "missing-field",
        lambda hq: hq.lines(
            [*GOOD_START, without(customer("C8", "Sans", "Compte"), "account_number")]
        ),
        5,
        'customer record lacks required field "account_number"',
    ),
    (
        "invalid-json",
        lambda hq: _with_bad_line(
            hq, '{"type": "record", "entity": "customer", "op": '
        ),
        5,
        "is not valid JSON",
    ),
    (
        "unknown-entity",
        lambda hq: hq.lines([*GOOD_START, ("loyalty_card", {"id": "L1"})]),
        5,
        "unknown entity 'loyalty_card'",
    ),
    (
        "unknown-customer",
        lambda hq: hq.lines([*GOOD_START, value("C404", "aime", ["Sacs"])]),
        5,
        "refers to customer 'C404'",
    ),
    (
        "value-not-allowed",
        lambda hq: hq.lines([*GOOD_START, value("C1", "aime", ["Sacs", "Montres"])]),
        5,
        "'Montres' is not an allowed value of attribute aime",
    ),
    (
        "invalid-yearless-date",
        lambda hq: hq.lines([*GOOD_START, value("C1", "anniversaire", "--02-30")]),
        5,
        'yearless date "--MM-DD"',
    ),
    (
        "another-store",
        lambda hq: hq.lines(GOOD_START, store="S2"),
        1,
        "the feed is for store S2",
    ),
    (
        "header-missing",
        lambda hq: hq.lines(GOOD_START)[1:],
        1,
        "the first line is not a header",
    ),
]

bad_feeds = pytest.mark.parametrize(
    "build, line, words",
    [case[1:] for case in BAD_FEEDS],
    ids=[c[0] for c in BAD_FEEDS],
)


@bad_feeds
def test_refused_feed_error_names_the_line(app, held, build, line, words):
    lines = build(held)

    with pytest.raises(FeedError) as refused:
        pull_raw(app, lines)

    assert refused.value.line == line
    assert str(refused.value).startswith(f"line {line}: ")
    assert words in str(refused.value)


@bad_feeds
def test_refused_feed_changes_nothing(app, held, build, line, words):
    before = watermark(app)
    lines = build(held)

    with pytest.raises(FeedError):
        pull_raw(app, lines)

    assert first_name(app, "C1") == "Lucie"
    assert first_name(app, "C9") is None
    assert values_of(app, "C9", "aime") == set()
    assert watermark(app) == before


@bad_feeds
def test_refused_feed_is_recorded_as_a_failed_run(app, held, build, line, words):
    lines = build(held)

    with pytest.raises(FeedError) as refused:
        pull_raw(app, lines)

    run = last_run(app)
    assert run["result"] == "failed"
    assert run["error"] == str(refused.value)
    assert run["finished"]


def test_missing_field_message_names_line_and_field(held):
    records = [
        customer("C9", "Nouvelle", "Cliente"),
        without(customer("C8", "Sans", "Compte"), "account_number"),
    ]

    with pytest.raises(FeedError) as refused:
        held.pull(records)

    assert (
        str(refused.value)
        == 'line 3: customer record lacks required field "account_number"'
    )


def test_yearless_date_february_29_is_accepted(app, held):
    held.pull([value("C1", "anniversaire", "--02-29")])

    assert values_of(app, "C1", "anniversaire") == {"--02-29"}


# -- unknown fields and watermarks -----------------------------------------------------


def test_unknown_data_fields_are_ignored(app, world):
    record = customer("C1", "Lucie", "Fictive", loyalty_tier="gold", nickname={"a": 1})

    result = world.pull([record])

    assert result.applied is True
    assert first_name(app, "C1") == "Lucie"


def test_unknown_fields_on_header_record_and_trailer_lines_are_ignored(app, world):
    lines = [
        json.loads(line) for line in world.lines([customer("C1", "Lucie", "Fictive")])
    ]
    lines[0]["generator"] = "hq-9"
    lines[1]["trace"] = "abc"
    lines[2]["checksum"] = "0"

    result = pull_raw(app, [json.dumps(obj) + "\n" for obj in lines])

    assert result.applied is True
    assert first_name(app, "C1") == "Lucie"


@pytest.mark.parametrize(
    "moment", ["2026-01-01T00:02:00Z", "2026-01-01T00:01:00Z"], ids=["same", "older"]
)
def test_feed_not_newer_than_stored_watermark_is_skipped(app, held, moment):
    before = watermark(app)

    result = held.pull([customer("C1", "Renamed", "Fictive")], watermark=moment)

    assert before == "2026-01-01T00:02:00Z"
    assert result.applied is False
    assert "already applied" in result.skipped_reason
    assert first_name(app, "C1") == "Lucie"
    assert watermark(app) == before


def test_watermark_with_offset_is_compared_as_an_instant(app, held):
    # 01:01+01:00 is 00:01Z, before the stored 00:02Z.
    result = held.pull(
        [customer("C1", "Renamed", "Fictive")], watermark="2026-01-01T01:01:00+01:00"
    )

    assert result.applied is False


# -- matching on HQ ids ----------------------------------------------------------------


def test_renamed_customer_keeps_membership_and_attribute_values(app, held):
    held.pull([value("C1", "aime", ["Sacs"]), book("CB1", "A1"), member("CB1", "C1")])

    held.pull([customer("C1", "Lucille", "Autrenom")])

    assert scalars(app, sa.select(Customer.id)) == ["C1"]
    assert (first_name(app, "C1"), customer_row(app, "C1")["last_name"]) == (
        "Lucille",
        "Autrenom",
    )
    assert books_of(app, "C1") == ["CB1"]
    assert values_of(app, "C1", "aime") == {"Sacs"}


def test_customers_with_the_same_email_stay_two(app, world):
    world.pull([customer("C1", "Lucie", "Fictive", email="same@example.org")])

    world.pull([customer("C2", "Lucie", "Fictive", email="same@example.org")])

    assert scalars(app, sa.select(Customer.id).order_by(Customer.id)) == ["C1", "C2"]


# -- absent fields keep their value ----------------------------------------------------


def test_delta_without_consent_keeps_stored_consent(app, world):
    """Field case F21."""
    world.pull(
        [
            customer(
                "C2",
                "Zoë",
                "Exemple",
                consent={"email": False, "phone": True, "sms": None},
            )
        ]
    )

    world.pull(
        [
            without(
                customer("C2", "Zoë", "Exemple", phone="+33 6 11 11 11 11"), "consent"
            )
        ]
    )

    c2 = customer_row(app, "C2")
    assert (c2["consent_email"], c2["consent_phone"], c2["consent_sms"]) == (
        False,
        True,
        None,
    )
    assert c2["phone"] == "+33 6 11 11 11 11"


def test_delta_with_one_consent_channel_keeps_the_others(app, world):
    world.pull(
        [
            customer(
                "C2",
                "Zoë",
                "Exemple",
                consent={"email": False, "phone": True, "sms": None},
            )
        ]
    )

    world.pull([customer("C2", "Zoë", "Exemple", consent={"sms": True})])

    c2 = customer_row(app, "C2")
    assert (c2["consent_email"], c2["consent_phone"], c2["consent_sms"]) == (
        False,
        True,
        True,
    )


def test_delta_without_first_name_keeps_it_and_search_finds_it(app, world):
    world.pull([customer("C1", "Zoë", "Fictive")])

    world.pull([without(customer("C1", "Zoë", "Durand"), "first_name")])

    c1 = customer_row(app, "C1")
    assert (c1["first_name"], c1["last_name"]) == ("Zoë", "Durand")
    assert "zoe durand" in c1["search_text"]
    assert "fictive" not in c1["search_text"]
    assert c1["sort_name"] == "durand zoe"


# -- attribute values ------------------------------------------------------------------


def test_attribute_value_upsert_replaces_the_values_of_that_attribute(app, held):
    held.pull([value("C1", "aime", ["Sacs", "Bijoux"]), value("C1", "taille", "38")])

    held.pull([value("C1", "aime", ["Chaussures"])])

    assert values_of(app, "C1", "aime") == {"Chaussures"}
    assert values_of(app, "C1", "taille") == {"38"}


def test_attribute_value_upserted_twice_in_one_feed_keeps_the_last(app, held):
    held.pull(
        [value("C1", "aime", ["Sacs", "Bijoux"]), value("C1", "aime", ["Chaussures"])]
    )

    assert values_of(app, "C1", "aime") == {"Chaussures"}


def test_attribute_value_delete_removes_the_values(app, held):
    held.pull([value("C1", "aime", ["Sacs", "Bijoux"])])

    held.pull([("attribute_value", "delete", {"customer": "C1", "attribute": "aime"})])

    assert values_of(app, "C1", "aime") == set()


# -- deletes ---------------------------------------------------------------------------


def test_customer_delete_deactivates_and_keeps_the_row(app, held):
    held.pull([("customer", "delete", {"id": "C1"})])

    c1 = customer_row(app, "C1")
    assert c1["active"] is False
    assert c1["first_name"] == "Lucie"


def test_staff_delete_disables_the_login(app, world):
    world.pull([("staff", "delete", {"id": "A1"})])

    with app.app_context():
        a1 = db.session.get(Staff, "A1")
        assert a1.login_enabled is False
        assert a1.first_name == "Inès"


def test_attribute_delete_retires_the_attribute(app, held):
    held.pull([value("C1", "aime", ["Sacs"])])

    held.pull([("attribute", "delete", {"id": "aime"})])

    assert (
        scalar(app, sa.select(Attribute.active).where(Attribute.id == "aime")) is False
    )
    assert values_of(app, "C1", "aime") == {"Sacs"}


# -- F05: HQ parties that are not customers --------------------------------------------


@pytest.mark.parametrize("roles", [["worker"], ["vendor"]])
def test_party_without_customer_role_is_not_stored(app, world, roles):
    result = world.pull([customer("P1", "Paul", "Interne", roles=roles)])

    assert result.applied is True
    assert scalars(app, sa.select(Customer.id)) == []
    assert result.counts["customer.not_a_customer"] == 1


def test_worker_who_is_also_a_customer_is_stored_once(app, world):
    world.pull([customer("P1", "Paul", "Interne", roles=["worker", "customer"])])

    assert scalars(app, sa.select(Customer.id)) == ["P1"]


def test_held_customer_coming_back_as_worker_is_deactivated(app, held):
    held.pull([customer("C1", "Lucie", "Fictive", roles=["worker"])])

    assert customer_row(app, "C1")["active"] is False


# -- number sequences ------------------------------------------------------------------


def _set_next(app, number: int) -> None:
    with app.app_context():
        db.session.get(NumberSequence, "NS1").next_value = number
        db.session.commit()


def _next(app) -> int:
    return scalar(
        app, sa.select(NumberSequence.next_value).where(NumberSequence.id == "NS1")
    )


def _sequence(next_value: int) -> tuple:
    return (
        "number_sequence",
        {"id": "NS1", "legal_entity": "LE1", "prefix": "CB-", "next": next_value},
    )


def test_number_sequence_never_moves_backwards(app, world):
    _set_next(app, 150)  # the store handed out numbers 100 to 149

    world.pull([_sequence(100)])

    assert _next(app) == 150


def test_number_sequence_moves_forwards(app, world):
    _set_next(app, 150)

    world.pull([_sequence(200)])

    assert _next(app) == 200


# -- exclusive client books ------------------------------------------------------------


def test_exclusive_hq_membership_takes_the_customer_from_its_other_book(app, held):
    held.pull([book("B1", "A1"), book("B2", "B1"), member("B1", "C1")])

    held.pull([member("B2", "C1")])

    assert books_of(app, "C1") == ["B2"]


def test_exclusive_memberships_in_one_feed_leave_the_customer_in_the_last_book(
    app, held
):
    """Records apply in feed order: the later membership takes the customer."""
    held.pull([book("B1", "A1"), book("B2", "B1")])

    held.pull([member("B1", "C1"), member("B2", "C1")])

    assert books_of(app, "C1") == ["B2"]


def test_non_exclusive_hq_membership_keeps_the_other_book(app, hq):
    hq.pull(base_records(exclusive=False), kind="full")
    hq.pull(
        [
            customer("C1", "Lucie", "Fictive"),
            book("B1", "A1"),
            book("B2", "B1"),
            member("B1", "C1"),
        ]
    )

    hq.pull([member("B2", "C1")])

    assert books_of(app, "C1") == ["B1", "B2"]


# -- the folder connector --------------------------------------------------------------


def _folder_pull(app):
    from storeserver.sync.services import pull

    with app.app_context():
        return pull()


def test_folder_feeds_are_applied_in_name_order(app, hq):
    # Written newest first, so only the names give the right order.
    delta = hq.write(
        [customer("C1", "Lucille", "Fictive")],
        "S1-20260102T000000Z-delta.ndjson",
        kind="delta",
        watermark="2026-01-02T00:00:00Z",
    )
    full = hq.write(
        [*base_records(), customer("C1", "Lucie", "Fictive")],
        "S1-20260101T000000Z-full.ndjson",
        watermark="2026-01-01T00:00:00Z",
    )

    results = _folder_pull(app)

    assert [(r.source, r.applied) for r in results] == [
        (full.name, True),
        (delta.name, True),
    ]
    assert first_name(app, "C1") == "Lucille"
    assert watermark(app) == "2026-01-02T00:00:00Z"


def test_folder_feed_for_another_store_is_ignored(app, hq):
    hq.write(base_records(), "S1-20260101T000000Z-full.ndjson")
    hq.write(
        [customer("C1", "Lucie", "Fictive")],
        "S2-20260102T000000Z-delta.ndjson",
        kind="delta",
        store="S2",
    )

    results = _folder_pull(app)

    assert [r.source for r in results] == ["S1-20260101T000000Z-full.ndjson"]
    assert scalars(app, sa.select(Customer.id)) == []


def test_folder_feed_already_applied_is_skipped_next_time(app, hq):
    hq.write(base_records(), "S1-20260101T000000Z-full.ndjson")
    _folder_pull(app)

    results = _folder_pull(app)

    assert [(r.applied, "already applied" in r.skipped_reason) for r in results] == [
        (False, True)
    ]


def test_a_pull_does_not_undo_a_book_change_hq_has_not_acknowledged(app, login, hq):
    """Until HQ acknowledges a local change, the feed does not undo it."""
    from storeserver.sync.models import OutboxRow

    hq.pull(
        base_records()
        + [
            customer("C1", "Lucie", "Fictive"),
            customer("C2", "Marc", "Exemple"),
            ("client_book", {"id": "CB1", "legal_entity": "LE1", "staff": "A1"}),
            ("membership", {"book": "CB1", "customer": "C1"}),
            ("membership", {"book": "CB1", "customer": "C2"}),
        ],
        kind="full",
    )
    session = login("A1")
    session.post("/book/remove", {"customer": "C1"})  # queued for HQ

    stale = hq.pull(
        [
            ("membership", {"book": "CB1", "customer": "C1"}),
            ("membership", "delete", {"book": "CB1", "customer": "C2"}),
        ]
    )

    assert books_of(app, "C1") == []  # the associate's removal stands
    assert books_of(app, "C2") == []  # HQ's own change applies
    assert stale.counts["membership.kept_local"] == 1

    with app.app_context():
        db.session.execute(sa.update(OutboxRow).values(status="sent"))
        db.session.commit()
    hq.pull([("membership", {"book": "CB1", "customer": "C1"})])

    assert books_of(app, "C1") == ["CB1"]  # acknowledged: HQ's state wins
