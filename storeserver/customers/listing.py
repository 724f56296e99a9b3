"""One page of a filtered list of customers, as the client book and store book show."""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from .filters import Filters, apply
from .models import Customer


@dataclass
class Listing:
    customers: list[Customer]
    total: int  # matching the filter
    held_total: int  # in the list without the filter
    page: int
    pages: int


def count(stmt: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))


def listing(
    members: sa.Select, filters: Filters, legal_entity_id: str, page: int, size: int
) -> Listing:
    """Filter a select of customers, count it, and fetch one page ordered by name."""
    held_total = count(members)
    matching = apply(members, filters, legal_entity_id)
    total = count(matching) if filters.active else held_total
    pages = max(1, math.ceil(total / size))
    page = min(max(1, page), pages)
    customers = db.session.scalars(
        matching.order_by(Customer.sort_name, Customer.id)
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return Listing(list(customers), total, held_total, page, pages)
