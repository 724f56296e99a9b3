"""Book filters: a keyword and conditions on refinable attributes.

The filter lives in the URL so that it can be bookmarked and the back button
works: `q` is the keyword, `a.<attribute>` a value (repeated for several
values, which are OR-ed), `a.<attribute>.min`/`.max` a range for numbers and
`.from`/`.to` for dates. Conditions on different attributes are AND-ed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from ..errors import InvalidInput
from .models import AttributeValue, Customer
from .services import AttributeDef, Reference
from .text import search_terms

CHOICE_TYPES = ("single_choice", "multi_choice", "boolean")


@dataclass
class Condition:
    attribute: AttributeDef
    values: list[str] = field(default_factory=list)
    low: str | None = None
    high: str | None = None


UPCOMING_CHOICES = (7, 14, 30, 60, 90)


@dataclass
class Filters:
    q: str = ""
    conditions: dict[str, Condition] = field(default_factory=dict)
    # "Birthday or anniversary within N days", N counted from the store's today.
    upcoming: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.q or self.conditions or self.upcoming is not None)

    def selected(self, attribute_id: str) -> list[str]:
        condition = self.conditions.get(attribute_id)
        return condition.values if condition else []

    def bound(self, attribute_id: str, which: str) -> str:
        condition = self.conditions.get(attribute_id)
        if condition is None:
            return ""
        return (condition.low if which == "low" else condition.high) or ""

    def to_args(self) -> MultiDict:
        """The query arguments that reproduce this filter (for links)."""
        args: MultiDict = MultiDict()
        if self.q:
            args.add("q", self.q)
        if self.upcoming is not None:
            args.add("upcoming", str(self.upcoming))
        for attribute_id, condition in self.conditions.items():
            for value in condition.values:
                args.add(f"a.{attribute_id}", value)
            low, high = _bound_names(condition.attribute)
            if condition.low:
                args.add(f"a.{attribute_id}.{low}", condition.low)
            if condition.high:
                args.add(f"a.{attribute_id}.{high}", condition.high)
        return args


def _bound_names(attribute: AttributeDef) -> tuple[str, str]:
    return ("from", "to") if attribute.type == "date" else ("min", "max")


def parse(args: MultiDict, ref: Reference) -> Filters:
    """Read a filter from query arguments; unknown attributes are ignored."""
    q = (args.get("q") or "").strip()[:200]
    # Punctuation alone finds nothing in particular: it is no filter at all.
    filters = Filters(q=q if search_terms(q) else "")
    filters.upcoming = _upcoming(args.get("upcoming"), ref)
    for attribute in ref.refinable:
        prefix = f"a.{attribute.id}"
        condition = Condition(attribute)
        if attribute.type in CHOICE_TYPES or attribute.type == "text":
            condition.values = [v for v in args.getlist(prefix) if v.strip()]
        if attribute.type in ("integer", "decimal", "date"):
            low_name, high_name = _bound_names(attribute)
            condition.low = _bound(attribute, args.get(f"{prefix}.{low_name}"))
            condition.high = _bound(attribute, args.get(f"{prefix}.{high_name}"))
        if condition.values or condition.low or condition.high:
            filters.conditions[attribute.id] = condition
    return filters


def _upcoming(raw: str | None, ref: Reference) -> int | None:
    raw = (raw or "").strip()
    if not raw or not ref.date_attributes:
        return None
    try:
        within = int(raw)
    except ValueError:
        within = -1
    if not 0 <= within <= 366:
        raise InvalidInput(
            _l(
                "Upcoming dates are counted in days, from 0 to 366, not %(value)s.",
                value=raw,
            )
        )
    return within


def _bound(attribute: AttributeDef, raw: str | None) -> str | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        if attribute.type == "date":
            date.fromisoformat(raw)
        else:
            float(raw.replace(",", "."))
    except ValueError as exc:
        language = get_locale().language
        label = (
            attribute.label.get(language) or attribute.label.get("en") or attribute.id
        )
        message = (
            _l(
                "%(value)s is not a date (YYYY-MM-DD) for %(attribute)s.",
                value=raw,
                attribute=label,
            )
            if attribute.type == "date"
            else _l(
                "%(value)s is not a number for %(attribute)s.",
                value=raw,
                attribute=label,
            )
        )
        raise InvalidInput(message) from exc
    return raw.replace(",", ".") if attribute.type != "date" else raw


def apply(
    stmt: sa.Select,
    filters: Filters,
    legal_entity_id: str,
    customer_id: sa.ColumnElement | None = None,
) -> sa.Select:
    """Narrow a select of customers to those matching the filter."""
    return with_attributes(
        with_keyword(stmt, filters), filters, legal_entity_id, customer_id
    )


def with_keyword(stmt: sa.Select, filters: Filters) -> sa.Select:
    """Narrow a select of customers to those matching the keyword."""
    for term in search_terms(filters.q):
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Customer.search_text.like(f"%{escaped}%", escape="\\"))
    return stmt


def with_attributes(
    stmt: sa.Select,
    filters: Filters,
    legal_entity_id: str,
    customer_id: sa.ColumnElement | None = None,
) -> sa.Select:
    """Narrow a select holding customer ids to those matching the attribute conditions.

    Each condition is a correlated EXISTS on the filter index, so the database
    walks the (small) list it narrows and probes the index for each customer,
    rather than first collecting every customer of the legal entity holding
    the value. `customer_id` is the column the conditions are matched on
    (Customer.id by default): a membership's customer id lets the database
    test a condition before it reads the customer row, or inside a subquery
    of memberships.
    """
    customer_id = Customer.id if customer_id is None else customer_id
    for attribute_id, condition in filters.conditions.items():
        matching = [
            AttributeValue.legal_entity_id == legal_entity_id,
            AttributeValue.attribute_id == attribute_id,
        ]
        attribute = condition.attribute
        if attribute.type == "text":
            for value in condition.values:
                escaped = value.replace("\\", "\\\\").replace("%", "\\%")
                matching.append(AttributeValue.value.ilike(f"%{escaped}%", escape="\\"))
        elif condition.values:
            # Exact values only: "Bags" never matches "Bags & belts".
            matching.append(AttributeValue.value.in_(condition.values))
        if attribute.type in ("integer", "decimal"):
            if condition.low:
                matching.append(AttributeValue.number >= float(condition.low))
            if condition.high:
                matching.append(AttributeValue.number <= float(condition.high))
        if attribute.type == "date":
            if condition.low:
                matching.append(AttributeValue.value >= condition.low)
            if condition.high:
                matching.append(AttributeValue.value <= condition.high)
        # Selecting an indexed column keeps the probe inside the index.
        stmt = stmt.where(
            sa.select(AttributeValue.customer_id)
            .where(AttributeValue.customer_id == customer_id, *matching)
            .exists()
        )
    return stmt
