"""The pages on shop-floor tablets and on a phone, in Chromium.

On a tablet either way up (768 and 1024 px wide) every button, link and field
is a target of at least 44 by 44 px, and no page scrolls sideways; on a phone
(390 px) neither, and the filter panel comes above the cards.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import PHONE, SMALL_TABLET, TABLET, furnish, signed_in
from .layout import sideways_overflow, small_targets

WINDOWS = {"tablet, upright": SMALL_TABLET, "tablet": TABLET, "phone": PHONE}


@pytest.fixture(scope="module")
def store(module_store):
    """The module's store, furnished, with one book change to list."""
    from storeserver.book.services import add_customers
    from storeserver.extensions import db
    from storeserver.org.models import Staff

    furnish(module_store)
    with module_store.app.test_request_context():
        add_customers(db.session.get(Staff, "B1"), ["C5"])
    return module_store


def open_remove_confirmation(page: Page) -> None:
    page.get_by_label("Tick Jean Dupont").check()
    page.get_by_role("button", name="Remove ticked customers").click()
    expect(page.locator("#dialog [role=alertdialog]")).to_be_visible()


def open_reassign_confirmation(page: Page) -> None:
    page.get_by_label("Tick Jean Dupont").check()
    expect(page.locator("#selection .count")).to_have_text("1 customer selected")
    page.locator("#selection").get_by_role(
        "link", name="Reassign the selected customers…"
    ).click()
    expect(page.locator("#dialog [role=alertdialog]")).to_be_visible()


def wait_for_results(page: Page) -> None:
    expect(page.locator("#add-results .candidate").first).to_be_visible()


# Who signs in, and what they open: (path, what to do there).
State = tuple[str, Callable[[Page], None] | None]
PAGES: dict[str, list[State]] = {
    "A1": [
        ("/", None),
        ("/book", None),
        ("/book", open_remove_confirmation),
        ("/book/add?q=a", wait_for_results),
        ("/customers/C1", None),
        ("/calendar?view=day", None),
        ("/calendar?view=week", None),
        ("/calendar?view=month", None),
        ("/calendar/new", None),
        ("/customers/NOPE", None),
    ],
    "M1": [
        ("/store-book", open_reassign_confirmation),
        ("/store-book/audit", None),
    ],
    "T1": [("/admin", None)],
}


def walk(page: Page, store, states: list[State], measure) -> list[str]:
    """Open each state in each window; what `measure` finds, by page."""
    found = []
    for window, size in WINDOWS.items():
        page.set_viewport_size(size)
        for path, action in states:
            page.goto(store(path))
            if action is not None:
                action(page)
            found += [f"{path} ({window}): {problem}" for problem in measure(page)]
    return found


def targets(page: Page) -> list[str]:
    return small_targets(page)


def overflow(page: Page) -> list[str]:
    why = sideways_overflow(page)
    return [why] if why else []


@pytest.mark.parametrize("staff_id", PAGES)
def test_targets_are_large_and_nothing_scrolls_sideways(
    browser: Browser, store, staff_id
):
    with signed_in(browser, store, staff_id) as page:
        problems = walk(
            page,
            store,
            PAGES[staff_id],
            lambda page: targets(page) + overflow(page),
        )

    assert not problems, "\n".join(problems)


def test_the_sign_in_page(browser: Browser, store):
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        problems = walk(
            page, store, [("/login", None)], lambda page: targets(page) + overflow(page)
        )
    finally:
        context.close()

    assert not problems, "\n".join(problems)


def test_the_filter_panel_comes_above_the_cards_on_a_phone(browser: Browser, store):
    with signed_in(browser, store, "A1", viewport=PHONE) as page:
        page.goto(store("/book"))
        panel = page.locator("#filters").bounding_box()
        first_card = page.locator("#card-list .card").first.bounding_box()
        assert panel["y"] + panel["height"] <= first_card["y"]
        assert panel["width"] >= PHONE["width"] - 40

        # On a tablet the panel stands beside the cards.
        page.set_viewport_size(TABLET)
        panel = page.locator("#filters").bounding_box()
        first_card = page.locator("#card-list .card").first.bounding_box()
        assert panel["x"] + panel["width"] <= first_card["x"]
        assert panel["y"] < first_card["y"] + first_card["height"]


def test_the_measure_finds_small_targets_and_overflow(page: Page):
    # The measures themselves can fail: a tiny link and a wide block.
    page.set_viewport_size(PHONE)
    page.set_content(
        '<html lang="en"><body><main>'
        '<a href="/x" style="font-size:10px">x</a>'
        '<label><input type="checkbox"> in a label</label>'
        '<div style="width:600px">wide</div>'
        "</main></body></html>"
    )

    small = small_targets(page)
    why = sideways_overflow(page)

    assert len(small) == 2 and '<a href="/x"' in small[0], small
    assert "label" not in small[1] and "checkbox" in small[1], small
    assert why is not None and "in a 390 px window" in why, why
    assert "width:600px" in why, why
