"""Client books and their memberships."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class ClientBook(db.Model):
    """An associate's client book in one legal entity."""

    __tablename__ = "client_book"
    __table_args__ = (sa.UniqueConstraint("legal_entity_id", "staff_id"),)

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    staff_id: Mapped[str] = mapped_column(sa.ForeignKey("staff.id"))
    created_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

    owner = relationship("Staff")


class Membership(db.Model):
    """A customer held in a client book."""

    __tablename__ = "membership"
    __table_args__ = (
        sa.UniqueConstraint("book_id", "customer_id"),
        sa.Index("ix_membership_customer", "customer_id", "book_id"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    book_id: Mapped[str] = mapped_column(sa.ForeignKey("client_book.id"))
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customer.id"))
    added_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    added_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("staff.id"))
    # Why: holds customer_id while membership is exclusive and NULL otherwise,
    # because the unique index on it is what stops two concurrent requests from
    # putting one customer in two books; the service check alone cannot.
    sole_customer_id: Mapped[str | None] = mapped_column(sa.String(40), unique=True)

    book = relationship(ClientBook)
    customer = relationship("Customer")
