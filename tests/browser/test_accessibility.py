"""axe-core on every page and partial state of the app, in Chromium.

One store serves the whole module; each role signs in once and walks its
pages, and axe checks each state as the associate sees it (after the htmx
swap). The issue asks for no serious or critical finding; the pages have
none of any impact, and the module keeps it so: any finding fails the test
with the rule, the element and the reason.
"""

from __future__ import annotations

import hashlib

import pytest
from playwright.sync_api import Browser, Page, expect

from .axe import AXE_SOURCE, assert_accessible, axe_violations, describe
from .conftest import PHONE, furnish, signed_in

COUNTER_PC = {"width": 1366, "height": 768}
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")


@pytest.fixture(scope="module")
def module_app_config() -> dict:
    # Pages of three cards: A1's four customers need page links.
    return {"PAGE_SIZE": 3}


@pytest.fixture(scope="module")
def store(module_store):
    """The module's store, with a little of everything to show."""
    furnish(module_store)
    return module_store


def check(page: Page, where: str) -> None:
    # Stricter than the rule (no serious or critical finding): the pages
    # have none of any impact, and a new one should be looked at.
    assert_accessible(page, where, impacts=ALL_IMPACTS)


def test_sign_in_page(browser: Browser, store):
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        page.goto(store("/login"))
        check(page, "the sign-in page")

        page.locator("#staff_id").fill("A1")
        page.locator("#password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".field.invalid")).to_have_count(1)
        check(page, "the sign-in page with an error")
    finally:
        context.close()


def test_associate_pages(browser: Browser, store):
    with signed_in(browser, store, "A1") as page:
        expect(page.locator("#agenda-title")).to_be_visible()
        check(page, "today's page")

        page.goto(store("/book"))
        expect(page.locator("#card-list .card")).to_have_count(3)
        check(page, "my client book")

        page.get_by_role("navigation", name="Pages").get_by_role(
            "link", name="Page 2"
        ).click()
        expect(page.locator("#card-list .card")).to_have_count(1)
        check(page, "my client book, page 2 (swapped in)")

        page.locator("#q").fill("nobody at all")
        expect(page.locator("#card-list .empty")).to_be_visible()
        check(page, "my client book filtered with no result")

        page.goto(store("/book?a.aime=Chaussures"))
        expect(page.locator("#card-list .card")).to_have_count(2)
        check(page, "my client book filtered")

        page.goto(store("/book"))
        page.get_by_label("Tick Jean Dupont").check()
        page.get_by_role("button", name="Remove ticked customers").click()
        expect(page.locator("#dialog [role=alertdialog]")).to_be_visible()
        check(page, "the remove confirmation")

        page.goto(store("/book/add"))
        check(page, "add customers, before a search")
        page.locator("#add-q").fill("zzz")
        expect(page.locator("#add-results .empty")).to_be_visible()
        check(page, "add customers, no result")
        page.locator("#add-q").fill("a")
        expect(page.locator("#add-results .candidate").first).to_be_visible()
        check(page, "add customers, results")
        page.locator(".candidate", has_text="Margaux Laurent").get_by_role(
            "checkbox"
        ).check()
        page.locator(".candidate", has_text="Hugo Petit").get_by_role(
            "checkbox"
        ).check()
        page.get_by_role("button", name="Add ticked customers").click()
        expect(page.locator("#messages .message.error")).to_be_visible()
        check(page, "add customers, added and refused")

        page.goto(store("/book/remove?customer=C2"))
        check(page, "the remove confirmation without JavaScript")
        page.goto(store("/book/remove"))
        check(page, "the remove page with nothing ticked")


def test_customer_pages(browser: Browser, store):
    with signed_in(browser, store, "A1") as page:
        page.goto(store("/customers/C1"))
        expect(page.locator("#notes li.note")).to_have_count(2)
        expect(page.locator("#activities li.activity")).to_have_count(2)
        check(page, "the customer page with notes and activities")

        page.goto(store("/customers/C2"))
        expect(page.locator("#notes")).to_contain_text("No note yet.")
        check(page, "the customer page without notes or activities")

        # The activity form refusing an appointment without a time.
        form = page.locator("#activity-form")
        form.get_by_label("Type").select_option(label="Appointment")
        form.get_by_label("Subject").fill("Fitting")
        form.get_by_role("button", name="Save the activity").click()
        expect(form.get_by_role("alert")).to_be_visible()
        check(page, "the activity form with an error")

        # A note too long is refused in place.
        page.goto(store("/customers/C1"))
        mine = page.locator("#notes li.note", has_text="Prefers Tuesdays")
        mine.get_by_role("link", name="Edit").click()
        editing = page.locator("#notes li.note.editing")
        expect(editing).to_be_visible()
        check(page, "a note being edited")

        # Meanwhile the note changes: saving shows both texts.
        _edit_behind(store.app, "Prefers Tuesdays, size 38")
        editing.locator("textarea").fill("Prefers Tuesdays, navy")
        editing.get_by_role("button", name="Save the changes").click()
        expect(page.locator("#notes li.note.conflict")).to_be_visible()
        check(page, "the note conflict")

        page.goto(store("/customers/NOPE"))
        check(page, "the not-found page")


def _edit_behind(app, text: str) -> None:
    from storeserver.extensions import db
    from storeserver.notes.models import Note
    from storeserver.notes.services import edit_note
    from storeserver.org.models import Staff

    with app.test_request_context():
        note = db.session.scalar(db.select(Note).filter_by(author_id="A1"))
        edit_note(db.session.get(Staff, "A1"), note.id, text, note.version)


def test_calendar_and_activity_pages(browser: Browser, store):
    with signed_in(browser, store, "A1") as page:
        for view in ("day", "week", "month"):
            page.goto(store(f"/calendar?view={view}"))
            expect(page.locator("li.activity").first).to_be_visible()
            check(page, f"the calendar, {view} view")

        # The calendar's own swaps: the next period, then another view.
        page.goto(store("/calendar?view=week"))
        page.locator(".calendar-nav").get_by_role("link", name="Next").click()
        expect(page.locator("li.activity")).to_have_count(0)
        check(page, "the calendar, next week (swapped in)")

        page.goto(store("/calendar/new"))
        expect(page.locator("#activity-form")).to_be_visible()
        check(page, "the calendar's activity form")
        form = page.locator("#activity-form")
        form.get_by_label("Type").select_option(label="Appointment")
        form.get_by_label("Subject").fill("Fitting")
        form.get_by_role("button", name="Save the activity").click()
        expect(form.get_by_role("alert")).to_be_visible()
        check(page, "the calendar's activity form with an error")

        page.goto(store("/customers/C1"))
        page.locator("#activities li.activity").first.get_by_role(
            "link", name="Edit"
        ).click()
        expect(page.get_by_role("heading", name="Change the activity")).to_be_visible()
        check(page, "the activity form, changing an activity")


def show(page: Page, store, response) -> None:
    """Show a page a browser without JavaScript would get for a form it sent."""
    page.goto(store("/"))
    page.set_content(response.text())


def test_pages_without_javascript(browser: Browser, store):
    # The forms also work as plain forms; the pages answering them are checked
    # as they arrive (fetched with the session's cookies, shown in the page).
    with signed_in(browser, store, "A1") as page:
        page.goto(store("/customers/C3"))
        token = page.evaluate(
            "() => JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']"
        )
        answer = page.request.post(
            store("/customers/C3/notes"),
            form={"csrf_token": token, "note-body": "   "},
        )
        assert answer.status == 422
        show(page, store, answer)
        check(page, "a refused note, without JavaScript")

        page.goto(store("/customers/C3"))
        page.locator("#notes textarea").fill("Likes the new shoes")
        page.locator("#notes").get_by_role("button", name="Save the note").click()
        expect(page.locator("#notes li.note")).to_have_count(1)
        note = page.locator("#notes li.note").get_attribute("id").removeprefix("note-")
        page.goto(store(f"/notes/{note}/edit"))
        check(page, "a note being edited, without JavaScript")

        answer = page.request.post(
            store(f"/notes/{note}"),
            form={
                "csrf_token": token,
                f"note-{note}-body": "Likes the new shoes, size 38",
                f"note-{note}-version": "0",
            },
        )
        assert answer.status == 409
        show(page, store, answer)
        check(page, "a note conflict, without JavaScript")


def test_forbidden_and_unknown_pages(browser: Browser, store):
    with signed_in(browser, store, "A1") as page:
        response = page.goto(store("/store-book"))
        assert response.status == 403
        check(page, "the forbidden page")

        response = page.goto(store("/no-such-page"))
        assert response.status == 404
        check(page, "the page-not-found page")


def test_empty_book(browser: Browser, store):
    with signed_in(browser, store, "E1") as page:
        check(page, "today's page with an empty book")
        page.goto(store("/book"))
        expect(page.locator("#card-list .empty")).to_be_visible()
        check(page, "an empty client book")


def test_store_book_pages(browser: Browser, store):
    with signed_in(browser, store, "M1") as page:
        page.goto(store("/store-book"))
        expect(page.locator("#card-list .card")).to_have_count(3)
        check(page, "the store book")

        page.get_by_role("navigation", name="Pages").get_by_role(
            "link", name="Page 2"
        ).click()
        expect(page).to_have_url(store("/store-book?page=2"))
        check(page, "the store book, page 2 (swapped in)")

        page.locator("#owner-filter").get_by_label("Marc Exemple").check()
        expect(page.locator("#card-count")).to_contain_text("match")
        check(page, "the store book filtered by owner")

        page.goto(store("/store-book?q=nobody+at+all"))
        expect(page.locator("#card-list .empty")).to_be_visible()
        check(page, "the store book filtered with no result")

        page.goto(store("/store-book"))

        page.get_by_label("Tick Jean Dupont").check()
        expect(page.locator("#selection .count")).to_have_text("1 customer selected")
        check(page, "the store book with a selection")

        page.locator("#selection").get_by_role(
            "link", name="Reassign the selected customers…"
        ).click()
        expect(page.locator("#dialog [role=alertdialog]")).to_be_visible()
        check(page, "the reassign confirmation")

        page.locator("#dialog select").select_option(label="Marc Exemple")
        page.locator("#dialog").get_by_role("button", name="Move 1 customer").click()
        expect(page.locator("#messages")).to_contain_text("1 customer moved")
        check(page, "the store book after a move")

        page.goto(store("/store-book/reassign"))
        check(page, "the reassign page without JavaScript, nothing selected")

        page.goto(store("/store-book/audit"))
        expect(page.locator("table.trail tbody tr").first).to_be_visible()
        check(page, "the book changes page")


def test_store_it_page(browser: Browser, store):
    with signed_in(browser, store, "T1") as page:
        page.goto(store("/admin"))
        expect(page.get_by_role("heading", name="Store administration")).to_be_visible()
        check(page, "the store IT page")


def test_customer_data_pages(browser: Browser, store):
    with signed_in(browser, store, "T1") as page:
        page.goto(store("/admin/customers"))
        check(page, "finding a customer's data")
        page.get_by_label("Customer id, account number or name").fill("zoe")
        page.get_by_role("button", name="Find").click()
        page.get_by_role("link", name="Zoë Martin").click()
        expect(
            page.get_by_role("heading", name="Data held on Zoë Martin")
        ).to_be_visible()
        check(page, "the data held on a customer")


def test_contact_lists(browser: Browser, store):
    with signed_in(browser, store, "A1") as page:
        page.goto(store("/book"))
        page.get_by_role("link", name="E-mail list").click()
        expect(page.get_by_role("heading", name="E-mail list")).to_be_visible()
        check(page, "the e-mail list of my book")
        page.goto(store("/book"))
        page.get_by_role("link", name="Call list").click()
        check(page, "the call list of my book")
    with signed_in(browser, store, "M1") as page:
        page.goto(store("/store-book/contact/email"))
        check(page, "the e-mail list of the store book")


def test_shared_tablet_states(browser: Browser, store):
    with signed_in(browser, store, "A1") as page:
        # The idle warning is checked where it shows, in test_shared_tablet_flow.
        page.goto(store("/book"))
        page.get_by_role("button", name="Switch associate").click()
        expect(
            page.get_by_role("heading", name="Recently on this tablet")
        ).to_be_visible()
        check(page, "the sign-in page after a switch, with recent associates")


def test_counter_pc(browser: Browser, store):
    # A wide window shows what tablets hide (the associate's name).
    with signed_in(browser, store, "A1", viewport=COUNTER_PC) as page:
        check(page, "today's page on a counter PC")
        page.goto(store("/book"))
        check(page, "the client book on a counter PC")


def test_phone_in_french(browser: Browser, store):
    with signed_in(browser, store, "A1", viewport=PHONE, locale="fr-FR") as page:
        check(page, "today's page on a phone, in French")
        page.goto(store("/book"))
        check(page, "the client book on a phone, in French")
        page.goto(store("/customers/C1"))
        check(page, "the customer page on a phone, in French")


def test_a_broken_page_fails_the_check(page: Page):
    # The check itself can fail: a field without a label, an image without
    # text, and grey on grey, in a page of its own.
    page.set_content(
        '<html lang="en"><body><main><h1>Broken</h1>'
        '<input type="text" name="q">'
        '<p style="color:#aaa;background:#bbb">faint</p>'
        "</main></body></html>"
    )
    findings = axe_violations(page)
    rules = {f["id"] for f in findings}

    assert {"label", "color-contrast"} <= rules
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page, "a broken page")
    message = str(failure.value)
    assert "label (critical)" in message
    assert "color-contrast (serious)" in message
    assert '<input type="text" name="q">' in message
    assert describe(findings, "x").startswith(f"{len(findings)} accessibility")


def test_the_vendored_axe_is_the_one_recorded():
    readme = (AXE_SOURCE.parent / "README.md").read_text("utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `axe"))
    _file, _package, version, licence, digest = (
        cell.strip(" `") for cell in row.strip("|").split("|")
    )
    source = AXE_SOURCE.read_bytes()

    assert hashlib.sha256(source).hexdigest() == digest
    assert source.startswith(f"/*! axe v{version}".encode())
    assert licence == "MPL-2.0"
    assert b"Mozilla Public" in source[:400]
