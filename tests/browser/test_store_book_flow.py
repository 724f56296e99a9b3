"""The store book as a manager uses it, in Chromium.

Read every associate's customers with their owners, filter, select across
pages, reassign the selection to a colleague; select everything a filter
matches and move a departed associate's book; who may receive customers.
The page never reloads: the selection bar, the cards, the owner counts and the
messages change in place.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ..conftest import PASSWORD, customer, value

# A page of four cards, so that paging is real with a dozen customers.
PAGE_SIZE = 4


@pytest.fixture
def app_config() -> dict:
    return {"PAGE_SIZE": PAGE_SIZE}


# On top of the browser conftest's book (A1: Zoë Martin, Jean Dupont, Léa
# Bernard, Paul Durand; B1: Hugo Petit; nobody: Margaux Laurent):
# (id, first, last, likes, owner's book).
MORE = [
    ("C7", "Alice", "Roux", ["Sacs"], "CB-1"),
    ("C8", "Bruno", "Simon", ["Sacs"], "CB-1"),
    ("C9", "Chloé", "Fabre", ["Sacs"], "CB-2"),
    ("C10", "Emma", "Garnier", ["Sacs"], "CB-D"),
    ("C11", "Lucas", "Henry", ["Bijoux"], "CB-D"),
    ("C12", "Nina", "Morel", ["Chaussures"], "CB-D"),
]
D1_CUSTOMERS = ["Emma Garnier", "Lucas Henry", "Nina Morel"]
# The store book: A1's six, B1's two, D1's three.
STORE_BOOK_TOTAL = 11
# Who like "Sacs" (not "Sacs & ceintures"), by name: Dupont, Fabre, Garnier
# on page 1 with Roux, Simon alone on page 2.
SACS_PAGE_1 = ["Jean Dupont", "Chloé Fabre", "Emma Garnier", "Alice Roux"]
SACS_PAGE_2 = ["Bruno Simon"]

INES = "Inès Essai"  # A1
MARC = "Marc Exemple"  # B1
DENIS = "Denis Parti"  # D1, login disabled


@pytest.fixture
def store(live_server, world):
    """The live store with a bigger store book: D1, login disabled, holds three."""
    records: list[tuple] = []
    for cid, first, last, likes, _book in MORE:
        records.append(customer(cid, first, last))
        records.append(value(cid, "aime", likes))
    records.append(
        ("client_book", {"id": "CB-D", "legal_entity": "LE1", "staff": "D1"})
    )
    records += [
        ("membership", {"book": book, "customer": cid})
        for cid, _first, _last, _likes, book in MORE
    ]
    world.pull(records)
    return live_server


def sign_in_as_manager(page: Page, store) -> None:
    page.goto(store("/login"))
    page.locator("#staff_id").fill("M1")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".who")).to_have_text("Maud Gérante")
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Store book"
    ).click()
    expect(page).to_have_url(store("/store-book"))
    expect(page.get_by_role("heading", name="Store book")).to_be_visible()
    # Set after the last full load: a reload would lose it.
    page.evaluate("window.__marker = 1")


def still_same_page(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page reloaded"


def card_names(page: Page):
    return page.locator("#card-list .card .name")


def card(page: Page, name: str):
    return page.locator("#card-list .card", has_text=name)


def owner_entry(page: Page, name: str):
    return page.locator("#owner-filter label", has_text=name)


def selection_count(page: Page):
    return page.locator("#selection .count")


def test_reassign_a_selection_across_pages(page: Page, store):
    sign_in_as_manager(page, store)
    expect(page.locator("#card-count")).to_have_text(
        f"{STORE_BOOK_TOTAL} customers in the store book"
    )
    # Page 1 of the whole book: Léa Bernard, Jean Dupont, Paul Durand, Chloé Fabre.
    expect(card_names(page)).to_have_count(PAGE_SIZE)
    expect(card(page, "Jean Dupont").locator(".owner")).to_have_text(INES)
    expect(card(page, "Chloé Fabre").locator(".owner")).to_have_text(MARC)

    # The owner filter: each owner with their count, D1 marked inactive.
    owners = page.locator("#owner-filter")
    expect(owners.locator("legend")).to_have_text("Client book of")
    expect(owner_entry(page, INES)).to_contain_text("(6)")
    expect(owner_entry(page, MARC)).to_contain_text("(2)")
    expect(owner_entry(page, DENIS)).to_contain_text("(3)")
    expect(owner_entry(page, DENIS)).to_contain_text("owner inactive")
    expect(owner_entry(page, INES)).not_to_contain_text("owner inactive")

    # Likes: Sacs. Page 1 of the five who like bags; D1's customer says so.
    page.get_by_role("group", name="Likes").locator(
        'input[name="a.aime"][value="Sacs"]'
    ).check()
    expect(card_names(page)).to_have_text(SACS_PAGE_1)
    expect(page).to_have_url(re.compile(r"/store-book\?(.*&)?a\.aime=Sacs(&|$)"))
    expect(page.locator("#card-count")).to_contain_text("5 customers match")
    expect(page.locator("#card-count")).to_contain_text(
        f"of {STORE_BOOK_TOTAL} in the store book"
    )
    garnier_owner = card(page, "Emma Garnier").locator(".owner")
    expect(garnier_owner).to_have_text(f"{DENIS} · owner inactive")
    expect(garnier_owner).to_have_class(re.compile(r"\binactive\b"))
    expect(card(page, "Jean Dupont").locator(".owner")).not_to_have_class(
        re.compile(r"\binactive\b")
    )

    # Tick Jean Dupont on page 1, page on, tick Bruno Simon on page 2.
    page.get_by_label("Tick Jean Dupont").check()
    expect(selection_count(page)).to_have_text("1 customer selected")
    page.get_by_role("navigation", name="Pages").get_by_role(
        "link", name="Page 2"
    ).click()
    expect(card_names(page)).to_have_text(SACS_PAGE_2)
    expect(page).to_have_url(re.compile(r"[?&]page=2(&|$)"))
    page.get_by_label("Tick Bruno Simon").check()
    expect(selection_count(page)).to_have_text("2 customers selected")
    # Back on page 1 the first tick is still there.
    page.get_by_role("navigation", name="Pages").get_by_role(
        "link", name="Page 1"
    ).click()
    expect(card_names(page)).to_have_text(SACS_PAGE_1)
    expect(page.get_by_label("Tick Jean Dupont")).to_be_checked()
    expect(page.get_by_label("Tick Chloé Fabre")).not_to_be_checked()
    still_same_page(page)

    # The confirmation: the exact count, and the associate to receive them.
    page.locator("#selection").get_by_role(
        "link", name="Reassign the selected customers…"
    ).click()
    dialog = page.locator("#dialog")
    expect(dialog.get_by_role("heading")).to_have_text("Reassign 2 customers")
    expect(dialog.get_by_role("heading")).to_be_focused()
    dialog.get_by_label("Move them to the client book of").select_option(label=MARC)
    dialog.get_by_role("button", name="Move 2 customers").click()

    expect(page.locator("#messages")).to_contain_text(
        f"2 customers moved to the client book of {MARC}."
    )
    expect(selection_count(page)).to_have_text("0 customers selected")
    expect(dialog.get_by_role("alertdialog")).to_have_count(0)
    # The owner counts follow: B1 up by two, A1 down by two, D1 unchanged.
    expect(owner_entry(page, MARC)).to_contain_text("(4)")
    expect(owner_entry(page, INES)).to_contain_text("(4)")
    expect(owner_entry(page, DENIS)).to_contain_text("(3)")
    # The cards still show the filter, with the new owner, and nothing ticked.
    expect(card_names(page)).to_have_text(SACS_PAGE_1)
    expect(card(page, "Jean Dupont").locator(".owner")).to_have_text(MARC)
    expect(page.get_by_label("Tick Jean Dupont")).not_to_be_checked()
    page.get_by_role("navigation", name="Pages").get_by_role(
        "link", name="Page 2"
    ).click()
    expect(card_names(page)).to_have_text(SACS_PAGE_2)
    expect(card(page, "Bruno Simon").locator(".owner")).to_have_text(MARC)
    still_same_page(page)


def test_select_all_matching_moves_a_departed_associates_book(page: Page, store):
    sign_in_as_manager(page, store)

    # The owner filter: anyone whose login is disabled, that is D1's three.
    page.locator("#owner-filter").get_by_label(
        "Any owner whose login is disabled"
    ).check()
    expect(card_names(page)).to_have_text(D1_CUSTOMERS)
    expect(page).to_have_url(re.compile(r"[?&]owner=inactive(&|$)"))
    expect(page.locator("#card-count")).to_contain_text("3 customers match")

    # The selection bar offers what the filter matches, not the whole book.
    select_all = page.locator("#selection").get_by_role(
        "button", name=re.compile(r"^Select all \d+ customers matching$")
    )
    expect(select_all).to_have_text("Select all 3 customers matching")
    select_all.click()
    expect(selection_count(page)).to_have_text("3 customers selected")
    for name in D1_CUSTOMERS:
        expect(page.get_by_label(f"Tick {name}")).to_be_checked()

    page.locator("#selection").get_by_role(
        "link", name="Reassign the selected customers…"
    ).click()
    dialog = page.locator("#dialog")
    expect(dialog.get_by_role("heading")).to_have_text("Reassign 3 customers")
    dialog.get_by_label("Move them to the client book of").select_option(label=INES)
    dialog.get_by_role("button", name="Move 3 customers").click()

    expect(page.locator("#messages")).to_contain_text(
        f"3 customers moved to the client book of {INES}."
    )
    expect(selection_count(page)).to_have_text("0 customers selected")
    # D1 holds nobody now: gone from the owner filter; the "login disabled"
    # choice stays while it filters the list (so it can be unticked), at 0.
    expect(owner_entry(page, DENIS)).to_have_count(0)
    gone = page.locator("#owner-filter").get_by_label(
        "Any owner whose login is disabled"
    )
    expect(gone).to_be_checked()
    expect(page.locator("#owner-filter")).to_contain_text(
        "Any owner whose login is disabled (0)"
    )
    expect(owner_entry(page, INES)).to_contain_text("(9)")
    expect(owner_entry(page, MARC)).to_contain_text("(2)")
    still_same_page(page)

    # The store book holds as many customers as before.
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Store book"
    ).click()
    expect(page.locator("#card-count")).to_have_text(
        f"{STORE_BOOK_TOTAL} customers in the store book"
    )
    page.locator("#q").press_sequentially("garnier")
    expect(card_names(page)).to_have_text(["Emma Garnier"])
    expect(card(page, "Emma Garnier").locator(".owner")).to_have_text(INES)


def test_reassign_offers_only_active_associates_of_the_store(page: Page, store):
    sign_in_as_manager(page, store)
    page.get_by_label("Tick Jean Dupont").check()
    expect(selection_count(page)).to_have_text("1 customer selected")
    page.locator("#selection").get_by_role(
        "link", name="Reassign the selected customers…"
    ).click()
    dialog = page.locator("#dialog")
    expect(dialog.get_by_role("heading")).to_have_text("Reassign 1 customer")
    # Active associates of S1 with a client book (712), by last name: not D1
    # (login disabled), not X1 (another company), not N1 (no client book).
    expect(dialog.locator('select[name="target"] option')).to_have_text(
        ["Choose an associate", INES, MARC, "Maud Gérante", "Rita Lecture"]
    )
    options = dialog.locator('select[name="target"] option')
    expect(options.filter(has_text=DENIS)).to_have_count(0)
    expect(options.filter(has_text="Xavier Ailleurs")).to_have_count(0)
    expect(options.filter(has_text="Noé Rien")).to_have_count(0)
    still_same_page(page)
