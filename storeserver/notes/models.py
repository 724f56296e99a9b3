"""Notes on customers, read before each interaction."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Note(db.Model):
    """Free text about a customer. Each edit raises `version`; an edit made on
    an older version is refused, so two devices never overwrite each other."""

    __tablename__ = "note"
    __table_args__ = (sa.Index("ix_note_customer", "customer_id", "created_at"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    # Stable id for HQ; the form's one-time token, so a double submit saves once.
    uid: Mapped[str] = mapped_column(sa.String(40), unique=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customer.id"))
    author_id: Mapped[str] = mapped_column(sa.ForeignKey("staff.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime)
    updated_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("staff.id"))

    author = relationship("Staff", foreign_keys=[author_id])
    updated_by = relationship("Staff", foreign_keys=[updated_by_id])
