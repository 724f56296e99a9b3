"""Customers, the client-book attribute group, attribute values and measures."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .text import display_name, initials

customer_address_books = sa.Table(
    "customer_address_book",
    db.metadata,
    sa.Column("customer_id", sa.ForeignKey("customer.id"), primary_key=True),
    sa.Column("address_book_id", sa.ForeignKey("address_book.id"), primary_key=True),
    sa.Index("ix_customer_address_book_book", "address_book_id", "customer_id"),
)

ATTRIBUTE_TYPES = (
    "text",
    "single_choice",
    "multi_choice",
    "integer",
    "decimal",
    "boolean",
    "date",
    "yearless_date",
)
MEASURE_FORMATS = ("percent", "number", "text")


class Customer(db.Model):
    __tablename__ = "customer"
    __table_args__ = (
        sa.Index("ix_customer_le_name", "legal_entity_id", "active", "sort_name"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    account_number: Mapped[str] = mapped_column(sa.String(60))
    first_name: Mapped[str] = mapped_column(sa.String(100), default="")
    last_name: Mapped[str] = mapped_column(sa.String(100), default="")
    email: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    # Consent per channel: True, False, or None when HQ does not know.
    consent_email: Mapped[bool | None] = mapped_column(sa.Boolean)
    consent_phone: Mapped[bool | None] = mapped_column(sa.Boolean)
    consent_sms: Mapped[bool | None] = mapped_column(sa.Boolean)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # Folded (lower case, no accents) name, email and phone for keyword search,
    # and the folded name for ordering; both kept by `customers.text`.
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    sort_name: Mapped[str] = mapped_column(sa.String(200), default="")

    address_books = relationship("AddressBook", secondary=customer_address_books)

    @property
    def name(self) -> str:
        return display_name(self.first_name, self.last_name)

    @property
    def initials(self) -> str:
        return initials(self.first_name, self.last_name)


class AttributeGroup(db.Model):
    __tablename__ = "attribute_group"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    name: Mapped[str] = mapped_column(sa.String(200))


class Attribute(db.Model):
    __tablename__ = "attribute"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    group_id: Mapped[str] = mapped_column(sa.ForeignKey("attribute_group.id"))
    label: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    type: Mapped[str] = mapped_column(sa.String(20))
    refinable: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    display_order: Mapped[int] = mapped_column(sa.Integer, default=0)
    allowed_values: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # What an allowed value reads as in each language: {value: {"fr": label}}.
    value_labels: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)


class AttributeValue(db.Model):
    """One value of one attribute for one customer (a multi-choice has several).

    The legal entity is repeated here so that the filter index
    (legal entity, attribute, value, customer) answers a filter on its own.
    """

    __tablename__ = "attribute_value"
    __table_args__ = (
        sa.Index(
            "ix_attribute_value_filter",
            "legal_entity_id",
            "attribute_id",
            "value",
            "customer_id",
        ),
        sa.Index("ix_attribute_value_customer", "customer_id", "attribute_id"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customer.id"))
    attribute_id: Mapped[str] = mapped_column(sa.ForeignKey("attribute.id"))
    value: Mapped[str] = mapped_column(sa.String(400))
    # The value as a number for integer and decimal attributes (range filters).
    number: Mapped[float | None] = mapped_column(sa.Float)


class Measure(db.Model):
    __tablename__ = "measure"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    legal_entity_id: Mapped[str] = mapped_column(sa.ForeignKey("legal_entity.id"))
    label: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    format: Mapped[str] = mapped_column(sa.String(20), default="text")
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)


class MeasureValue(db.Model):
    __tablename__ = "measure_value"

    customer_id: Mapped[str] = mapped_column(
        sa.ForeignKey("customer.id"), primary_key=True
    )
    measure_id: Mapped[str] = mapped_column(
        sa.ForeignKey("measure.id"), primary_key=True
    )
    value: Mapped[str] = mapped_column(sa.String(400))
    as_of: Mapped[datetime | None] = mapped_column(sa.DateTime)
