"""Legal entities, stores, address books, staff and number sequences."""

from __future__ import annotations

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

store_address_books = sa.Table(
    "store_address_book",
    db.metadata,
    sa.Column("store_id", sa.ForeignKey("store.id"), primary_key=True),
    sa.Column("address_book_id", sa.ForeignKey("address_book.id"), primary_key=True),
)

staff_address_books = sa.Table(
    "staff_address_book",
    db.metadata,
    sa.Column("staff_id", sa.ForeignKey("staff.id"), primary_key=True),
    sa.Column("address_book_id", sa.ForeignKey("address_book.id"), primary_key=True),
    sa.Index("ix_staff_address_book_book", "address_book_id", "staff_id"),
)


class LegalEntity(db.Model):
    __tablename__ = "legal_entity"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))


class NumberSequence(db.Model):
    """Hands out client-book ids for a legal entity: prefix + zero-padded number."""

    __tablename__ = "number_sequence"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    prefix: Mapped[str] = mapped_column(sa.String(20), default="")
    next_value: Mapped[int] = mapped_column(sa.Integer, default=1)
    width: Mapped[int] = mapped_column(sa.Integer, default=6)


class AddressBook(db.Model):
    __tablename__ = "address_book"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    name: Mapped[str] = mapped_column(sa.String(200))


class Store(db.Model):
    __tablename__ = "store"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    default_locale: Mapped[str] = mapped_column(sa.String(10), default="en")

    legal_entity: Mapped[LegalEntity] = relationship()
    address_books: Mapped[list[AddressBook]] = relationship(
        secondary=store_address_books, order_by=AddressBook.id
    )


class Staff(UserMixin, db.Model):
    """A member of staff from HQ; an associate when they work a client book."""

    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    first_name: Mapped[str] = mapped_column(sa.String(100), default="")
    last_name: Mapped[str] = mapped_column(sa.String(100), default="")
    email: Mapped[str | None] = mapped_column(sa.String(200))
    password_hash: Mapped[str | None] = mapped_column(sa.String(300))
    login_enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # Operation codes from HQ ("712", "714", "customer.view", ...).
    operations: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    address_books: Mapped[list[AddressBook]] = relationship(
        secondary=staff_address_books, order_by=AddressBook.id
    )

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def initials(self) -> str:
        return ((self.first_name[:1] + self.last_name[:1]) or "?").upper()

    @property
    def is_active(self) -> bool:
        # Flask-Login refuses inactive accounts; a login disabled at HQ is one.
        return bool(self.login_enabled)

    def may(self, operation) -> bool:
        """Whether this login carries the given operation."""
        return str(operation) in (self.operations or [])


class ClientelingSettings(db.Model):
    """HQ's clienteling setup for a legal entity."""

    __tablename__ = "clienteling_settings"

    legal_entity_id: Mapped[str] = mapped_column(
        sa.ForeignKey("legal_entity.id"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    number_sequence_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("number_sequence.id")
    )
    attribute_group_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("attribute_group.id")
    )
    exclusive: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # Up to three measure ids, in card order.
    card_measures: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
