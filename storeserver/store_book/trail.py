"""The audit trail of book changes in this store, for managers."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from ..audit import AuditEvent
from ..book.models import ClientBook
from ..customers.models import Customer
from ..extensions import db
from ..org.models import Staff, Store
from ..permissions import Operation, ensure
from ..text import spreadsheet_safe
from .services import store_books

BOOK_ACTIONS = ("book.add", "book.remove", "book.reassign")


@dataclass
class TrailFilter:
    associate: str = ""
    date_from: date | None = None
    date_to: date | None = None


@dataclass
class TrailRow:
    event: AuditEvent
    actor: Staff | None
    customer: Customer | None
    from_owner: Staff | None
    to_owner: Staff | None


@dataclass
class TrailPage:
    rows: list[TrailRow]
    total: int
    page: int
    pages: int


def _utc_start(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which a store-local day begins."""
    return datetime.combine(day, time(), zone).astimezone(UTC).replace(tzinfo=None)


def _query(store: Store, wanted: TrailFilter) -> sa.Select:
    actor = aliased(Staff)
    to_book, from_book = aliased(ClientBook), aliased(ClientBook)
    to_owner, from_owner = aliased(Staff), aliased(Staff)
    books = store_books(store)
    stmt = (
        sa.select(AuditEvent, actor, Customer, from_owner, to_owner)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(Customer, Customer.id == AuditEvent.customer_id)
        .outerjoin(to_book, to_book.id == AuditEvent.book_id)
        .outerjoin(to_owner, to_owner.id == to_book.staff_id)
        .outerjoin(from_book, from_book.id == AuditEvent.from_book_id)
        .outerjoin(from_owner, from_owner.id == from_book.staff_id)
        .where(
            AuditEvent.action.in_(BOOK_ACTIONS),
            sa.or_(AuditEvent.book_id.in_(books), AuditEvent.from_book_id.in_(books)),
        )
    )
    if wanted.associate:
        stmt = stmt.where(
            sa.or_(
                AuditEvent.actor_id == wanted.associate,
                to_book.staff_id == wanted.associate,
                from_book.staff_id == wanted.associate,
            )
        )
    zone = ZoneInfo(store.time_zone)
    if wanted.date_from:
        stmt = stmt.where(AuditEvent.at >= _utc_start(wanted.date_from, zone))
    if wanted.date_to:
        day_after = wanted.date_to + timedelta(days=1)
        stmt = stmt.where(AuditEvent.at < _utc_start(day_after, zone))
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def trail_page(actor: Staff, store: Store, wanted: TrailFilter, page: int) -> TrailPage:
    """One page of the store's book changes, newest first."""
    ensure(actor, Operation.VIEW_STORE_BOOK)
    stmt = _query(store, wanted)
    size = current_app.config["PAGE_SIZE"]
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    pages = max(1, math.ceil(total / size))
    page = min(max(1, page), pages)
    rows = db.session.execute(stmt.limit(size).offset((page - 1) * size)).all()
    return TrailPage([_row(*row) for row in rows], total, page, pages)


def _row(event, who, customer, from_owner, to_owner) -> TrailRow:
    # A removal names the book the customer left in `book_id`: it is "from".
    if event.action == "book.remove":
        from_owner, to_owner = to_owner, None
    return TrailRow(event, who, customer, from_owner, to_owner)


def trail_csv(actor: Staff, store: Store, wanted: TrailFilter, labels: dict) -> str:
    """The filtered trail as CSV text, with a BOM so spreadsheets read the accents."""
    ensure(actor, Operation.VIEW_STORE_BOOK)
    zone = ZoneInfo(store.time_zone)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(labels["header"])
    for found in db.session.execute(_query(store, wanted)):
        row = _row(*found)
        event = row.event
        local = event.at.replace(tzinfo=UTC).astimezone(zone)
        writer.writerow(
            [
                local.strftime("%Y-%m-%d %H:%M"),
                labels["actions"].get(event.action, event.action),
                spreadsheet_safe(row.actor.name if row.actor else event.actor_id),
                spreadsheet_safe(event.customer_id),
                spreadsheet_safe(row.customer.name if row.customer else ""),
                spreadsheet_safe(row.from_owner.name if row.from_owner else ""),
                spreadsheet_safe(row.to_owner.name if row.to_owner else ""),
                event.batch_id or "",
            ]
        )
    return out.getvalue()
