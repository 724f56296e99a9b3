"""The store book and reassignment through HTTP (field case F13)."""

from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa

from storeserver.audit import AuditEvent
from storeserver.book.models import Membership
from storeserver.extensions import db
from storeserver.org.models import Store
from storeserver.store_book import services
from storeserver.sync.models import OutboxRow

from .conftest import ALL_BOOK_OPS, customer, staff, value

MANAGER_OPS = ["712", "713", "714", "715", "716", "customer.view"]


def book(book_id, owner):
    return ("client_book", {"id": book_id, "legal_entity": "LE1", "staff": owner})


def member(book_id, customer_id):
    return ("membership", {"book": book_id, "customer": customer_id})


def names(html: str) -> list[str]:
    return re.findall(
        r'<h3 id="name-[^"]+" class="name">\s*(?:<a [^>]+>)?([^<]+)', html
    )


def owners_on_card(html: str, customer_id: str) -> list[str]:
    card = re.search(
        rf'<article class="card" id="card-{customer_id}".*?</article>', html, re.S
    )
    return re.findall(
        r'<span class="owner[^"]*">([^<]+?)(?: · [^<]+)?</span>', card.group(0)
    )


def holders(app, customer_id) -> list[str]:
    with app.app_context():
        return sorted(
            db.session.scalars(
                sa.select(Membership.book_id).where(
                    Membership.customer_id == customer_id
                )
            )
        )


def count(app, model, **where) -> int:
    with app.app_context():
        stmt = sa.select(sa.func.count()).select_from(model)
        for key, val in where.items():
            stmt = stmt.where(getattr(model, key) == val)
        return db.session.scalar(stmt)


@pytest.fixture
def store(world):
    """Associates with one, several and no address book, and their books.

    Y1 works only in the other store, W1 in both, Q1 in none. C3's own
    address book is the other store's, but A1 holds it: it is in this store's
    book all the same (the rule follows the associate, not the customer).
    """
    world.pull(
        [
            (
                "store",
                {
                    "id": "S2",
                    "legal_entity": "LE1",
                    "name": "Boutique Deux",
                    "time_zone": "Europe/Paris",
                    "address_books": ["AB2"],
                },
            ),
            staff("Y1", "Yves", "Deux", ALL_BOOK_OPS, books=("AB2",)),
            staff("W1", "Wendy", "Partout", ALL_BOOK_OPS, books=("AB1", "AB2")),
            staff("Q1", "Quentin", "Nulle-Part", ALL_BOOK_OPS, books=()),
            customer("C1", "Ana", "Un"),
            customer("C2", "Béa", "Deux"),
            customer("C3", "Cléo", "Trois", books=("AB2",)),
            customer("C4", "Dan", "Quatre"),
            customer("C5", "Eve", "Cinq"),
            customer("C6", "Fay", "Six"),
            customer("C7", "Gus", "Sept"),
            customer("C8", "Hugo", "Huit"),
            customer("C9", "Ivy", "Neuf"),
            value("C1", "aime", ["Sacs"]),
            value("C4", "aime", ["Sacs", "Bijoux"]),
            value("C6", "aime", ["Sacs"]),
            book("CB-A", "A1"),
            book("CB-B", "B1"),
            book("CB-D", "D1"),
            book("CB-Y", "Y1"),
            book("CB-W", "W1"),
            book("CB-Q", "Q1"),
            member("CB-A", "C1"),
            member("CB-A", "C2"),
            member("CB-A", "C3"),
            member("CB-B", "C4"),
            member("CB-B", "C5"),
            member("CB-D", "C6"),
            member("CB-Y", "C7"),
            member("CB-W", "C8"),
            member("CB-Q", "C9"),
        ]
    )
    return world


# -- the store book -------------------------------------------------------------------


def test_store_book_holds_the_books_of_everyone_sharing_an_address_book(store, login):
    session = login("M1")

    page = session.get("/store-book").get_data(as_text=True)

    assert sorted(names(page)) == sorted(
        [
            "Ana Un",
            "Béa Deux",
            "Cléo Trois",
            "Dan Quatre",
            "Eve Cinq",
            "Fay Six",
            "Hugo Huit",
        ]
    )
    assert "7 customers in the store book" in page


def test_an_associate_of_several_stores_is_in_each_store_book(store, app):
    with app.app_context():
        second = db.session.get(Store, "S2")
        held = db.session.scalars(
            services.members(second).with_only_columns(services.Customer.id)
        ).all()

    assert sorted(held) == ["C7", "C8"]


def test_cards_show_their_owner_and_an_inactive_owner(store, login):
    session = login("M1")

    page = session.get("/store-book").get_data(as_text=True)

    assert owners_on_card(page, "C4") == ["Marc Exemple"]
    assert owners_on_card(page, "C6") == ["Denis Parti"]
    assert "Denis Parti · owner inactive" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("owner=B1", ["Eve Cinq", "Dan Quatre"]),
        ("owner=B1&owner=W1", ["Eve Cinq", "Hugo Huit", "Dan Quatre"]),
        ("owner=inactive", ["Fay Six"]),
        ("a.aime=Sacs", ["Dan Quatre", "Fay Six", "Ana Un"]),
        ("a.aime=Sacs&owner=A1", ["Ana Un"]),
        ("q=cleo", ["Cléo Trois"]),
        ("owner=Y1", []),
    ],
)
def test_store_book_filters(store, login, query, expected):
    session = login("M1")

    response = session.get(f"/store-book?{query}", htmx=True)

    assert response.status_code == 200
    assert names(response.get_data(as_text=True)) == expected


def test_owner_filter_counts_each_associates_customers(store, login):
    session = login("M1")

    page = session.get("/store-book").get_data(as_text=True)

    tallies = dict(
        re.findall(
            r'value="(\w+)" form="filters"\s*>\s*<span>[^<]+'
            r'<span class="tally">\((\d+)\)',
            page,
        )
    )
    assert tallies == {"A1": "3", "B1": "2", "D1": "1", "W1": "1", "inactive": "1"}


def test_non_exclusive_customer_in_two_books_is_one_card(store, login):
    store.pull(
        [
            ("settings", {"legal_entity": "LE1", "exclusive": False}),
            member("CB-B", "C1"),
        ]
    )
    session = login("M1")

    page = session.get("/store-book?q=ana").get_data(as_text=True)

    assert names(page) == ["Ana Un"]
    assert owners_on_card(page, "C1") == ["Inès Essai", "Marc Exemple"]


def test_store_book_needs_operation_713(store, login):
    session = login("A1")

    response = session.get("/store-book")

    assert response.status_code == 403
    assert "Ana Un" not in response.get_data(as_text=True)


# -- selection ------------------------------------------------------------------------


def selection_count(body: str) -> int:
    return int(re.search(r"(\d+) customers? selected", body).group(1))


def tick(session, ids, shown=None, back=""):
    return session.post(
        "/store-book/selection",
        {"action": "set", "page_ids": shown or ids, "customer": ids, "back": back},
        htmx=True,
    )


def test_selection_survives_paging(store, app, login):
    app.config["PAGE_SIZE"] = 2
    session = login("M1")
    first = names(session.get("/store-book?page=1", htmx=True).get_data(as_text=True))
    second_page = session.get("/store-book?page=2", htmx=True).get_data(as_text=True)

    tick(session, ["C5"], shown=["C2", "C5"])  # page 1: Béa Deux, Eve Cinq
    response = tick(session, ["C8"], shown=["C8", "C4"], back="page=2")
    page_two = session.get("/store-book?page=2").get_data(as_text=True)

    assert first == ["Eve Cinq", "Béa Deux"]
    assert "Hugo Huit" in second_page
    assert selection_count(response.get_data(as_text=True)) == 2
    assert 'value="C8" form="store-selection"' in page_two
    assert re.search(r'value="C8" form="store-selection"[^>]*checked', page_two)


def test_unticking_on_a_page_keeps_the_other_pages_ticks(store, login):
    session = login("M1")
    tick(session, ["C1", "C4"], shown=["C1", "C4"])

    response = tick(session, [], shown=["C4"])

    assert selection_count(response.get_data(as_text=True)) == 1


def test_select_all_matching_the_filter(store, login):
    session = login("M1")

    response = session.post(
        "/store-book/selection", {"action": "all", "back": "a.aime=Sacs"}, htmx=True
    )

    body = response.get_data(as_text=True)
    assert selection_count(body) == 3
    assert 'id="card-list"' in body and 'hx-swap-oob="true"' in body


def test_customers_outside_the_store_book_cannot_be_selected(store, login):
    session = login("M1")

    response = tick(session, ["C7", "C9", "NOPE"])

    assert selection_count(response.get_data(as_text=True)) == 0


def test_selection_belongs_to_one_sign_in(store, login):
    first = login("M1")
    tick(first, ["C1"])

    second = login("M1")

    assert "0 customers selected" in second.get("/store-book").get_data(as_text=True)


# -- reassigning ----------------------------------------------------------------------


def confirmation(session) -> dict:
    body = session.get("/store-book/reassign", htmx=True).get_data(as_text=True)
    found = dict(re.findall(r'name="(digest|batch)" value="([^"]+)"', body))
    found["body"] = body
    return found


def move(session, target, confirm, htmx=True):
    return session.post(
        "/store-book/reassign",
        {"target": target, "digest": confirm["digest"], "batch": confirm["batch"]},
        htmx=htmx,
    )


def test_confirmation_shows_the_exact_count_and_that_count_moves(store, app, login):
    app.config["PAGE_SIZE"] = 2
    session = login("M1")
    session.post("/store-book/selection", {"action": "all", "back": "a.aime=Sacs"})
    confirm = confirmation(session)

    response = move(session, "W1", confirm)

    body = response.get_data(as_text=True)
    assert "Reassign 3 customers" in confirm["body"]
    assert response.status_code == 200
    assert "3 customers moved to the client book of Wendy Partout." in body
    assert holders(app, "C1") == ["CB-W"]
    assert holders(app, "C4") == ["CB-W"]
    assert holders(app, "C6") == ["CB-W"]
    assert holders(app, "C2") == ["CB-A"]
    assert 'id="selection" class="selection-bar"' in body
    assert "0 customers selected" in body


def test_customers_already_with_the_target_are_said_to_be_unchanged(store, app, login):
    session = login("M1")
    tick(session, ["C1", "C4"])

    response = move(session, "B1", confirmation(session))

    body = response.get_data(as_text=True)
    assert "1 customer moved to the client book of Marc Exemple." in body
    assert "1 customer was already in that client book." in body
    assert count(app, AuditEvent, action="book.reassign") == 1


def test_reassign_writes_one_audit_event_and_outbox_row_per_customer(store, app, login):
    session = login("M1")
    tick(session, ["C1", "C2"])
    confirm = confirmation(session)

    move(session, "B1", confirm)

    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "book.reassign")
        ).all()
        rows = db.session.scalars(
            sa.select(OutboxRow).where(OutboxRow.kind == "book.reassign")
        ).all()
    assert sorted(e.customer_id for e in events) == ["C1", "C2"]
    assert {e.batch_id for e in events} == {confirm["batch"]}
    assert {(e.from_book_id, e.book_id) for e in events} == {("CB-A", "CB-B")}
    assert sorted(r.payload["customer"] for r in rows) == ["C1", "C2"]
    assert {r.payload["batch"] for r in rows} == {confirm["batch"]}


def test_resending_the_same_reassign_moves_nothing_more(store, app, login):
    session = login("M1")
    tick(session, ["C1"])
    confirm = confirmation(session)
    move(session, "B1", confirm)
    tick(session, ["C2"])  # a new selection, then the old request re-sent

    response = move(session, "B1", confirm)

    assert "already done" in response.get_data(as_text=True)
    assert holders(app, "C2") == ["CB-A"]
    assert count(app, AuditEvent, action="book.reassign") == 1
    assert count(app, OutboxRow, kind="book.reassign") == 1


def test_a_selection_changed_after_confirmation_moves_nothing(store, app, login):
    session = login("M1")
    tick(session, ["C1"])
    confirm = confirmation(session)
    tick(session, ["C1", "C2"], shown=["C1", "C2"])

    response = move(session, "B1", confirm)

    assert response.status_code == 409
    assert "2 customers are selected now" in response.get_data(as_text=True)
    assert holders(app, "C1") == ["CB-A"]


def test_owner_gone_hands_over_in_one_move(store, app, login):
    session = login("M1")
    session.post("/store-book/selection", {"action": "all", "back": "owner=inactive"})
    confirm = confirmation(session)

    move(session, "A1", confirm)

    assert holders(app, "C6") == ["CB-A"]
    page = session.get("/store-book").get_data(as_text=True)
    assert "owner inactive" not in page


def test_reassign_creates_the_targets_book_when_needed(store, app, login):
    session = login("M1")
    tick(session, ["C5"])
    confirm = confirmation(session)

    move(session, "R1", confirm)

    assert holders(app, "C5") == ["CB-000100"]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("Y1", "does not work in this store"),
        ("Q1", "does not work in this store"),
        ("D1", "login is disabled"),
        ("X1", "Choose an associate of this company"),
        ("N1", "has no client book"),
        ("", "Choose an associate of this company"),
    ],
)
def test_refused_targets_leave_the_customer_where_it_was(
    store, app, login, caplog, target, reason
):
    caplog.set_level("INFO", logger="storeserver")
    session = login("M1")
    tick(session, ["C1"])
    confirm = confirmation(session)

    response = move(session, target, confirm)

    assert response.status_code == 422
    assert reason in response.get_data(as_text=True)
    assert holders(app, "C1") == ["CB-A"]
    assert count(app, AuditEvent, action="book.reassign") == 0
    assert count(app, OutboxRow) == 0
    assert f"M1 refused reassigning to {target or 'nobody'}" in caplog.text


def test_associate_without_716_cannot_reassign_even_by_hand(store, app, login, caplog):
    caplog.set_level("INFO", logger="storeserver")
    session = login("A1")

    response = session.post(
        "/store-book/reassign",
        {"target": "A1", "digest": "x", "batch": "0" * 32},
        htmx=True,
    )

    assert response.status_code == 403
    assert holders(app, "C4") == ["CB-B"]
    assert "refused REASSIGN to A1" in caplog.text


def test_the_confirmation_offers_only_active_associates_of_the_store(store, login):
    session = login("M1")
    tick(session, ["C1"])

    body = confirmation(session)["body"]

    offered = re.findall(r'<option value="(\w+)">', body)
    assert sorted(offered) == ["A1", "B1", "M1", "R1", "W1"]


def test_reassign_without_javascript_redirects_back(store, app, login):
    session = login("M1")
    session.post(
        "/store-book/selection",
        {"action": "set", "page_ids": ["C1"], "customer": ["C1"], "back": "owner=A1"},
    )
    confirm = confirmation(session)

    response = session.post(
        "/store-book/reassign",
        {
            "target": "B1",
            "digest": confirm["digest"],
            "batch": confirm["batch"],
            "back": "owner=A1",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/store-book?owner=A1"
    assert holders(app, "C1") == ["CB-B"]


# -- book changes ---------------------------------------------------------------------


def test_book_changes_say_who_moved_whom_from_whom_to_whom(store, app, login):
    manager = login("M1")
    tick(manager, ["C1"])
    move(manager, "B1", confirmation(manager))
    associate = login("A1")
    associate.post("/book/remove", {"customer": "C2"})

    page = manager.get("/store-book/audit").get_data(as_text=True)

    rows = re.findall(r"<tr class=\"book-(\w+)\">(.*?)</tr>", page, re.S)
    cells = [
        (kind, re.findall(r"<td>(?:<a [^>]+>)?([^<]*)", row)) for kind, row in rows
    ]
    assert cells[0][0] == "remove"
    assert cells[0][1][1:] == ["Removed", "Inès Essai", "Béa Deux", "Inès Essai", "—"]
    assert cells[1][0] == "reassign"
    assert cells[1][1][1:] == [
        "Reassigned",
        "Maud Gérante",
        "Ana Un",
        "Inès Essai",
        "Marc Exemple",
    ]


def test_book_changes_filter_by_associate_and_date(store, login):
    manager = login("M1")
    tick(manager, ["C4"])
    move(manager, "A1", confirmation(manager))

    by_b1 = manager.get("/store-book/audit?associate=B1").get_data(as_text=True)
    by_r1 = manager.get("/store-book/audit?associate=R1").get_data(as_text=True)
    old = manager.get("/store-book/audit?to=2020-01-01").get_data(as_text=True)
    bad = manager.get("/store-book/audit?from=yesterday")

    assert "1 change" in by_b1
    assert "0 changes" in by_r1
    assert "0 changes" in old
    assert bad.status_code == 422


def test_book_changes_export_as_csv_with_bom(store, login):
    manager = login("M1")
    tick(manager, ["C2"])
    move(manager, "B1", confirmation(manager))

    response = manager.get("/store-book/audit.csv")

    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["When", "Action", "By"]
    assert rows[1][1:7] == [
        "Reassigned",
        "Maud Gérante",
        "C2",
        "Béa Deux",
        "Inès Essai",
        "Marc Exemple",
    ]


def test_book_changes_need_operation_713(store, login):
    session = login("A1")

    assert session.get("/store-book/audit").status_code == 403
    assert session.get("/store-book/audit.csv").status_code == 403


def test_a_new_filter_refreshes_the_selection_bar_and_closes_the_confirmation(
    store, login
):
    session = login("M1")
    tick(session, ["C1"])

    response = session.get("/store-book?owner=inactive", htmx=True)

    body = response.get_data(as_text=True)
    bar = re.search(r'<div id="selection".*?</div>', body, re.S).group(0)
    assert 'hx-swap-oob="true"' in bar
    assert "Select the 1 customer matching" in bar
    assert 'value="owner=inactive"' in bar
    assert '<div id="dialog" hx-swap-oob="true">' in body
