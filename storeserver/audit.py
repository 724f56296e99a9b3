"""The audit trail of book changes, kept in the database."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .timeutil import utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_customer", "customer_id", "at"),
        sa.Index("ix_audit_event_at", "at"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime)
    actor_id: Mapped[str | None] = mapped_column(sa.String(40))
    # "book.add", "book.remove", "book.reassign", "login", "login.failed", ...
    action: Mapped[str] = mapped_column(sa.String(40))
    customer_id: Mapped[str | None] = mapped_column(sa.String(40))
    book_id: Mapped[str | None] = mapped_column(sa.String(40))
    from_book_id: Mapped[str | None] = mapped_column(sa.String(40))
    batch_id: Mapped[str | None] = mapped_column(sa.String(40))
    details: Mapped[dict | None] = mapped_column(sa.JSON)


def record(action: str, actor_id: str | None, **fields) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    event = AuditEvent(at=utcnow(), action=action, actor_id=actor_id, **fields)
    db.session.add(event)
    return event
