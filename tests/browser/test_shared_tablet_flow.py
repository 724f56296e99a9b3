"""A shared tablet in Chromium: idle sign-out with its warning, the back button.

The sign-in ends after a few idle seconds here (IDLE_MINUTES is a fraction);
the warning lets the associate stay, and when nobody answers the screen is
cleared and the sign-in page shows. Going back never shows a customer again.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .axe import assert_accessible
from .test_book_flow import sign_in

CUSTOMER = "Zoë Martin"


@pytest.fixture
def app_config() -> dict:
    return {"IDLE_MINUTES": 0.15, "IDLE_WARNING_SECONDS": 4}  # 9 s, warned at 5 s


def open_customer(page: Page, live_server) -> None:
    page.get_by_role("link", name=CUSTOMER).click()
    expect(page.get_by_role("heading", name=CUSTOMER)).to_be_visible()


def test_idle_sign_out_warns_first_then_clears_the_screen(page: Page, live_server):
    sign_in(page, live_server)
    open_customer(page, live_server)
    warning = page.locator("#idle-warning")

    expect(warning).to_be_visible(timeout=15_000)
    expect(page.get_by_role("button", name="Stay signed in")).to_be_focused()
    assert_accessible(page, "the idle warning")
    page.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()
    expect(page.get_by_role("heading", name=CUSTOMER)).to_be_visible()

    expect(warning).to_be_visible(timeout=15_000)  # this time nobody answers
    expect(page).to_have_url(re.compile(r"/login"), timeout=15_000)
    expect(page.locator(".messages")).to_contain_text("You were signed out")
    assert CUSTOMER not in page.content()

    page.go_back()
    page.wait_for_load_state()
    assert CUSTOMER not in page.content()
    expect(page).to_have_url(re.compile(r"/login"))


@pytest.mark.parametrize("app_config", [{"IDLE_MINUTES": 0}], ids=["no-idle"])
def test_the_back_button_after_sign_out_shows_no_customer(page: Page, live_server):
    sign_in(page, live_server)
    open_customer(page, live_server)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.go_back()
    page.wait_for_load_state()

    assert CUSTOMER not in page.content()
    expect(page).to_have_url(re.compile(r"/login"))
