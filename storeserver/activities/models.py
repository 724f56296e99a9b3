"""Activity types from HQ, and the activities associates log with customers."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class ActivityType(db.Model):
    __tablename__ = "activity_type"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    code: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    appointment: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)


ACTIVITY_STATUSES = ("planned", "done", "cancelled")


class Activity(db.Model):
    """Something done or planned with a customer: a call, a visit, an appointment.

    A timed activity has `starts_at`/`ends_at` (UTC instants); an all-day one
    has `on_date` (a date, never an instant), so it stays on its day in every
    time zone.
    """

    __tablename__ = "activity"
    __table_args__ = (
        sa.Index("ix_activity_author_start", "author_id", "starts_at"),
        sa.Index("ix_activity_author_date", "author_id", "on_date"),
        sa.Index("ix_activity_store_start", "store_id", "starts_at"),
        sa.Index("ix_activity_store_date", "store_id", "on_date"),
        sa.Index("ix_activity_customer", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    # Stable id for HQ and calendar files; the form's one-time token, so a
    # double submit creates one activity.
    uid: Mapped[str] = mapped_column(sa.String(40), unique=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    store_id: Mapped[str] = mapped_column(sa.ForeignKey("store.id"))
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customer.id"))
    type_id: Mapped[str] = mapped_column(sa.ForeignKey("activity_type.id"))
    author_id: Mapped[str] = mapped_column(sa.ForeignKey("staff.id"))
    subject: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    starts_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    ends_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    on_date: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(10), default="planned")
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime)

    type = relationship(ActivityType)
    customer = relationship("Customer")
    author = relationship("Staff")

    @property
    def all_day(self) -> bool:
        return self.on_date is not None
