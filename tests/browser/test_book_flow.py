"""The client book as an associate uses it, in Chromium.

Sign in, filter the book, search it, add a customer, remove two, sign out;
a customer held in a colleague's book; the login page in French.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from ..conftest import PASSWORD

ALL_CARDS = ["Léa Bernard", "Jean Dupont", "Paul Durand", "Zoë Martin"]


def sign_in(page: Page, live_server, staff_id: str = "A1") -> None:
    page.goto(live_server("/login"))
    page.locator("#staff_id").fill(staff_id)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Sign-in lands on today's page; the book is one tap away.
    expect(page).to_have_url(live_server("/"))
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="My client book"
    ).click()
    expect(page).to_have_url(live_server("/book"))


def card_names(page: Page):
    return page.locator("#card-list .card .name")


def test_book_flow(page: Page, live_server):
    sign_in(page, live_server)
    expect(page.get_by_role("heading", name="My client book")).to_be_visible()
    expect(card_names(page)).to_have_text(ALL_CARDS)
    expect(page.locator("#card-count")).to_have_text("4 customers in your book")

    # Likes: Chaussures. Only the two who like shoes remain; the URL keeps it.
    likes = page.get_by_role("group", name="Likes")
    shoes = likes.locator('input[name="a.aime"][value="Chaussures"]')
    shoes.check()
    expect(card_names(page)).to_have_text(["Léa Bernard", "Zoë Martin"])
    expect(page).to_have_url(re.compile(r"/book\?(.*&)?a\.aime=Chaussures(&|$)"))
    expect(page.locator("#card-count")).to_contain_text("2 customers match")
    expect(page.locator("#card-count")).to_contain_text("of 4 in your book")

    # Back restores the whole book, with the box unticked again.
    page.go_back()
    expect(page).to_have_url(live_server("/book"))
    expect(card_names(page)).to_have_text(ALL_CARDS)
    expect(page.locator('input[name="a.aime"][value="Chaussures"]')).not_to_be_checked()

    # Keyword search ignores accents: "zoe" finds Zoë.
    page.locator("#q").press_sequentially("zoe")
    expect(card_names(page)).to_have_text(["Zoë Martin"])
    expect(page).to_have_url(re.compile(r"[?&]q=zoe(&|$)"))

    # Add a customer from the company's customers.
    page.locator(".book-head").get_by_role("link", name="Add customers").click()
    expect(page).to_have_url(live_server("/book/add"))
    page.locator("#add-q").fill("marg")
    candidate = page.locator(".candidate", has_text="Margaux Laurent")
    expect(candidate).to_be_visible()
    candidate.get_by_role("checkbox").check()
    page.get_by_role("button", name="Add ticked customers").click()
    expect(page.locator("#messages")).to_contain_text(
        "1 customer added to your client book."
    )
    candidate = page.locator(".candidate", has_text="Margaux Laurent")
    expect(candidate).to_contain_text("Already in your book")
    expect(candidate.get_by_role("checkbox")).to_be_disabled()

    # Back on the book: tick two cards and remove them.
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="My client book"
    ).click()
    expect(page).to_have_url(live_server("/book"))
    expect(card_names(page)).to_have_text(
        ["Léa Bernard", "Jean Dupont", "Paul Durand", "Margaux Laurent", "Zoë Martin"]
    )
    page.get_by_label("Tick Jean Dupont").check()
    page.get_by_label("Tick Paul Durand").check()
    page.get_by_role("button", name="Remove ticked customers").click()
    dialog = page.locator("#dialog")
    expect(dialog.get_by_role("heading")).to_have_text(
        "Remove 2 customers from your client book?"
    )
    # Focus lands on the confirmation, for keyboard and screen-reader users.
    expect(dialog.get_by_role("heading")).to_be_focused()
    expect(dialog.locator("#confirm-list li")).to_have_text(
        ["Jean Dupont", "Paul Durand"]
    )
    dialog.get_by_role("button", name="Remove", exact=True).click()
    expect(card_names(page)).to_have_text(
        ["Léa Bernard", "Margaux Laurent", "Zoë Martin"]
    )
    expect(page.locator("#messages")).to_contain_text(
        "2 customers removed from your client book."
    )
    expect(dialog.get_by_role("alertdialog")).to_have_count(0)

    # Sign out: the book now asks for a login.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login(\?|$)"))
    expect(page.locator("#messages")).to_contain_text("You are signed out.")
    page.goto(live_server("/book"))
    expect(page).to_have_url(re.compile(r"/login(\?|$)"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_customer_in_a_colleagues_book_is_refused(page: Page, live_server):
    sign_in(page, live_server)
    page.goto(live_server("/book/add?q=hugo"))
    candidate = page.locator(".candidate", has_text="Hugo Petit")
    expect(candidate).to_contain_text("In the book of Marc Exemple")
    # Exclusive books: the box can be ticked, the server says why it refuses.
    box = candidate.get_by_role("checkbox")
    expect(box).to_be_enabled()
    box.check()
    page.get_by_role("button", name="Add ticked customers").click()
    expect(page.locator("#messages")).to_contain_text(
        "Hugo Petit is already in the client book of Marc Exemple."
    )
    expect(page.locator(".candidate", has_text="Hugo Petit")).to_contain_text(
        "In the book of Marc Exemple"
    )

    page.goto(live_server("/book"))
    expect(card_names(page)).to_have_text(ALL_CARDS)


def test_login_page_in_french(browser: Browser, live_server):
    context = browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(live_server("/login"))
        expect(page.locator("html")).to_have_attribute("lang", "fr-FR")
        expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    finally:
        context.close()
