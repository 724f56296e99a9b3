"""Activities and notes as an associate uses them, in Chromium.

Open a customer from the client book, log a phone call, book an appointment
for next week and find it in the calendar, add a note and edit it in place;
an appointment without a start time is refused.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Locator, Page, expect

from ..conftest import PASSWORD

# The test store's zone (base_records): "today" is the store's day.
STORE_ZONE = ZoneInfo("Europe/Paris")
CUSTOMER = "Zoë Martin"


def store_today() -> date:
    return datetime.now(STORE_ZONE).date()


def next_week_tuesday() -> date:
    today = store_today()
    next_monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    return next_monday + timedelta(days=1)


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def sign_in_and_open_customer(page: Page, live_server, name: str = CUSTOMER) -> None:
    page.goto(live_server("/login"))
    page.locator("#staff_id").fill("A1")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server("/"))
    main_nav(page).get_by_role("link", name="My client book").click()
    expect(page).to_have_url(live_server("/book"))
    page.locator("#card-list .card .name").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def activity_form(page: Page) -> Locator:
    return page.locator("#activity-form")


def fill_activity(
    page: Page,
    type_label: str,
    subject: str,
    day: date,
    status: str | None = None,
    start: str | None = None,
    end: str | None = None,
    all_day: bool = False,
) -> None:
    form = activity_form(page)
    expect(form.get_by_role("heading", name="New activity")).to_be_visible()
    form.get_by_label("Type").select_option(label=type_label)
    if status is not None:
        form.get_by_label("Status").select_option(label=status)
    form.get_by_label("Subject").fill(subject)
    form.get_by_label("Date").fill(day.isoformat())
    if start is not None:
        form.get_by_label("Start", exact=True).fill(start)
    if end is not None:
        form.get_by_label("End", exact=True).fill(end)
    if all_day:
        form.get_by_label("All day (no time)").check()
    form.get_by_role("button", name="Save the activity").click()


def activity_items(page: Page) -> Locator:
    return page.locator("#activities ul.activities > li.activity")


def colleague_note(app, customer_id: str, text: str) -> None:
    """A note Marc Exemple (B1) wrote earlier on the customer."""
    from storeserver.extensions import db
    from storeserver.notes.services import add_note
    from storeserver.org.models import Staff

    with app.app_context():
        add_note(db.session.get(Staff, "B1"), customer_id, text)


def test_activity_and_note_flow(page: Page, live_server):
    today = store_today()
    fitting_day = next_week_tuesday()
    colleague_note(live_server.app, "C1", "Came in for the winter sale")
    sign_in_and_open_customer(page, live_server)
    customer_url = page.url
    expect(page.locator("#activities")).to_contain_text("No activity yet.")

    # A phone call, done today, without a time.
    fill_activity(
        page,
        "Phone call",
        "Asked about the new bags",
        today,
        status="Done",
        all_day=True,
    )
    expect(page.locator("#messages")).to_contain_text("Activity saved.")
    call = activity_items(page).filter(has_text="Asked about the new bags")
    expect(call).to_have_count(1)
    expect(call.locator(".type")).to_have_text("Phone call")
    expect(call.locator(".status")).to_have_text("Done")
    expect(call.locator(".when")).to_contain_text("all day")
    expect(call.locator(".author")).to_have_text("by Inès Essai")

    # An appointment next week, 10:00 to 10:45 store time.
    fill_activity(
        page, "Appointment", "Fitting", fitting_day, start="10:00", end="10:45"
    )
    expect(page.locator("#messages")).to_contain_text("Activity saved.")
    fitting = activity_items(page).filter(has_text="Fitting")
    expect(fitting).to_have_count(1)
    expect(fitting.locator(".when")).to_contain_text("10:00–10:45")
    expect(fitting.locator(".status")).to_have_text("Planned")
    # Newest first: the appointment next week, then today's call.
    expect(activity_items(page).locator(".subject")).to_have_text(
        ["Fitting", "Asked about the new bags"]
    )

    # The calendar, next week: the appointment on its day, with the customer.
    main_nav(page).get_by_role("link", name="Calendar").click()
    expect(page).to_have_url(re.compile(r"/calendar(\?|$)"))
    this_monday = today - timedelta(days=today.weekday())
    expect(page.locator("li.day")).to_have_count(7)
    expect(page.locator("li.day").first).to_have_attribute(
        "data-date", this_monday.isoformat()
    )
    # Today's call (all day) shows on today's date this week.
    expect(page.locator(f'li.day[data-date="{today.isoformat()}"]')).to_contain_text(
        "Asked about the new bags"
    )
    page.locator(".calendar-nav").get_by_role("link", name="Next").click()
    next_monday = this_monday + timedelta(days=7)
    expect(page).to_have_url(re.compile(rf"[?&]date={next_monday.isoformat()}(&|$)"))
    expect(page.locator("li.day").first).to_have_attribute(
        "data-date", next_monday.isoformat()
    )
    day = page.locator(f'li.day[data-date="{fitting_day.isoformat()}"]')
    item = day.locator("li.activity", has_text="Fitting")
    expect(item).to_have_count(1)
    expect(item.locator(".when")).to_contain_text("10:00–10:45")
    expect(item.locator(".who")).to_have_text(CUSTOMER)
    expect(page.locator("li.activity", has_text="Fitting")).to_have_count(1)

    # Back to the customer through her name on the appointment.
    item.locator(".who").click()
    expect(page).to_have_url(customer_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(CUSTOMER)

    # A note: it comes first in the list, signed by the associate.
    notes = page.locator("#notes")
    note_items = notes.locator("ul.notes > li.note")
    expect(note_items.locator(".note-body")).to_have_text(
        ["Came in for the winter sale"]
    )
    add_form = notes.locator("form.note-add")
    add_form.get_by_label("Note").fill("Prefers Tuesdays, size 38")
    add_form.get_by_role("button", name="Save the note").click()
    expect(page.locator("#messages")).to_contain_text("Note saved.")
    expect(note_items.locator(".note-body")).to_have_text(
        ["Prefers Tuesdays, size 38", "Came in for the winter sale"]
    )
    first = note_items.first
    expect(first.locator(".note-meta")).to_contain_text("Inès Essai")
    expect(note_items.nth(1).locator(".note-meta")).to_contain_text("Marc Exemple")
    # Only the author may edit a note.
    expect(first.get_by_role("link", name="Edit")).to_be_visible()
    expect(note_items.nth(1).get_by_role("link", name="Edit")).to_have_count(0)
    # The add form is empty again, ready for the next note.
    expect(add_form.get_by_label("Note")).to_have_value("")

    # Edit it in place: no page load.
    page.evaluate("window.__marker = 1")
    first.get_by_role("link", name="Edit").click()
    editing = page.locator("#notes li.note.editing")
    box = editing.locator("textarea")
    expect(box).to_have_value("Prefers Tuesdays, size 38")
    box.fill("Prefers Tuesdays, size 38, navy")
    editing.get_by_role("button", name="Save the changes").click()
    expect(editing).to_have_count(0)
    first = page.locator("#notes ul.notes > li.note").first
    expect(first.locator(".note-body")).to_have_text("Prefers Tuesdays, size 38, navy")
    expect(first.locator(".note-meta")).to_contain_text("edited")
    expect(page.locator("#notes ul.notes > li.note")).to_have_count(2)
    assert page.evaluate("window.__marker") == 1
    expect(page).to_have_url(customer_url)

    # A reload keeps the edited text.
    page.reload()
    expect(page.locator("#notes ul.notes > li.note .note-body")).to_have_text(
        ["Prefers Tuesdays, size 38, navy", "Came in for the winter sale"]
    )

    # The edit form is labelled "Note" and takes the focus, like any form; the
    # add form's box keeps its own single label meanwhile.
    page.locator("#notes li.note").first.get_by_role("link", name="Edit").click()
    editing = page.locator("#notes li.note.editing")
    expect(editing.locator("textarea")).to_be_focused()
    expect(editing.get_by_label("Note")).to_have_count(1)
    expect(page.locator("#notes form.note-add").get_by_label("Note")).to_have_count(1)
    editing.get_by_role("link", name="Cancel").click()
    expect(page.locator("#notes li.note.editing")).to_have_count(0)
    expect(page.locator("#notes li.note .note-body")).to_have_text(
        ["Prefers Tuesdays, size 38, navy", "Came in for the winter sale"]
    )


def test_appointment_without_start_time_is_refused(page: Page, live_server):
    fitting_day = next_week_tuesday()
    sign_in_and_open_customer(page, live_server)

    # No time at all.
    fill_activity(page, "Appointment", "Fitting", fitting_day)
    errors = activity_form(page).get_by_role("alert")
    expect(errors).to_have_text("An appointment needs a start time.")
    # What was typed stays, to be completed.
    form = activity_form(page)
    expect(form.get_by_label("Subject")).to_have_value("Fitting")
    expect(form.get_by_label("Date")).to_have_value(fitting_day.isoformat())
    expect(page.locator("#activities")).to_contain_text("No activity yet.")

    # "All day" is no way round it, even with a start time typed.
    form.get_by_label("Start", exact=True).fill("10:00")
    form.get_by_label("All day (no time)").check()
    form.get_by_role("button", name="Save the activity").click()
    expect(activity_form(page).get_by_role("alert")).to_have_text(
        "An appointment needs a start time."
    )

    # Nothing was saved: not on the customer page, not in the calendar.
    page.reload()
    expect(page.locator("#activities")).to_contain_text("No activity yet.")
    expect(activity_items(page)).to_have_count(0)
    page.goto(live_server(f"/calendar?view=week&date={fitting_day.isoformat()}"))
    expect(page.locator("li.day")).to_have_count(7)
    expect(page.locator("li.activity")).to_have_count(0)
    from storeserver.activities.models import Activity
    from storeserver.extensions import db

    with live_server.app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Activity)) == 0
