"""Analytics measures as store IT and an associate see them, in Chromium.

Store IT checks the integration while the secret is missing from the vault:
the page names the failed step, and the associate's cards show attributes in
the measure slots. Once the secret is back, a check switches the measures on
again and the cards show live values.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from ..conftest import PASSWORD, STORE_IT_OPS, staff
from ..test_insights import (
    INSIGHTS_SECRET,
    Analytics,
    Azure,
    _forget_everything,
    insights_record,
)


def sign_in(page: Page, live_server, staff_id: str) -> None:
    page.goto(live_server("/login"))
    page.locator("#staff_id").fill(staff_id)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server("/"))


@pytest.fixture
def analytics():
    service = Analytics()
    service.values["ACC-C1"] = {
        "churn_probability": 0.37,
        "next_best_action": "Inviter au défilé",
    }
    yield service
    service.stop()


@pytest.fixture
def store(live_server, world, analytics):
    _forget_everything()
    azure = Azure(live_server.app)
    world.pull(
        [
            staff("T1", "Tom", "Informatique", STORE_IT_OPS),
            ("measure_value", {"customer": "C1", "measure": "churn", "value": 0.42}),
            insights_record(analytics, mode="live"),
        ]
    )
    yield azure
    _forget_everything()


def card(page: Page, name: str):
    return page.locator("article.card").filter(has_text=name)


def test_a_failed_check_switches_the_measures_off_and_a_passing_one_on(
    page: Page, live_server, store, browser
):
    store.vault.secrets_held.clear()
    sign_in(page, live_server, "T1")
    page.goto(live_server("/admin"))

    page.get_by_role("button", name="Check the analytics integration").click()

    expect(page.locator(".message.error")).to_contain_text(
        "The check failed: secret not found"
    )
    expect(page.get_by_text("attributes (measures are off)")).to_be_visible()

    associate = browser.new_page()
    sign_in(associate, live_server, "A1")
    associate.goto(live_server("/book"))
    zoe = card(associate, "Zoë Martin")
    expect(zoe.locator(".slot dt").first).to_have_text("Likes")
    expect(zoe).not_to_contain_text("%")

    store.vault.secrets_held["insights-secret"] = INSIGHTS_SECRET
    _forget_everything()
    page.get_by_role("button", name="Check the analytics integration").click()
    expect(page.locator(".message.success")).to_contain_text(
        "Analytics integration checked"
    )

    associate.reload()
    zoe = card(associate, "Zoë Martin")
    expect(zoe.locator(".slot dt").first).to_have_text("Churn")
    expect(zoe.locator('.slot[data-slot="churn"] dd')).to_contain_text("37%")
    expect(zoe.locator('.slot[data-slot="churn"] .as-of')).to_have_text("live")
