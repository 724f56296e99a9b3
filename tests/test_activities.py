"""Activities, activity types and their cache, through HTTP (F01, F18)."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from storeserver.activities.models import Activity
from storeserver.extensions import db
from storeserver.sync.models import OutboxRow

from .conftest import STORE_IT_OPS, customer, staff


@pytest.fixture
def shop(world):
    world.pull(
        [
            customer("C1", "Inès", "Client"),
            staff("T1", "Tom", "Informatique", STORE_IT_OPS),
        ]
    )
    return world


def offered_types(html: str) -> list[str]:
    form = re.search(r'<select[^>]*id="type".*?</select>', html, re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]+)</option>", form)


def activity_form(**fields) -> dict:
    data = {
        "type": "CALL",
        "subject": "Appel de suivi",
        "day": "2026-03-02",
        "status": "planned",
        "token": uuid.uuid4().hex,
    }
    data.update(fields)
    return data


def activities(app) -> list[Activity]:
    with app.app_context():
        return db.session.scalars(sa.select(Activity).order_by(Activity.id)).all()


def outbox(app, kind) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count()).where(OutboxRow.kind == kind)
        )


# -- activity types (F01) -----------------------------------------------------------


def test_new_types_show_after_a_pull_without_waiting_for_the_cache(shop, login, app):
    session = login("A1")
    session.post("/customers/C1/activities", activity_form(type="VISIT"))
    before = session.get("/customers/C1").get_data(as_text=True)

    shop.pull(
        [
            (
                "activity_type",
                {
                    "id": "CALL",
                    "legal_entity": "LE1",
                    "code": "CALL",
                    "label": {"en": "Telephone call", "fr": "Appel téléphonique"},
                },
            ),
            (
                "activity_type",
                {
                    "id": "SHOP",
                    "legal_entity": "LE1",
                    "code": "SHOP",
                    "label": {"en": "Personal shopping", "fr": "Shopping privé"},
                },
            ),
            ("activity_type", "delete", {"id": "VISIT"}),
        ]
    )
    after = session.get("/customers/C1").get_data(as_text=True)

    assert offered_types(before) == ["Appointment", "Phone call", "Store visit"]
    assert offered_types(after) == [
        "Appointment",
        "Telephone call",
        "Personal shopping",
    ]
    # The activity of the retired type keeps its label.
    assert "Store visit" in after.split('id="activities"')[1]
    assert "retired type" in after


def test_a_pull_by_another_process_is_seen_at_once(shop, app, login):
    session = login("A1")
    assert "Phone call" in offered_types(
        session.get("/customers/C1").get_data(as_text=True)
    )
    # Another process (cron, the CLI) writes the database: this process's
    # cache is not told, only the generation in the database moves.
    with app.app_context():
        from storeserver.activities.models import ActivityType
        from storeserver.cache import bump_generation

        db.session.get(ActivityType, "CALL").label = {"en": "Call back"}
        bump_generation()
        db.session.commit()

    page = session.get("/customers/C1").get_data(as_text=True)

    assert "Call back" in offered_types(page)


def test_store_it_may_flush_the_cache_and_an_associate_may_not(shop, login):
    store_it = login("T1")
    associate = login("A1")

    allowed = store_it.post("/admin/cache/flush", {}, htmx=True)
    refused = associate.post("/admin/cache/flush", {}, htmx=True)

    assert allowed.status_code == 200
    assert "Reference data reloaded" in allowed.get_data(as_text=True)
    assert refused.status_code == 403


# -- logging activities --------------------------------------------------------------


def test_log_a_call_on_a_date(shop, app, login):
    session = login("A1")

    response = session.post(
        "/customers/C1/activities", activity_form(status="done"), htmx=True
    )

    assert response.status_code == 200
    assert response.headers["HX-Location"] == "/customers/C1#activities"
    [saved] = activities(app)
    assert (saved.on_date.isoformat(), saved.starts_at, saved.status) == (
        "2026-03-02",
        None,
        "done",
    )
    assert outbox(app, "activity.create") == 1


def test_appointment_is_stored_in_utc_by_the_rules_of_its_date(shop, app, login):
    session = login("A1")

    session.post(
        "/customers/C1/activities",
        activity_form(type="APPT", day="2026-11-15", start="08:00", end="08:45"),
    )
    session.post(
        "/customers/C1/activities",
        activity_form(type="APPT", day="2027-03-30", start="10:00"),
    )

    first, second = activities(app)
    assert first.starts_at.isoformat() == "2026-11-15T07:00:00"
    assert first.ends_at.isoformat() == "2026-11-15T07:45:00"
    assert second.starts_at.isoformat() == "2027-03-30T08:00:00"
    assert second.ends_at.isoformat() == "2027-03-30T08:30:00"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "APPT"}, "An appointment needs a start time."),
        ({"type": "APPT", "start": "10:00", "all_day": "y"}, "An appointment needs"),
        ({"start": "10:00", "end": "09:00"}, "The end time must be after"),
        ({"day": "2027-03-28", "start": "02:30"}, "the clocks go forward"),
        ({"type": "GONE"}, "Choose one of the activity types offered."),
        ({"subject": ""}, "This field is required."),
        ({"day": "not-a-date"}, "Not a valid date value."),
    ],
)
def test_bad_activities_are_refused_with_a_message(shop, app, login, fields, message):
    session = login("A1")

    response = session.post(
        "/customers/C1/activities", activity_form(**fields), htmx=True
    )

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert activities(app) == []
    assert outbox(app, "activity.create") == 0


def test_a_double_submit_logs_one_activity(shop, app, login):
    session = login("A1")
    form = activity_form()

    session.post("/customers/C1/activities", form)
    session.post("/customers/C1/activities", form)

    assert len(activities(app)) == 1
    assert outbox(app, "activity.create") == 1


def test_mark_done_then_cancel(shop, app, login):
    session = login("A1")
    session.post("/customers/C1/activities", activity_form())
    [created] = activities(app)

    done = session.post(
        f"/activities/{created.id}/status", {"status": "done"}, htmx=True
    )
    cancelled = session.post(
        f"/activities/{created.id}/status", {"status": "cancelled"}, htmx=True
    )

    assert done.get_data(as_text=True).startswith(f'<li id="activity-{created.id}"')
    assert "status-cancelled" in cancelled.get_data(as_text=True)
    assert activities(app)[0].status == "cancelled"
    assert outbox(app, "activity.update") == 2


def test_edit_an_activity_keeps_local_time_and_checks_the_version(shop, app, login):
    session = login("A1")
    session.post(
        "/customers/C1/activities",
        activity_form(type="APPT", day="2026-11-15", start="08:00"),
    )
    [created] = activities(app)

    form = session.get(f"/activities/{created.id}/edit").get_data(as_text=True)
    saved = session.post(
        f"/activities/{created.id}",
        activity_form(type="APPT", day="2026-11-16", start="09:30", version="1"),
    )
    stale = session.post(
        f"/activities/{created.id}",
        activity_form(type="APPT", day="2026-11-17", start="09:30", version="1"),
        htmx=True,
    )

    assert 'value="08:00"' in form
    assert 'value="2026-11-15"' in form
    assert saved.status_code == 303
    assert activities(app)[0].starts_at.isoformat() == "2026-11-16T08:30:00"
    assert stale.status_code == 409
    assert activities(app)[0].version == 2


def test_only_the_author_changes_an_activity(shop, app, login):
    author = login("A1")
    author.post("/customers/C1/activities", activity_form())
    [created] = activities(app)
    other = login("B1")

    page = other.get("/customers/C1").get_data(as_text=True)
    response = other.post(f"/activities/{created.id}/status", {"status": "done"})

    assert "Appel de suivi" in page  # readable by every associate of the company
    assert response.status_code == 403
    assert "Only Inès Essai, who logged it, may change this activity." in (
        response.get_data(as_text=True)
    )
    assert activities(app)[0].status == "planned"


# -- found by testing: bad input, races, redirects --------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1969-12-31"])
def test_dates_outside_a_sensible_range_are_refused(shop, app, login, day):
    session = login("A1")

    response = session.post(
        "/customers/C1/activities", activity_form(day=day, start="23:50"), htmx=True
    )

    assert response.status_code == 422
    assert "Choose a date between 1970 and 2999." in response.get_data(as_text=True)
    assert activities(app) == []


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "garbage"])
def test_calendar_far_dates_fall_back_to_today(shop, login, day):
    session = login("A1")

    for view in ("day", "week", "month"):
        response = session.get(f"/calendar?view={view}&date={day}")
        assert response.status_code == 200


def test_an_end_left_empty_stays_on_the_same_day_and_can_be_edited(shop, app, login):
    session = login("A1")
    session.post(
        "/customers/C1/activities",
        activity_form(type="CALL", day="2026-11-15", start="23:45"),
    )
    [created] = activities(app)

    saved = session.post(
        f"/activities/{created.id}",
        activity_form(
            type="CALL",
            subject="Changed",
            day="2026-11-15",
            start="23:45",
            end="23:59",
            version="1",
        ),
    )

    assert created.ends_at.isoformat() == "2026-11-15T22:59:00"
    assert saved.status_code == 303


def test_a_missing_type_is_refused_not_guessed(shop, app, login):
    session = login("A1")
    form = activity_form()
    del form["type"]

    response = session.post("/customers/C1/activities", form, htmx=True)

    assert response.status_code == 422
    assert activities(app) == []


def test_a_form_token_of_another_associate_or_customer_is_refused(shop, app, login):
    shop.pull([customer("C2", "Autre", "Client")])
    form = activity_form()
    login("A1").post("/customers/C1/activities", form)

    other_author = login("B1").post("/customers/C1/activities", form, htmx=True)
    other_customer = login("A1").post("/customers/C2/activities", form, htmx=True)

    assert other_author.status_code == 422
    assert other_customer.status_code == 422
    assert "already used" in other_customer.get_data(as_text=True)
    assert len(activities(app)) == 1


def test_next_never_leaves_this_server(shop, login):
    session = login("A1")

    response = session.post(
        "/customers/C1/activities", activity_form(next="//evil.example/x")
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/customers/C1#activities"


def test_control_characters_are_dropped(shop, app, login):
    session = login("A1")

    session.post("/customers/C1/activities", activity_form(subject="a\x00b\x07c"))

    assert activities(app)[0].subject == "abc"


def test_calendar_new_only_takes_a_customer_of_my_book(shop, app, login):
    session = login("A1")

    response = session.post(
        "/calendar/new", {**activity_form(), "customer": "C1"}, htmx=True
    )

    assert response.status_code == 422
    assert "Choose a customer of your client book." in response.get_data(as_text=True)
    assert activities(app) == []


def test_sql_errors_carry_no_parameters(app):
    from storeserver.notes.models import Note

    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    with app.app_context():
        assert db.engine.hide_parameters is True
        with pytest.raises(sa.exc.IntegrityError) as raised:
            db.session.execute(
                sa.insert(Note).values(uid="u", body="Secret body", customer_id="nope")
            )
        db.session.rollback()
    assert "Secret body" not in str(raised.value)
    assert "Secret body" not in str(raised.value.orig)  # the cause, in tracebacks
