"""Reading customers: reference data, customer cards, and the customer page."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import g, has_request_context
from flask_babel import format_date, format_decimal, format_percent, get_locale
from flask_babel import gettext as _

from ..activities.models import ActivityType
from ..book.models import ClientBook, Membership
from ..cache import generation, get_cache
from ..errors import NotFound
from ..extensions import db
from ..insights import services as insights
from ..insights.client import Connection
from ..insights.models import InsightsSettings, InsightsState
from ..org.models import ClientelingSettings, Staff
from ..permissions import Operation, ensure
from .models import (
    Attribute,
    AttributeGroup,
    AttributeValue,
    Customer,
    Measure,
    MeasureValue,
)

logger = logging.getLogger(__name__)

CARD_SLOTS = 3


@dataclass(frozen=True)
class AttributeDef:
    id: str
    label: dict
    type: str
    refinable: bool
    display_order: int
    allowed_values: tuple[str, ...]
    value_labels: dict

    def value_label(self, value: str) -> str:
        """What an HQ value reads as in the current language."""
        labels = self.value_labels.get(value)
        if not labels:
            return value
        return labels.get(get_locale().language) or value


@dataclass(frozen=True)
class MeasureDef:
    id: str
    label: dict
    format: str


@dataclass(frozen=True)
class ActivityTypeDef:
    id: str
    code: str
    label: dict
    appointment: bool
    active: bool


@dataclass(frozen=True)
class Reference:
    """A legal entity's clienteling setup, as cards and filters need it."""

    legal_entity_id: str
    exclusive: bool
    number_sequence_id: str | None
    attributes: tuple[AttributeDef, ...]
    measures: dict[str, MeasureDef]
    card_measures: tuple[str, ...]
    # False when HQ switched the analytics integration off or the store's last
    # validation failed: the measure slots then show attributes.
    measures_on: bool
    # Set when cards ask the analytics service live (else nightly values).
    live: Connection | None
    # Every type HQ sent, retired ones included: old activities keep their label.
    activity_types: dict[str, ActivityTypeDef]

    @property
    def offered_types(self) -> list[ActivityTypeDef]:
        """The activity types an associate may choose today."""
        return [t for t in self.activity_types.values() if t.active]

    @property
    def date_attributes(self) -> tuple[AttributeDef, ...]:
        """The attributes holding a date or a yearless date (birthdays...)."""
        return tuple(a for a in self.attributes if a.type in ("date", "yearless_date"))

    @property
    def refinable(self) -> tuple[AttributeDef, ...]:
        return tuple(a for a in self.attributes if a.refinable)

    def attribute(self, attribute_id: str) -> AttributeDef | None:
        return next((a for a in self.attributes if a.id == attribute_id), None)


def reference(legal_entity_id: str) -> Reference:
    """The legal entity's setup, from the cache.

    The cache key carries the reference generation, which every HQ pull and
    every store IT flush raises in the database: a pull run by another
    process (cron, the CLI) is seen at once, not when the cache expires.
    """
    key = f"reference:{legal_entity_id}:{generation()}"
    # A request asks more than once (the route, then the service): the cache
    # serialises its values, so the copy read first is kept for the request.
    held = g.setdefault("references", {}) if has_request_context() else {}
    found = held.get(key)
    if found is None:
        cache = get_cache()
        found = cache.get(key)
        if found is None:
            found = _load_reference(legal_entity_id)
            cache.set(key, found)
        held[key] = found
    return found


def _load_reference(legal_entity_id: str) -> Reference:
    settings = db.session.get(ClientelingSettings, legal_entity_id)
    attributes: tuple[AttributeDef, ...] = ()
    if settings is not None and settings.attribute_group_id:
        rows = db.session.scalars(
            sa.select(Attribute)
            .join(AttributeGroup, Attribute.group_id == AttributeGroup.id)
            .where(Attribute.group_id == settings.attribute_group_id, Attribute.active)
            .order_by(Attribute.display_order, Attribute.id)
        )
        attributes = tuple(
            AttributeDef(
                id=a.id,
                label=dict(a.label or {}),
                type=a.type,
                refinable=a.refinable,
                display_order=a.display_order,
                allowed_values=tuple(a.allowed_values or ()),
                value_labels=dict(a.value_labels or {}),
            )
            for a in rows
        )
    measures = {
        m.id: MeasureDef(id=m.id, label=dict(m.label or {}), format=m.format)
        for m in db.session.scalars(
            sa.select(Measure).where(
                Measure.legal_entity_id == legal_entity_id, Measure.active
            )
        )
    }
    analytics = db.session.get(InsightsSettings, legal_entity_id)
    on = insights.measures_on(analytics, db.session.get(InsightsState, legal_entity_id))
    # HQ's analytics settings, when they name measures, say which the card
    # shows and in what order; otherwise the clienteling settings do.
    chosen = list(analytics.fields) if analytics and analytics.fields else None
    if chosen is None:
        chosen = (settings.card_measures if settings else None) or []
    card_measures = tuple(m for m in chosen if m in measures)[:CARD_SLOTS]
    activity_types = {
        t.id: ActivityTypeDef(
            id=t.id,
            code=t.code,
            label=dict(t.label or {}),
            appointment=t.appointment,
            active=t.active,
        )
        for t in db.session.scalars(
            sa.select(ActivityType)
            .where(ActivityType.legal_entity_id == legal_entity_id)
            .order_by(ActivityType.code)
        )
    }
    return Reference(
        activity_types=activity_types,
        legal_entity_id=legal_entity_id,
        exclusive=settings.exclusive if settings is not None else True,
        number_sequence_id=settings.number_sequence_id if settings else None,
        attributes=attributes,
        measures=measures,
        card_measures=card_measures if on else (),
        measures_on=on,
        live=insights.live_connection(legal_entity_id) if card_measures else None,
    )


# -- customer cards ----------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    kind: str  # "measure" or "attribute"
    id: str
    label: dict
    value: str | None  # formatted for the current locale; None when unknown
    # Measures: when the value was computed, and whether it came live.
    as_of: datetime | None = None
    live: bool = False


@dataclass(frozen=True)
class Card:
    id: str
    name: str
    initials: str
    email: str | None
    phone: str | None
    slots: tuple[Slot, ...]
    # Whether HQ says the customer consented to e-mail / calls.
    email_ok: bool = False
    phone_ok: bool = False


def card_slots(ref: Reference) -> list[MeasureDef | AttributeDef]:
    """What the card's three slots show: configured measures, then attributes.

    Measures come first (up to three, in the configured order); attributes of
    the client-book attribute group fill the remaining slots by display order.
    """
    measures = [ref.measures[m] for m in ref.card_measures][:CARD_SLOTS]
    attributes = list(ref.attributes[: CARD_SLOTS - len(measures)])
    return [*measures, *attributes]


def cards(customers, ref: Reference) -> list[Card]:
    """Cards for a page of customers, in two queries whatever the page size.

    A customer is anything with its id, name, initials, e-mail and phone: an
    entity or a row of a listing.
    """
    slots = card_slots(ref)
    ids = [c.id for c in customers]
    attribute_ids = [s.id for s in slots if isinstance(s, AttributeDef)]
    measure_ids = [s.id for s in slots if isinstance(s, MeasureDef)]

    values: dict[tuple[str, str], list[str]] = defaultdict(list)
    if ids and attribute_ids:
        rows = db.session.execute(
            sa.select(
                AttributeValue.customer_id,
                AttributeValue.attribute_id,
                AttributeValue.value,
            )
            .where(
                AttributeValue.customer_id.in_(ids),
                AttributeValue.attribute_id.in_(attribute_ids),
            )
            .order_by(AttributeValue.id)
        )
        for customer_id, attribute_id, value in rows:
            values[(customer_id, attribute_id)].append(value)

    measured: dict[tuple[str, str], tuple[str, datetime | None, bool]] = {}
    if ids and measure_ids:
        rows = db.session.execute(
            sa.select(
                MeasureValue.customer_id,
                MeasureValue.measure_id,
                MeasureValue.value,
                MeasureValue.as_of,
            ).where(
                MeasureValue.customer_id.in_(ids),
                MeasureValue.measure_id.in_(measure_ids),
            )
        )
        measured = {(c, m): (v, as_of, False) for c, m, v, as_of in rows}
        if ref.live is not None:
            measured.update(_live(ref.live, customers))

    result = []
    for customer in customers:
        card_slots_ = []
        for slot in slots:
            if isinstance(slot, MeasureDef):
                raw, as_of, live = measured.get((customer.id, slot.id), (None,) * 3)
                shown = format_measure(slot, raw) if raw is not None else None
                card_slots_.append(
                    Slot("measure", slot.id, slot.label, shown, as_of, bool(live))
                )
            else:
                held = values.get((customer.id, slot.id))
                shown = format_attribute(slot, held) if held else None
                card_slots_.append(Slot("attribute", slot.id, slot.label, shown))
        result.append(
            Card(
                id=customer.id,
                name=customer.name,
                initials=customer.initials,
                email=customer.email,
                phone=customer.phone,
                slots=tuple(card_slots_),
                email_ok=customer.consent_email is True
                and bool((customer.email or "").strip()),
                phone_ok=customer.consent_phone is True
                and bool((customer.phone or "").strip()),
            )
        )
    return result


def _live(conn: Connection, customers) -> dict:
    """Live values from the analytics service, where it answered in time."""
    answered = insights.live_values(conn, {c.id: c.account_number for c in customers})
    return {
        (customer_id, measure_id): (raw, as_of, True)
        for customer_id, (values, as_of) in answered.items()
        for measure_id, raw in values.items()
    }


def format_measure(measure: MeasureDef, raw: str) -> str:
    """A measure value as the associate reads it, in the current locale."""
    if measure.format in ("percent", "number"):
        try:
            number = float(raw)
        except ValueError:
            return raw
        if measure.format == "percent":
            return format_percent(number)
        return format_decimal(number)
    return raw


def format_attribute(attribute: AttributeDef, held: list[str]) -> str:
    """Attribute values as the associate reads them, in the current locale."""
    if attribute.type == "boolean":
        return _("Yes") if held[0] == "true" else _("No")
    if attribute.type == "date":
        try:
            return format_date(date.fromisoformat(held[0]), "medium")
        except ValueError:
            return held[0]
    if attribute.type == "yearless_date":
        month, day = int(held[0][2:4]), int(held[0][5:7])
        # A leap year, so that 29 February can be shown.
        return format_date(date(2000, month, day), "d MMMM")
    if attribute.type in ("integer", "decimal"):
        try:
            return format_decimal(float(held[0]))
        except ValueError:
            return held[0]
    return ", ".join(attribute.value_label(value) for value in held)


# -- the customer page ---------------------------------------------------------------


@dataclass
class CustomerDetail:
    customer: Customer
    attributes: list[tuple[AttributeDef, str | None]]
    measures: list[tuple[MeasureDef, str | None, datetime | None, bool]]
    books: list[tuple[ClientBook, Staff]]


def customer_detail(actor: Staff, customer_id: str) -> CustomerDetail:
    """Everything the customer page shows about one customer of the legal entity."""
    ensure(actor, Operation.VIEW_CUSTOMER, customer_id)
    customer = db.session.get(Customer, customer_id)
    if customer is None or customer.legal_entity_id != actor.legal_entity_id:
        raise NotFound(_("This customer is not known in this store."))

    ref = reference(customer.legal_entity_id)
    held: dict[str, list[str]] = defaultdict(list)
    for attribute_id, value in db.session.execute(
        sa.select(AttributeValue.attribute_id, AttributeValue.value)
        .where(AttributeValue.customer_id == customer_id)
        .order_by(AttributeValue.id)
    ):
        held[attribute_id].append(value)
    attributes = [
        (a, format_attribute(a, held[a.id]) if held.get(a.id) else None)
        for a in ref.attributes
    ]

    measure_rows = {
        m.measure_id: m
        for m in db.session.scalars(
            sa.select(MeasureValue).where(MeasureValue.customer_id == customer_id)
        )
    }
    known = {m_id: (row.value, row.as_of, False) for m_id, row in measure_rows.items()}
    if ref.live is not None:
        known.update({m: v for (_c, m), v in _live(ref.live, [customer]).items()})
    measures = []
    for measure in ref.measures.values() if ref.measures_on else ():
        raw, as_of, live = known.get(measure.id, (None, None, False))
        shown = format_measure(measure, raw) if raw is not None else None
        measures.append((measure, shown, as_of, live))

    books = db.session.execute(
        sa.select(ClientBook, Staff)
        .join(Membership, Membership.book_id == ClientBook.id)
        .join(Staff, Staff.id == ClientBook.staff_id)
        .where(Membership.customer_id == customer_id)
        .order_by(Staff.last_name)
    ).all()
    logger.info("%s opened customer %s", actor.id, customer_id)
    return CustomerDetail(customer, attributes, measures, [tuple(b) for b in books])
