"""The calendar across clock changes and time zones, and its file (F10)."""

from __future__ import annotations

import re
import uuid

import pytest
from icalendar import Calendar

from .conftest import customer


def store_in(zone: str) -> tuple:
    return (
        "store",
        {
            "id": "S1",
            "legal_entity": "LE1",
            "name": "Boutique Test",
            "time_zone": zone,
            "address_books": ["AB1"],
        },
    )


def book(session, day, start=None, end=None, kind="APPT", subject="Rendez-vous"):
    data = {
        "type": kind,
        "subject": subject,
        "day": day,
        "status": "planned",
        "token": uuid.uuid4().hex,
    }
    if start:
        data["start"] = start
    if end:
        data["end"] = end
    response = session.post("/customers/C1/activities", data)
    assert response.status_code == 303, response.get_data(as_text=True)


def day_items(page: str, day: str) -> list[str]:
    """The times (or 'all day') of the items shown on one day of a calendar page."""
    block = re.search(
        rf'<li class="day[^"]*" data-date="{day}">(.*?)</li>'
        r'\s*(?=<li class="day|</ol>)',
        page,
        re.S,
    )
    if block is None:
        return []
    found = []
    for item in re.findall(r'<span class="when">(.*?)</span>', block.group(1), re.S):
        times = re.findall(r">(\d\d:\d\d)<", item)
        found.append(times[0] if times else "all day")
    return found


@pytest.fixture
def paris(world, login):
    world.pull([customer("C1", "Inès", "Client")])
    return login("A1")


def test_appointment_booked_before_the_october_change_keeps_its_wall_time(paris, clock):
    clock("2026-10-20T09:00:00Z")
    book(paris, "2026-11-15", "08:00", "08:45")

    page = paris.get("/calendar?view=day&date=2026-11-15").get_data(as_text=True)

    assert day_items(page, "2026-11-15") == ["08:00"]
    assert "08:00</time>–08:45" in page


def test_appointment_booked_before_the_march_change_keeps_its_wall_time(paris, clock):
    clock("2027-03-20T09:00:00Z")
    book(paris, "2027-03-30", "10:00")

    page = paris.get("/calendar?view=week&date=2027-03-30").get_data(as_text=True)

    assert day_items(page, "2027-03-30") == ["10:00"]


def test_week_of_the_october_change_lists_each_appointment_once(paris):
    book(paris, "2026-10-24", "23:30")
    book(paris, "2026-10-25", "01:30")
    book(paris, "2026-10-25", "02:30")  # happens twice that night: the first
    book(paris, "2026-10-25", "03:30")
    book(paris, "2026-10-25", kind="CALL")  # all day
    book(paris, "2026-10-25", "23:30")
    book(paris, "2026-10-26", "00:30")  # Monday: the next week

    page = paris.get("/calendar?view=week&date=2026-10-22").get_data(as_text=True)
    following = paris.get("/calendar?view=week&date=2026-10-26").get_data(as_text=True)

    assert day_items(page, "2026-10-24") == ["23:30"]
    assert day_items(page, "2026-10-25") == [
        "all day",
        "01:30",
        "02:30",
        "03:30",
        "23:30",
    ]
    assert 'data-date="2026-10-26"' not in page
    assert page.count('class="activity ') == 6
    assert day_items(following, "2026-10-26") == ["00:30"]
    assert following.count('class="activity ') == 1


def test_month_views_across_both_clock_changes(paris):
    book(paris, "2026-10-25", "09:00")
    book(paris, "2026-10-31", "18:00")
    book(paris, "2027-03-28", "03:00")
    book(paris, "2027-03-31", "19:30")

    october = paris.get("/calendar?view=month&date=2026-10-01").get_data(as_text=True)
    march = paris.get("/calendar?view=month&date=2027-03-15").get_data(as_text=True)

    assert day_items(october, "2026-10-25") == ["09:00"]
    assert day_items(october, "2026-10-31") == ["18:00"]
    assert day_items(march, "2027-03-28") == ["03:00"]
    assert day_items(march, "2027-03-31") == ["19:30"]
    # The month grid starts on the Monday before the 1st.
    assert 'data-date="2026-09-28"' in october
    assert 'data-date="2027-04-04"' in march


def test_a_time_skipped_by_the_march_change_is_refused(paris):
    response = paris.post(
        "/customers/C1/activities",
        {"type": "APPT", "subject": "x", "day": "2027-03-28", "start": "02:30"},
    )

    assert response.status_code == 422
    assert "the clocks go forward" in response.get_data(as_text=True)


def test_all_day_and_evening_items_stay_on_their_day_west_of_utc(world, login):
    world.pull([store_in("America/Los_Angeles"), customer("C1", "Inès", "Client")])
    session = login("A1")
    book(session, "2026-09-10", kind="VISIT")
    book(session, "2026-09-10", "21:30")  # 04:30 UTC on the 11th

    day = session.get("/calendar?view=day&date=2026-09-10").get_data(as_text=True)
    week = session.get("/calendar?view=week&date=2026-09-10").get_data(as_text=True)
    before = session.get("/calendar?view=day&date=2026-09-09").get_data(as_text=True)
    after = session.get("/calendar?view=day&date=2026-09-11").get_data(as_text=True)

    assert day_items(day, "2026-09-10") == ["all day", "21:30"]
    assert day_items(week, "2026-09-10") == ["all day", "21:30"]
    assert day_items(week, "2026-09-09") == []
    assert day_items(week, "2026-09-11") == []
    assert day_items(before, "2026-09-09") == []
    assert day_items(after, "2026-09-11") == []


def test_navigation_swaps_the_calendar_fragment(paris):
    response = paris.get("/calendar?view=week&date=2026-10-22", htmx=True)

    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="calendar"')
    assert "date=2026-10-12" in body  # previous week
    assert "date=2026-10-26" in body  # next week


def test_store_calendar_is_for_managers(paris, login):
    book(paris, "2026-10-22", "10:00")
    manager = login("M1")
    associate = login("B1")

    store = manager.get("/calendar?view=week&date=2026-10-22&scope=store")
    refused = associate.get("/calendar?view=week&date=2026-10-22&scope=store")
    mine = manager.get("/calendar?view=week&date=2026-10-22")

    assert day_items(store.get_data(as_text=True), "2026-10-22") == ["10:00"]
    assert refused.status_code == 403
    assert day_items(mine.get_data(as_text=True), "2026-10-22") == []


def test_calendar_file_times_equal_the_screen(paris, clock):
    clock("2026-10-20T09:00:00Z")
    book(paris, "2026-11-15", "08:00", "08:45", subject="Essayage")
    book(paris, "2026-11-16", kind="VISIT", subject="Passage")

    response = paris.get("/calendar/appointments.ics")

    assert response.mimetype == "text/calendar"
    parsed = Calendar.from_ical(response.data)
    events = {str(e["summary"]): e for e in parsed.walk("VEVENT")}
    fitting = events["Appointment: Essayage — Inès Client"]
    starts = fitting.decoded("dtstart")
    assert (starts.hour, starts.minute, str(starts.tzinfo)) == (8, 0, "Europe/Paris")
    assert fitting.decoded("dtend").strftime("%H:%M") == "08:45"
    assert events["Store visit: Passage — Inès Client"].decoded(
        "dtstart"
    ).isoformat() == ("2026-11-16")
    assert b"BEGIN:VTIMEZONE" in response.data
