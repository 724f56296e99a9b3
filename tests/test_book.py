"""The associate's client book through HTTP: cards, filters, add, remove."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from storeserver.audit import AuditEvent
from storeserver.book.models import ClientBook, Membership
from storeserver.extensions import db
from storeserver.sync.models import OutboxRow

from .conftest import base_records, customer, value


def book(book_id, owner):
    return ("client_book", {"id": book_id, "legal_entity": "LE1", "staff": owner})


def member(book_id, customer_id):
    return ("membership", {"book": book_id, "customer": customer_id})


def names(html: str) -> list[str]:
    return re.findall(
        r'<h3 id="name-[^"]+" class="name">\s*(?:<a [^>]+>)?([^<]+)', html
    )


def slots(html: str) -> list[str]:
    return [s.strip() for s in re.findall(r"<dt>([^<]+)</dt>", html)]


@pytest.fixture
def shop(world):
    """F11's customers, the first four in A1's book, C6 in B1's."""
    world.pull(
        [
            customer("C1", "Ana", "Un"),
            customer("C2", "Béa", "Deux"),
            customer("C3", "Cléo", "Trois"),
            customer("C4", "Zoë", "Ørsted-Çelik", email="ZOE.Orsted@Example.org"),
            customer("C5", "Eve", "Cinq"),
            customer("C6", "Lucie", "Fictive"),
            customer("C7", "Paul", "Ailleurs", books=("AB2",)),
            value("C1", "aime", ["Sacs"]),
            value("C2", "aime", ["Sacs", "Chaussures"]),
            value("C3", "aime", ["Bijoux"]),
            value("C4", "aime", ["Sacs & ceintures"]),
            value("C1", "anniversaire", "--06-12"),
            value("C1", "marque", "Maison Test"),
            value("C2", "taille", "38"),
            ("measure_value", {"customer": "C1", "measure": "churn", "value": 0.42}),
            ("measure_value", {"customer": "C1", "measure": "nba", "value": "Inviter"}),
            ("measure_value", {"customer": "C1", "measure": "clv", "value": 1234.5}),
            book("CB-A", "A1"),
            book("CB-B", "B1"),
            member("CB-A", "C1"),
            member("CB-A", "C2"),
            member("CB-A", "C3"),
            member("CB-A", "C4"),
            member("CB-B", "C6"),
        ]
    )
    return world


def set_card_measures(hq, measures):
    hq.pull([("settings", {"legal_entity": "LE1", "card_measures": list(measures)})])


def set_exclusive(hq, exclusive: bool):
    hq.pull([("settings", {"legal_entity": "LE1", "exclusive": exclusive})])


# -- cards ---------------------------------------------------------------------------


def test_book_lists_my_customers_ordered_by_name(shop, login):
    session = login("A1")

    page = session.get("/book").get_data(as_text=True)

    assert names(page) == ["Béa Deux", "Zoë Ørsted-Çelik", "Cléo Trois", "Ana Un"]
    assert "4 customers in your book" in page


@pytest.mark.parametrize(
    ("measures", "expected"),
    [
        ((), ["Likes", "Birthday", "Brand"]),
        (("churn", "nba"), ["Churn", "Next best action", "Likes"]),
        (("churn", "nba", "clv"), ["Churn", "Next best action", "Lifetime value"]),
        (("nba",), ["Next best action", "Likes", "Birthday"]),
    ],
)
def test_card_slots_put_measures_first_then_attributes(shop, login, measures, expected):
    set_card_measures(shop, measures)
    session = login("A1")

    page = session.get("/book?q=ana", htmx=True).get_data(as_text=True)

    assert slots(page) == expected


def test_card_shows_formatted_values(shop, login):
    set_card_measures(shop, ["churn", "nba"])
    session = login("A1")

    page = session.get("/book?q=ana", headers={"Accept-Language": "en"})

    html = page.get_data(as_text=True)
    assert "42%" in html
    assert "Inviter" in html
    assert "Sacs" in html


def test_card_slots_follow_display_order_from_hq(shop, login):
    records = [r for r in base_records() if r[0] == "attribute"]
    for _, data in records:
        if data["id"] == "marque":
            data["display_order"] = 0
    shop.pull(records)
    session = login("A1")

    page = session.get("/book?q=ana", htmx=True).get_data(as_text=True)

    assert slots(page) == ["Brand", "Likes", "Birthday"]


# -- filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a.aime=Sacs", ["Béa Deux", "Ana Un"]),
        ("a.aime=Sacs&a.aime=Bijoux", ["Béa Deux", "Cléo Trois", "Ana Un"]),
        ("a.aime=Sacs+%26+ceintures", ["Zoë Ørsted-Çelik"]),
        ("a.aime=Sacs&a.taille=38", ["Béa Deux"]),
        ("a.taille=40", []),
    ],
)
def test_filter_on_multi_value_list_is_exact_and_or(shop, login, query, expected):
    session = login("A1")

    response = session.get(f"/book?{query}", htmx=True)

    assert response.status_code == 200
    assert names(response.get_data(as_text=True)) == expected


def test_filter_with_no_match_shows_empty_state(shop, login):
    session = login("A1")

    response = session.get("/book?a.taille=40")

    assert response.status_code == 200
    assert "No customer in your book matches this filter." in response.get_data(
        as_text=True
    )


def test_filter_panel_offers_refinable_attributes_only(shop, login):
    session = login("A1")

    page = session.get("/book").get_data(as_text=True)

    offered = re.findall(r'data-attribute="([^"]+)"', page)
    assert offered == ["aime", "marque", "taille"]


def test_new_allowed_value_from_hq_is_offered_after_the_pull(shop, login):
    session = login("A1")
    assert 'value="Montres"' not in session.get("/book").get_data(as_text=True)
    attribute = next(
        r for r in base_records() if r[0] == "attribute" and r[1]["id"] == "aime"
    )
    attribute[1]["values"].append("Montres")

    shop.pull([attribute])

    assert 'value="Montres"' in session.get("/book").get_data(as_text=True)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("zoe", ["Zoë Ørsted-Çelik"]),
        ("ZOË", ["Zoë Ørsted-Çelik"]),
        ("orsted-celik", ["Zoë Ørsted-Çelik"]),
        ("bea", ["Béa Deux"]),
        ("CLÉO", ["Cléo Trois"]),
        ("zoe.orsted@example", ["Zoë Ørsted-Çelik"]),
        ("Ana Un", ["Ana Un"]),
        ("nobody", []),
        ("%", []),
    ],
)
def test_keyword_search_ignores_case_and_accents(shop, login, q, expected):
    session = login("A1")

    response = session.get("/book", query_string={"q": q}, htmx=True)

    assert names(response.get_data(as_text=True)) == expected


def test_filter_fragment_and_full_page_share_one_url(shop, login):
    session = login("A1")

    fragment = session.get("/book?a.aime=Sacs", htmx=True)
    page = session.get("/book?a.aime=Sacs")

    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="card-list"')
    assert "<html" not in body
    assert "<html" in page.get_data(as_text=True)
    assert "checked" in page.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


def test_history_restore_gets_the_full_page(shop, login):
    session = login("A1")

    response = session.get(
        "/book?a.aime=Sacs", htmx=True, headers={"HX-History-Restore-Request": "true"}
    )

    assert "<html" in response.get_data(as_text=True)


def test_pages_hold_at_most_fifty_cards(world, login):
    world.pull(
        [customer(f"P{n:03d}", "Client", f"N{n:03d}") for n in range(120)]
        + [book("CB-A", "A1")]
        + [member("CB-A", f"P{n:03d}") for n in range(120)]
    )
    session = login("A1")

    first = session.get("/book").get_data(as_text=True)
    third = session.get("/book?page=3").get_data(as_text=True)
    beyond = session.get("/book?page=99")

    assert len(names(first)) == 50
    assert names(first)[0] == "Client N000"
    assert len(names(third)) == 20
    assert names(third)[0] == "Client N100"
    assert beyond.status_code == 200
    assert 'href="/book?page=2"' in first


def test_invalid_number_in_a_range_filter_is_a_clear_422(shop, login):
    shop.pull(
        [
            (
                "attribute",
                {
                    "id": "points",
                    "group": "AG1",
                    "label": {"en": "Points"},
                    "type": "integer",
                    "refinable": True,
                    "display_order": 9,
                },
            )
        ]
    )
    session = login("A1")

    response = session.get("/book?a.points.min=lots", htmx=True)

    assert response.status_code == 422
    assert "lots is not a number for Points" in response.get_data(as_text=True)


# -- adding --------------------------------------------------------------------------


def memberships(app, customer_id):
    with app.app_context():
        return (
            db.session.execute(
                sa.select(Membership.book_id).where(
                    Membership.customer_id == customer_id
                )
            )
            .scalars()
            .all()
        )


def count(app, model, **where):
    with app.app_context():
        stmt = sa.select(sa.func.count()).select_from(model)
        for key, val in where.items():
            stmt = stmt.where(getattr(model, key) == val)
        return db.session.scalar(stmt)


def test_add_search_covers_every_customer_of_the_legal_entity(shop, login):
    session = login("A1")

    page = session.get("/book/add?q=paul").get_data(as_text=True)

    assert "Paul Ailleurs" in page


def test_add_search_shows_who_holds_a_customer(shop, login):
    session = login("A1")

    page = session.get("/book/add?q=lucie").get_data(as_text=True)

    assert "In the book of Marc Exemple" in page


def test_add_customers_writes_membership_audit_and_outbox(shop, app, login):
    session = login("A1")

    response = session.post(
        "/book/add", {"customer": ["C5", "C7"], "q": "e"}, htmx=True
    )

    assert response.status_code == 200
    assert "2 customers added to your client book." in response.get_data(as_text=True)
    assert memberships(app, "C5") == ["CB-A"]
    assert memberships(app, "C7") == ["CB-A"]
    assert count(app, AuditEvent, action="book.add") == 2
    assert count(app, OutboxRow, kind="book.add") == 2


def test_double_submit_adds_nothing_twice(shop, app, login):
    session = login("A1")

    first = session.post("/book/add", {"customer": "C5"})
    second = session.post("/book/add", {"customer": "C5"})

    assert first.status_code == second.status_code == 303
    assert memberships(app, "C5") == ["CB-A"]
    assert count(app, AuditEvent, action="book.add") == 1
    assert count(app, OutboxRow, kind="book.add") == 1


def test_exclusive_refuses_customer_of_another_book_naming_the_holder(shop, app, login):
    session = login("A1")

    response = session.post("/book/add", {"customer": "C6"}, htmx=True)

    assert response.status_code == 409
    assert "Lucie Fictive is already in the client book of Marc Exemple." in (
        response.get_data(as_text=True)
    )
    assert memberships(app, "C6") == ["CB-B"]
    assert count(app, AuditEvent, action="book.add") == 0
    assert count(app, OutboxRow) == 0


def test_non_exclusive_lets_two_books_hold_a_customer(shop, app, login):
    set_exclusive(shop, False)
    session = login("A1")

    added = session.post("/book/add", {"customer": "C6"}, htmx=True)
    removed = session.post("/book/remove", {"customer": "C6"}, htmx=True)

    assert added.status_code == 200
    assert removed.status_code == 200
    assert memberships(app, "C6") == ["CB-B"]
    assert count(app, AuditEvent, action="book.add") == 1
    assert count(app, AuditEvent, action="book.remove") == 1


def test_non_exclusive_second_book_then_one_row_per_book(shop, app, login):
    set_exclusive(shop, False)
    session = login("A1")

    session.post("/book/add", {"customer": "C6"})

    assert sorted(memberships(app, "C6")) == ["CB-A", "CB-B"]


def test_first_add_creates_the_book_from_the_number_sequence(shop, app, login):
    session = login("R1")  # holds no book yet, and may not add
    refused = session.post("/book/add", {"customer": "C5"})
    session = login("M1")

    session.post("/book/add", {"customer": "C5"})

    assert refused.status_code == 403
    with app.app_context():
        created = db.session.scalar(
            sa.select(ClientBook).where(ClientBook.staff_id == "M1")
        )
        assert created.id == "CB-000100"
    assert count(app, OutboxRow, kind="book.create") == 1


def test_adding_an_unknown_customer_is_a_clear_error(shop, app, login):
    session = login("A1")

    response = session.post("/book/add", {"customer": ["C5", "NOPE"]}, htmx=True)

    assert response.status_code == 422
    assert "not known in this store" in response.get_data(as_text=True)
    assert memberships(app, "C5") == []


def test_adding_nothing_is_a_clear_error(shop, login):
    session = login("A1")

    response = session.post("/book/add", {}, htmx=True)

    assert response.status_code == 422
    assert "Choose at least one customer." in response.get_data(as_text=True)


# -- removing ------------------------------------------------------------------------


def test_remove_asks_for_confirmation_first(shop, app, login):
    session = login("A1")

    response = session.get("/book/remove?customer=C1&customer=C2", htmx=True)

    body = response.get_data(as_text=True)
    assert body.startswith('<div id="dialog"')
    assert "Remove 2 customers from your client book?" in body
    assert memberships(app, "C1") == ["CB-A"]


def test_remove_deletes_membership_with_audit_and_outbox(shop, app, login):
    session = login("A1")

    response = session.post(
        "/book/remove", {"customer": ["C1", "C2"], "back": "a.aime=Sacs"}, htmx=True
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="card-list"')
    assert "2 customers removed from your client book." in body
    assert memberships(app, "C1") == []
    assert count(app, AuditEvent, action="book.remove") == 2
    assert count(app, OutboxRow, kind="book.remove") == 2


def test_remove_only_touches_my_own_book(shop, app, login):
    session = login("A1")

    session.post("/book/remove", {"customer": "C6"})

    assert memberships(app, "C6") == ["CB-B"]
    assert count(app, AuditEvent, action="book.remove") == 0


def test_remove_without_javascript_redirects_back_to_the_filter(shop, login):
    session = login("A1")

    response = session.post("/book/remove", {"customer": "C1", "back": "a.aime=Sacs"})

    assert response.status_code == 303
    assert response.headers["Location"] == "/book?a.aime=Sacs"


# -- rights ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/book/add?q=a", None),
        ("post", "/book/add", {"customer": "C5"}),
        ("get", "/book/remove?customer=C1", None),
        ("post", "/book/remove", {"customer": "C1"}),
    ],
)
def test_read_only_associate_is_refused_add_and_remove(
    shop, app, login, method, url, data
):
    session = login("R1")

    response = getattr(session, method)(url, data) if data else session.get(url)

    assert response.status_code == 403
    assert memberships(app, "C5") == []
    assert memberships(app, "C1") == ["CB-A"]


def test_refusal_on_htmx_goes_to_the_message_region(shop, login):
    session = login("R1")

    response = session.post("/book/add", {"customer": "C5"}, htmx=True)

    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#messages"
    assert "Your login does not allow this." in response.get_data(as_text=True)


def test_htmx_post_without_csrf_header_is_refused(shop, app, login):
    session = login("A1")

    response = session.client.post(
        "/book/add", data={"customer": "C5"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 400
    assert memberships(app, "C5") == []


def test_form_post_without_csrf_token_is_refused(shop, app, login):
    session = login("A1")

    response = session.client.post("/book/remove", data={"customer": "C1"})

    assert response.status_code == 400
    assert memberships(app, "C1") == ["CB-A"]


def test_phone_search_finds_the_national_form_of_an_international_number(shop, login):
    shop.pull(
        [
            customer("C9", "Tél", "Numéro", phone="+33 6 12 34 56 78"),
            member("CB-A", "C9"),
        ]
    )
    session = login("A1")

    response = session.get("/book", query_string={"q": "06 12 34 56 78"}, htmx=True)

    assert names(response.get_data(as_text=True)) == ["Tél Numéro"]


def test_punctuation_alone_is_no_search(shop, login):
    session = login("A1")

    page = session.get("/book", query_string={"q": "()"}, htmx=True)
    add = session.get("/book/add", query_string={"q": "-"})

    assert "4 customers in your book" in page.get_data(as_text=True)
    assert "Type at least one letter" in add.get_data(as_text=True)


def test_a_remove_that_lost_the_race_writes_no_audit(shop, app, login, monkeypatch):
    from storeserver.book import services

    session = login("A1")
    session.post("/book/remove", {"customer": "C1"})
    with app.app_context():
        stale = [db.session.get(services.Customer, "C1")]
    # A second request that read the book before the first one deleted the row.
    monkeypatch.setattr(services, "members_to_remove", lambda *_: stale)

    session.post("/book/remove", {"customer": "C1"})

    assert count(app, AuditEvent, action="book.remove") == 1
    assert count(app, OutboxRow, kind="book.remove") == 1


def test_confirming_customers_of_another_book_says_so(shop, login):
    session = login("A1")

    page = session.get("/book/remove?customer=C6").get_data(as_text=True)

    assert "None of the ticked customers is in your client book." in page


def test_adding_nothing_without_javascript_keeps_the_search(shop, login):
    session = login("A1")

    response = session.post("/book/add", {"q": "lucie"})

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose at least one customer." in body
    assert "Lucie Fictive" in body


def test_value_labels_show_in_the_language_but_filter_on_the_value(shop, login):
    attribute = next(
        r for r in base_records() if r[0] == "attribute" and r[1]["id"] == "aime"
    )
    attribute[1]["value_labels"] = {"Sacs": {"en": "Bags", "fr": "Sacs"}}
    shop.pull([attribute])
    session = login("A1")

    page = session.get("/book?a.aime=Sacs").get_data(as_text=True)

    assert names(page) == ["Béa Deux", "Ana Un"]
    assert "> Bags</label>" in page
    assert "Bags, Chaussures" in page


def test_pages_carry_security_headers_and_no_store(shop, login):
    session = login("A1")

    response = session.get("/book")

    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_values_echoed_in_error_messages_are_escaped(shop, login):
    session = login("A1")

    response = session.get(
        "/book", query_string={"upcoming": '<meta http-equiv="refresh" content="0">'}
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<meta http-equiv="refresh"' not in body
    assert "&lt;meta http-equiv=" in body


def test_names_from_hq_in_refusals_are_escaped(shop, login):
    shop.pull(
        [
            customer("C8", "<img src=x onerror=alert(1)>", "Piège"),
            member("CB-B", "C8"),
        ]
    )
    session = login("A1")

    response = session.post("/book/add", {"customer": "C8"}, htmx=True)

    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_a_customer_deactivated_at_hq_leaves_the_book_but_keeps_history(
    shop, app, login
):
    session = login("A1")
    session.post("/customers/C1/notes", {"note-body": "Taille 38", "note-token": "n1"})

    shop.pull([("customer", "delete", {"id": "C1"})])

    page = session.get("/book").get_data(as_text=True)
    search = session.get("/book/add?q=ana").get_data(as_text=True)
    assert "Ana Un" not in page
    assert "Ana Un" not in search
    assert memberships(app, "C1") == ["CB-A"]  # history kept, not shown
    with app.app_context():
        from storeserver.notes.models import Note

        assert db.session.scalar(sa.select(sa.func.count()).select_from(Note)) == 1
