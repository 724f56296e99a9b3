"""The client book with the keyboard only, in Chromium.

Sign in, filter the book, open the add search, add a customer and find her
in the book, with Tab, Shift+Tab, Enter, Space and typing: no clicks. Every
stop of the Tab order has a name and a visible focus ring; after an htmx swap
focus stays on the control in use or lands on the new content, and the result
count is read out by the page's live region.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from ..conftest import PASSWORD
from .conftest import sign_in

ANY_NAME = re.compile(r"\S")
# Enough presses to cross the longest page of the test (about 40 stops).
MAX_PRESSES = 60


def focused(page: Page) -> Locator:
    return page.locator(":focus")


def has_focus(target: Locator) -> bool:
    return target.evaluate("element => element === document.activeElement")


def check_stop(page: Page) -> None:
    """The focused control is named and shows where the focus is."""
    stop = focused(page)
    expect(stop).to_have_count(1)
    expect(stop).to_have_accessible_name(ANY_NAME)
    ring = stop.evaluate(
        "element => { const s = getComputedStyle(element);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert ring[0] != "none" and ring[1] >= 2, (
        f"no visible focus ring on {stop.evaluate('e => e.outerHTML')[:120]}"
    )


def press_until(page: Page, target: Locator, key: str = "Tab") -> int:
    """Press `key` until `target` has focus, checking each stop on the way."""
    expect(target).to_be_visible()
    for presses in range(1, MAX_PRESSES + 1):
        page.keyboard.press(key)
        check_stop(page)
        if has_focus(target):
            return presses
    raise AssertionError(f"{key} never reached {target}")


def announcer(page: Page) -> Locator:
    return page.locator("#announcer")


def card_names(page: Page) -> Locator:
    return page.locator("#card-list .card .name")


def test_filter_and_add_with_the_keyboard_only(page: Page, live_server):
    # Sign in: the staff id has focus on arrival.
    page.goto(live_server("/login"))
    expect(page.locator("#staff_id")).to_be_focused()
    page.keyboard.type("A1")
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server("/"))

    # The first Tab offers the skip link; the main navigation follows.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    nav = page.get_by_role("navigation", name="Main")
    press_until(page, nav.get_by_role("link", name="My client book"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server("/book"))
    expect(card_names(page)).to_have_count(4)

    # Filter: tick "Chaussures" with the space bar. Focus stays on the box,
    # and the live region reads the new count.
    shoes = page.get_by_role("group", name="Likes").get_by_role(
        "checkbox", name="Chaussures"
    )
    press_until(page, shoes)
    page.keyboard.press("Space")
    expect(shoes).to_be_checked()
    expect(card_names(page)).to_have_text(["Léa Bernard", "Zoë Martin"])
    expect(shoes).to_be_focused()
    expect(announcer(page)).to_have_text("2 customers match of 4 in your book")
    expect(announcer(page)).to_have_attribute("aria-live", "polite")

    # Back to the search box with Shift+Tab, and narrow by typing.
    press_until(page, page.get_by_label("Search name, e-mail or phone"), "Shift+Tab")
    page.keyboard.type("zoe")
    expect(card_names(page)).to_have_text(["Zoë Martin"])
    expect(page.locator("#q")).to_be_focused()
    expect(announcer(page)).to_have_text("1 customer matches of 4 in your book")

    # Open the add search from the book's head, further back.
    add_link = page.locator(".book-head").get_by_role("link", name="Add customers")
    press_until(page, add_link, "Shift+Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server("/book/add"))
    search = page.get_by_label("Search every customer of the company")
    expect(search).to_be_focused()
    page.keyboard.type("marg")
    candidate = page.locator(".candidate", has_text="Margaux Laurent")
    expect(candidate).to_be_visible()
    expect(announcer(page)).to_have_text("1 customer found")

    # Tick her, then send with the button.
    box = candidate.get_by_role("checkbox")
    press_until(page, box)
    expect(box).to_have_accessible_name(re.compile("Margaux Laurent"))
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    press_until(page, page.get_by_role("button", name="Add ticked customers"))
    page.keyboard.press("Enter")
    expect(page.locator("#messages")).to_contain_text(
        "1 customer added to your client book."
    )
    # The button went with the old results: focus is on the new ones.
    expect(candidate).to_contain_text("Already in your book")
    expect(page.locator("#add-results .count")).to_be_focused()

    # And she is in the book.
    press_until(page, nav.get_by_role("link", name="My client book"), "Shift+Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server("/book"))
    expect(card_names(page)).to_have_text(
        ["Léa Bernard", "Jean Dupont", "Paul Durand", "Margaux Laurent", "Zoë Martin"]
    )
    expect(page.locator("#card-count")).to_have_text("5 customers in your book")


def test_every_stop_of_the_book_is_named_and_visible(page: Page, live_server):
    sign_in(page, live_server)
    page.goto(live_server("/book"))
    expect(card_names(page)).to_have_count(4)

    stops = []
    for _ in range(MAX_PRESSES):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement === document.body"):
            break
        check_stop(page)
        stops.append(focused(page).evaluate("e => e.outerHTML.slice(0, 60)"))
    else:
        raise AssertionError("the Tab order never ends")

    # The page's controls are all in the Tab order: the navigation, the
    # filter (search, 9 boxes, dates, Apply), the cards' ticks and names.
    assert len(stops) >= 30, stops
    assert any('id="q"' in stop for stop in stops)
    assert sum('name="a.' in stop for stop in stops) == 9


def test_a_page_link_puts_focus_on_the_new_page(page: Page, live_server):
    live_server.app.config["PAGE_SIZE"] = 2
    sign_in(page, live_server)
    page.goto(live_server("/book"))
    expect(card_names(page)).to_have_text(["Léa Bernard", "Jean Dupont"])

    pages = page.get_by_role("navigation", name="Pages")
    press_until(page, pages.get_by_role("link", name="Page 2"))
    page.keyboard.press("Enter")

    expect(card_names(page)).to_have_text(["Paul Durand", "Zoë Martin"])
    expect(page.locator("#card-count")).to_be_focused()
    # The next Tab continues on the new page: the four list actions (call
    # list, e-mail list, two exports), the remove button, then its first card.
    assert press_until(page, page.get_by_label("Tick Paul Durand")) == 6


def test_leaving_the_search_box_for_a_tick_keeps_the_tick(page: Page, live_server):
    sign_in(page, live_server)
    page.goto(live_server("/book"))
    search = page.get_by_label("Search name, e-mail or phone")
    press_until(page, search)
    page.keyboard.type("du")
    expect(card_names(page)).to_have_text(["Jean Dupont", "Paul Durand"])
    expect(page).to_have_url(live_server("/book?q=du"))
    sent = []
    page.on("request", lambda request: sent.append(request.url))

    # Leaving the box fires its change event: the same search is not sent
    # again, so the cards are not drawn anew under the tick.
    box = page.get_by_label("Tick Jean Dupont")
    press_until(page, box)
    page.keyboard.press("Space")
    page.wait_for_timeout(600)

    expect(box).to_be_checked()
    assert not [url for url in sent if "/book" in url], sent
