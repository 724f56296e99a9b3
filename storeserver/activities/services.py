"""Activities with customers: logging, editing, closing, and reading them back.

Times are entered in the store's wall-clock time and stored as UTC instants,
converted with the zone's rules for that very date; all-day activities are
stored as dates. Every change writes an outbox row in its own transaction.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from ..customers.models import Customer
from ..customers.services import reference
from ..errors import DomainError, InvalidInput, NotAllowed, NotFound
from ..extensions import db
from ..org.models import Staff, Store
from ..permissions import Operation, ensure
from ..sync.outbox import enqueue
from ..text import clean_text
from ..timeutil import NonexistentLocalTime, local_to_utc, to_local, utcnow
from .models import ACTIVITY_STATUSES, Activity

logger = logging.getLogger(__name__)

DEFAULT_LENGTH = timedelta(minutes=30)


class ActivityConflict(DomainError):
    status = 409


@dataclass
class ActivityInput:
    """What the associate entered, in the store's local time."""

    type_id: str
    subject: str
    description: str = ""
    all_day: bool = False
    day: date | None = None
    start: time | None = None
    end: time | None = None
    status: str = "planned"
    token: str = ""


def customer_of(actor: Staff, customer_id: str) -> Customer:
    """A customer of the actor's legal entity whose details the actor may see."""
    ensure(actor, Operation.VIEW_CUSTOMER, customer_id)
    customer = db.session.get(Customer, customer_id)
    if customer is None or customer.legal_entity_id != actor.legal_entity_id:
        raise NotFound(_("This customer is not known in this store."))
    return customer


FIRST_YEAR, LAST_YEAR = 1970, 2999


def _when(store: Store, data: ActivityInput, appointment: bool) -> dict:
    """The stored form of the activity's time: dates or UTC instants.

    Start and end are compared as wall-clock times; an end left empty is half
    an hour after the start, at the latest 23:59 the same day.
    """
    if data.day is None:
        raise InvalidInput(_("Give the activity a date."))
    if not FIRST_YEAR <= data.day.year <= LAST_YEAR:
        raise InvalidInput(
            _(
                "Choose a date between %(first)d and %(last)d.",
                first=FIRST_YEAR,
                last=LAST_YEAR,
            )
        )
    if appointment and (data.all_day or data.start is None):
        raise InvalidInput(_("An appointment needs a start time."))
    if data.all_day or data.start is None:
        return {"on_date": data.day, "starts_at": None, "ends_at": None}

    start = data.start.replace(second=0, microsecond=0)
    end = data.end.replace(second=0, microsecond=0) if data.end else None
    if end is None:
        wall = datetime.combine(data.day, start) + DEFAULT_LENGTH
        end = wall.time() if wall.date() == data.day else time(23, 59)
    if end <= start:
        raise InvalidInput(_("The end time must be after the start time."))
    try:
        starts = local_to_utc(data.day, start, store.time_zone)
        ends = local_to_utc(data.day, end, store.time_zone)
    except NonexistentLocalTime as exc:
        raise InvalidInput(
            _("This time does not exist on that day: the clocks go forward.")
        ) from exc
    return {"on_date": None, "starts_at": starts, "ends_at": max(ends, starts)}


def _check(data: ActivityInput) -> None:
    data.subject = clean_text(data.subject)
    data.description = clean_text(data.description)
    if not data.subject.strip():
        raise InvalidInput(_("Give the activity a subject."))
    if data.status not in ACTIVITY_STATUSES:
        raise InvalidInput(_("Choose a status."))


def create_activity(
    actor: Staff, store: Store, customer_id: str, data: ActivityInput
) -> Activity:
    """Log an activity with a customer; the form's token makes a resend harmless."""
    customer = customer_of(actor, customer_id)
    existing = _sent_before(data.token, actor, customer.id)
    if existing is not None:
        return existing

    ref = reference(actor.legal_entity_id)
    kind = ref.activity_types.get(data.type_id)
    if kind is None or not kind.active:
        raise InvalidInput(_("Choose one of the activity types offered."))
    _check(data)
    now = utcnow()
    activity = Activity(
        uid=data.token or _token(),
        legal_entity_id=actor.legal_entity_id,
        store_id=store.id,
        customer_id=customer.id,
        type_id=kind.id,
        author_id=actor.id,
        subject=data.subject.strip()[:200],
        description=data.description.strip(),
        status=data.status,
        created_at=now,
        updated_at=now,
        **_when(store, data, kind.appointment),
    )
    db.session.add(activity)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # The same form sent twice at once: the other request saved it.
        db.session.rollback()
        existing = _sent_before(data.token, actor, customer.id)
        if existing is None:
            raise
        return existing
    enqueue("activity.create", payload(activity))
    db.session.commit()
    logger.info(
        "%s logged activity %s (%s) for customer %s",
        actor.id,
        activity.id,
        kind.code,
        customer.id,
    )
    return activity


def _sent_before(token: str, actor: Staff, customer_id: str) -> Activity | None:
    """The activity this form already saved, if it did (a double submit)."""
    if not token:
        return None
    existing = db.session.scalar(sa.select(Activity).where(Activity.uid == token))
    if existing is None:
        return None
    if existing.author_id != actor.id or existing.customer_id != customer_id:
        raise InvalidInput(_("This form was already used. Reload the page."))
    return existing


def _token() -> str:
    return uuid.uuid4().hex


def _own(actor: Staff, activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.legal_entity_id != actor.legal_entity_id:
        raise NotFound(_("This activity does not exist."))
    ensure(actor, Operation.VIEW_CUSTOMER, activity.customer_id)
    if activity.author_id != actor.id:
        logger.info(
            "refused editing activity %s to %s: not the author", activity.id, actor.id
        )
        raise NotAllowed(
            message=_(
                "Only %(name)s, who logged it, may change this activity.",
                name=activity.author.name,
            )
        )
    return activity


def get_activity(actor: Staff, activity_id: int) -> Activity:
    """An activity the actor may change."""
    return _own(actor, activity_id)


def update_activity(
    actor: Staff, store: Store, activity_id: int, data: ActivityInput, version: int
) -> Activity:
    """Change an activity the actor logged, unless someone changed it meanwhile."""
    activity = _own(actor, activity_id)
    if version != activity.version:
        raise ActivityConflict(
            _("This activity was changed on another device. Reload it and try again.")
        )
    ref = reference(actor.legal_entity_id)
    kind = ref.activity_types.get(data.type_id)
    # A retired type may stay on the activity that has it, not be newly chosen.
    if kind is None or (not kind.active and kind.id != activity.type_id):
        raise InvalidInput(_("Choose one of the activity types offered."))
    _check(data)

    for name, value in _when(store, data, kind.appointment).items():
        setattr(activity, name, value)
    activity.type_id = kind.id
    activity.subject = data.subject.strip()[:200]
    activity.description = data.description.strip()
    activity.status = data.status
    activity.version += 1
    activity.updated_at = utcnow()
    enqueue("activity.update", payload(activity))
    db.session.commit()
    logger.info("%s changed activity %s", actor.id, activity.id)
    return activity


def set_status(actor: Staff, activity_id: int, status: str) -> Activity:
    """Mark an activity done, cancelled, or planned again."""
    activity = _own(actor, activity_id)
    if status not in ACTIVITY_STATUSES:
        raise InvalidInput(_("Choose a status."))
    if activity.status == status:
        return activity
    activity.status = status
    activity.version += 1
    activity.updated_at = utcnow()
    enqueue("activity.update", payload(activity))
    db.session.commit()
    logger.info("%s marked activity %s %s", actor.id, activity.id, status)
    return activity


def customer_activities(actor: Staff, customer_id: str) -> list[Activity]:
    """A customer's activities, newest first, for every associate who may see them."""
    customer_of(actor, customer_id)
    return db.session.scalars(
        sa.select(Activity)
        .options(joinedload(Activity.type), joinedload(Activity.author))
        .where(Activity.customer_id == customer_id)
        .order_by(
            sa.func.coalesce(Activity.starts_at, Activity.on_date).desc(),
            Activity.id.desc(),
        )
        .limit(200)
    ).all()


def payload(activity: Activity) -> dict:
    """What HQ receives about an activity."""
    return {
        "uid": activity.uid,
        "customer": activity.customer_id,
        "type": activity.type_id,
        "author": activity.author_id,
        "store": activity.store_id,
        "subject": activity.subject,
        "description": activity.description,
        "status": activity.status,
        "date": activity.on_date.isoformat() if activity.on_date else None,
        "starts_at": _z(activity.starts_at),
        "ends_at": _z(activity.ends_at),
        "version": activity.version,
    }


def _z(instant: datetime | None) -> str | None:
    return instant.isoformat() + "Z" if instant else None


def local_input(activity: Activity, store: Store) -> ActivityInput:
    """An activity as the form shows it: in the store's wall-clock time."""
    if activity.on_date is not None:
        day, start, end = activity.on_date, None, None
    else:
        starts = to_local(activity.starts_at, store.time_zone)
        ends = to_local(activity.ends_at, store.time_zone) if activity.ends_at else None
        day, start, end = starts.date(), starts.time(), ends.time() if ends else None
    return ActivityInput(
        type_id=activity.type_id,
        subject=activity.subject,
        description=activity.description,
        all_day=activity.on_date is not None,
        day=day,
        start=start,
        end=end,
        status=activity.status,
        token=activity.uid,
    )
