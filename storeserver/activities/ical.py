"""My appointments as an iCalendar file, in the store's time zone."""

from __future__ import annotations

from datetime import UTC, timedelta

import sqlalchemy as sa
from icalendar import Calendar, Event
from sqlalchemy.orm import joinedload

from ..customers.services import reference
from ..extensions import db
from ..org.models import Staff, Store
from ..permissions import Operation, ensure
from ..timeutil import local_today, to_local, utcnow
from .models import Activity

PAST = timedelta(days=30)
AHEAD = timedelta(days=365)


def appointments_ics(actor: Staff, store: Store, language: str) -> bytes:
    """The actor's activities from a month ago to a year ahead, as .ics bytes.

    Times carry the store's zone (TZID with its VTIMEZONE), so a calendar
    application shows exactly the wall-clock times the store's screens show.
    """
    ensure(actor, Operation.VIEW_CUSTOMER)
    ref = reference(actor.legal_entity_id)
    now = utcnow()
    today = local_today(store.time_zone)
    found = db.session.scalars(
        sa.select(Activity)
        .options(joinedload(Activity.customer))
        .where(
            Activity.author_id == actor.id,
            Activity.status != "cancelled",
            sa.or_(
                sa.and_(
                    Activity.starts_at >= now - PAST, Activity.starts_at < now + AHEAD
                ),
                sa.and_(
                    Activity.on_date >= today - PAST, Activity.on_date < today + AHEAD
                ),
            ),
        )
        .order_by(Activity.id)
    ).all()

    calendar = Calendar()
    calendar.add("prodid", "-//storeserver//clienteling//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{store.name} — {actor.name}")
    for activity in found:
        kind = ref.activity_types.get(activity.type_id)
        label = (kind.label.get(language) or kind.label.get("en")) if kind else ""
        event = Event()
        event.add("uid", f"{activity.uid}@storeserver")
        event.add("summary", f"{label}: {activity.subject} — {activity.customer.name}")
        if activity.description:
            event.add("description", activity.description)
        if activity.on_date is not None:
            event.add("dtstart", activity.on_date)
            event.add("dtend", activity.on_date + timedelta(days=1))
        else:
            event.add("dtstart", to_local(activity.starts_at, store.time_zone))
            if activity.ends_at:
                event.add("dtend", to_local(activity.ends_at, store.time_zone))
        event.add("dtstamp", activity.updated_at.replace(tzinfo=UTC))
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
