"""Important dates: the next birthday or anniversary of each customer.

Values come from the date (`YYYY-MM-DD`) and yearless-date (`--MM-DD`)
attributes. The next occurrence is on or after the store's local today,
rolling into next year when this year's has passed; 29 February is observed
on 28 February in common years. The bound of "within N days" is inclusive.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ..extensions import db
from .models import AttributeValue
from .services import AttributeDef, Reference


@dataclass(frozen=True)
class Occasion:
    attribute: AttributeDef
    on: date  # the next occurrence, a local date
    days_away: int
    years: int | None  # how many years it marks, when the year is known


def _observed(year: int, month: int, day: int) -> date:
    if (month, day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def next_occurrence(value: str, today: date) -> tuple[date, int | None]:
    """The next date (today included) a stored date value comes round."""
    if value.startswith("--"):
        born, month, day = None, int(value[2:4]), int(value[5:7])
    else:
        original = date.fromisoformat(value)
        born, month, day = original.year, original.month, original.day
    upcoming = _observed(today.year, month, day)
    if upcoming < today:
        upcoming = _observed(today.year + 1, month, day)
    return upcoming, (upcoming.year - born if born is not None else None)


def occasions(
    customer_ids: sa.Select | list[str], ref: Reference, today: date, within: int
) -> dict[str, list[Occasion]]:
    """Each customer's important dates from today to today + `within` days.

    `customer_ids` is a select of customer ids (or a list). Customers with none
    in range are left out; each customer's list is soonest first.
    """
    attributes = {a.id: a for a in ref.date_attributes}
    if not attributes:
        return {}
    rows = db.session.execute(
        sa.select(
            AttributeValue.customer_id,
            AttributeValue.attribute_id,
            AttributeValue.value,
        ).where(
            AttributeValue.legal_entity_id == ref.legal_entity_id,
            AttributeValue.attribute_id.in_(list(attributes)),
            AttributeValue.customer_id.in_(customer_ids),
        )
    )
    found: dict[str, list[Occasion]] = defaultdict(list)
    for customer_id, attribute_id, value in rows:
        try:
            on, years = next_occurrence(value, today)
        except ValueError:
            continue
        away = (on - today).days
        if away <= within and (years is None or years >= 0):
            found[customer_id].append(
                Occasion(attributes[attribute_id], on, away, years)
            )
    for listed in found.values():
        listed.sort(key=lambda o: (o.days_away, o.attribute.display_order))
    return dict(found)
