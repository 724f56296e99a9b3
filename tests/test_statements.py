"""SQL statements per book page: as many for 10 cards as for 50 (no query per card)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from storeserver.extensions import db

from .conftest import customer, value

CUSTOMERS = 75


def book(book_id, owner):
    return ("client_book", {"id": book_id, "legal_entity": "LE1", "staff": owner})


def member(book_id, customer_id):
    return ("membership", {"book": book_id, "customer": customer_id})


def cards_on(html: str) -> int:
    return len(re.findall(r'<article class="card"', html))


@pytest.fixture
def books(world):
    """75 customers with values and measures: 50 in A1's book, 25 in B1's."""
    ids = [f"P{n:03d}" for n in range(CUSTOMERS)]
    world.pull(
        [customer(c, "Client", f"N{c}") for c in ids]
        + [value(c, "aime", ["Sacs", "Bijoux"]) for c in ids]
        + [value(c, "anniversaire", "--06-12") for c in ids]
        + [
            ("measure_value", {"customer": c, "measure": "churn", "value": 0.3})
            for c in ids
        ]
        + [("settings", {"legal_entity": "LE1", "card_measures": ["churn"]})]
        + [book("CB-A", "A1"), book("CB-B", "B1")]
        + [member("CB-A" if n % 3 else "CB-B", c) for n, c in enumerate(ids)]
    )
    return world


@pytest.fixture
def statements(app):
    """statements(call) -> how many SQL statements `call` sends to the database."""

    def run(call) -> tuple[int, object]:
        sent = []

        def count(*_args):
            sent.append(1)

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            result = call()
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(sent), result

    return run


def per_page_size(app, session, statements, url: str, htmx: bool):
    """The statements one request of `url` sends at 10 and at 50 cards a page."""
    found = {}
    for size in (10, 50):
        app.config["PAGE_SIZE"] = size
        session.get(url, htmx=htmx)  # the reference cache is warm, as in a store
        sent, response = statements(lambda: session.get(url, htmx=htmx))
        assert response.status_code == 200
        assert cards_on(response.get_data(as_text=True)) == size
        found[size] = sent
    return found


PAGES = [
    # The client book: the page, the filter and keyword partials.
    ("A1", "/book", False),
    ("A1", "/book?a.aime=Sacs", True),
    ("A1", "/book?q=client", True),
    ("A1", "/book?a.aime=Sacs&a.aime=Bijoux&q=client", True),
    # The store book of the manager: the page and its partials.
    ("M1", "/store-book", False),
    ("M1", "/store-book?a.aime=Sacs", True),
    ("M1", "/store-book?q=client", True),
    ("M1", "/store-book?owner=A1&owner=B1&a.aime=Sacs", True),
]


@pytest.mark.parametrize(("who", "url", "htmx"), PAGES)
def test_statements_do_not_grow_with_the_page_size(
    books, app, login, statements, who, url, htmx
):
    session = login(who)
    if who == "M1":
        # A selection in progress: the ticks on the page are read too.
        session.post(
            "/store-book/selection",
            {"action": "set", "page_ids": ["P001", "P002"], "customer": ["P001"]},
            htmx=True,
        )

    found = per_page_size(app, session, statements, url, htmx)

    assert found[10] == found[50]
    assert found[50] <= 12


def test_the_guard_sees_a_query_per_card(books, app, login, statements, monkeypatch):
    from storeserver.book import services
    from storeserver.customers.models import Customer

    cards = services.cards

    def cards_one_query_each(customers, ref):
        for listed in customers:
            db.session.get(Customer, listed.id)
        return cards(customers, ref)

    monkeypatch.setattr(services, "cards", cards_one_query_each)
    session = login("A1")

    found = per_page_size(app, session, statements, "/book?a.aime=Sacs", True)

    assert found[50] - found[10] == 40
