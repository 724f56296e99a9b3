"""One page of a filtered list of customers, as the client book and store book show."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import sqlalchemy as sa

from ..extensions import db
from .dates import Occasion, occasions
from .filters import Filters, apply
from .models import Customer
from .services import Reference
from .text import display_name, initials


class Listed(NamedTuple):
    """What a page of customers holds of each: what its card shows.

    Plain rows rather than ORM entities: a page of fifty loads without the
    identity map and change tracking it never uses.
    """

    id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    # The analytics service knows customers by account; links and lists
    # follow consent.
    account_number: str
    consent_email: bool | None
    consent_phone: bool | None

    @property
    def name(self) -> str:
        return display_name(self.first_name, self.last_name)

    @property
    def initials(self) -> str:
        return initials(self.first_name, self.last_name)


LISTED = (
    Customer.id,
    Customer.first_name,
    Customer.last_name,
    Customer.email,
    Customer.phone,
    Customer.account_number,
    Customer.consent_email,
    Customer.consent_phone,
)


@dataclass
class Listing:
    customers: list[Listed]
    total: int  # matching the filter
    held_total: int  # in the list without the filter
    page: int
    pages: int
    # With the upcoming-dates filter: each shown customer's dates in range.
    occasions: dict[str, list[Occasion]] = field(default_factory=dict)


def count(stmt: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))


def listing(
    members: sa.Select,
    filters: Filters,
    ref: Reference,
    page: int,
    size: int,
    today: date | None = None,
    customer_id: sa.ColumnElement | None = None,
    matching: sa.Select | None = None,
) -> Listing:
    """Filter a select of customers, count it, and fetch one page.

    Ordered by name; with the upcoming-dates filter, by days away (then name),
    counted from `today`, the store's local date. `customer_id` is the
    column filters are matched on (see `filters.with_attributes`); a caller
    that narrows its list its own way passes the filtered select as `matching`.
    """
    held_total = count(members)
    if matching is None:
        matching = apply(members, filters, ref.legal_entity_id, customer_id)
    if filters.upcoming is not None and today is not None:
        return _by_days_away(
            matching, filters.upcoming, ref, page, size, today, held_total
        )

    total = count(matching) if filters.active else held_total
    pages = max(1, math.ceil(total / size))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        matching.with_only_columns(*LISTED)
        .order_by(Customer.sort_name, Customer.id)
        .limit(size)
        .offset((page - 1) * size)
    )
    return Listing([Listed(*row) for row in rows], total, held_total, page, pages)


def _by_days_away(matching, within, ref, page, size, today, held_total) -> Listing:
    ids = matching.with_only_columns(Customer.id).order_by(None)
    found = occasions(ids, ref, today, within)
    names = (
        dict(
            db.session.execute(
                sa.select(Customer.id, Customer.sort_name).where(
                    Customer.id.in_(list(found))
                )
            ).all()
        )
        if found
        else {}
    )
    ordered = sorted(found, key=lambda c: (found[c][0].days_away, names.get(c, ""), c))
    total = len(ordered)
    pages = max(1, math.ceil(total / size))
    page = min(max(1, page), pages)
    shown = ordered[(page - 1) * size : page * size]
    by_id = {
        row.id: Listed(*row)
        for row in db.session.execute(sa.select(*LISTED).where(Customer.id.in_(shown)))
    }
    customers = [by_id[c] for c in shown if c in by_id]
    return Listing(
        customers, total, held_total, page, pages, {c: found[c] for c in shown}
    )
