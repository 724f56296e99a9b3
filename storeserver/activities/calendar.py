"""The calendar: a day, a week or a month of activities in the store's time zone.

A period is a range of local dates. Timed activities belong to the local date
of their start, found by converting each UTC instant with the zone's rules
(so a week across a clock change lists each appointment once, at its wall
time); all-day activities are matched on their date alone.
"""

from __future__ import annotations

import calendar as pycalendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..org.models import Staff, Store
from ..permissions import Operation, ensure
from ..timeutil import days, local_day_start, local_today, to_local
from .models import Activity

VIEWS = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    view: str
    anchor: date
    start: date  # first local date shown
    end: date  # first local date after the period
    previous: date
    following: date

    @property
    def dates(self) -> list[date]:
        return days(self.start, self.end)


def period(view: str, anchor: date) -> Period:
    """The dates a view shows around an anchor date; weeks start on Monday."""
    if view == "day":
        return Period(
            view,
            anchor,
            anchor,
            anchor + timedelta(days=1),
            anchor - timedelta(days=1),
            anchor + timedelta(days=1),
        )
    if view == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        return Period(
            view,
            anchor,
            monday,
            monday + timedelta(days=7),
            monday - timedelta(days=7),
            monday + timedelta(days=7),
        )
    first = anchor.replace(day=1)
    last = first.replace(day=pycalendar.monthrange(first.year, first.month)[1])
    grid_start = first - timedelta(days=first.weekday())
    grid_end = last + timedelta(days=7 - last.weekday())
    previous = (first - timedelta(days=1)).replace(day=1)
    following = last + timedelta(days=1)
    return Period(view, anchor, grid_start, grid_end, previous, following)


@dataclass
class Item:
    activity: Activity
    day: date
    starts: datetime | None  # local, aware
    ends: datetime | None


def items(
    actor: Staff, store: Store, span: Period, scope: str = "mine"
) -> dict[date, list[Item]]:
    """The activities of a period by local date: mine, or the store's (713)."""
    if scope == "store":
        ensure(actor, Operation.VIEW_STORE_BOOK)
        whose = Activity.store_id == store.id
    else:
        ensure(actor, Operation.VIEW_CUSTOMER)
        whose = Activity.author_id == actor.id

    begins, finishes = (
        local_day_start(span.start, store.time_zone),
        local_day_start(span.end, store.time_zone),
    )
    found = db.session.scalars(
        sa.select(Activity)
        .options(
            joinedload(Activity.customer),
            joinedload(Activity.author),
            joinedload(Activity.type),
        )
        .where(
            whose,
            sa.or_(
                sa.and_(Activity.starts_at >= begins, Activity.starts_at < finishes),
                sa.and_(Activity.on_date >= span.start, Activity.on_date < span.end),
            ),
        )
    ).all()

    by_day: dict[date, list[Item]] = defaultdict(list)
    for activity in found:
        if activity.on_date is not None:
            by_day[activity.on_date].append(
                Item(activity, activity.on_date, None, None)
            )
            continue
        starts = to_local(activity.starts_at, store.time_zone)
        ends = to_local(activity.ends_at, store.time_zone) if activity.ends_at else None
        by_day[starts.date()].append(Item(activity, starts.date(), starts, ends))
    for day_items in by_day.values():
        # All-day items first, then by wall-clock start.
        day_items.sort(
            key=lambda i: (
                i.starts is not None,
                i.starts or datetime.min,
                i.activity.id,
            )
        )
    return by_day


def today_for(store: Store) -> date:
    """The store's current local date."""
    return local_today(store.time_zone)
