"""Erasing a customer at their request (HQ sends it), and showing all we hold.

Erasure removes everything the store holds on the customer: contact data,
attributes, measures, memberships, notes, activities, the audit events that
name them, and the changes about them still waiting for HQ. Nothing about
the erasure is pushed anywhere: HQ asked for it. One audit event with the
customer's id and the counts records that it happened.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from .. import audit
from ..activities.models import Activity
from ..audit import AuditEvent
from ..book.models import Membership
from ..extensions import db
from ..notes.models import Note
from ..store_book.models import SelectedCustomer
from ..sync.models import OutboxRow
from .models import AttributeValue, Customer, MeasureValue, customer_address_books

logger = logging.getLogger(__name__)


def erase(customer_id: str) -> dict[str, int]:
    """Delete every row about the customer in the current transaction."""
    counts = {}

    def delete(name: str, statement) -> None:
        counts[name] = db.session.execute(statement).rowcount or 0

    delete(
        "selections",
        sa.delete(SelectedCustomer).where(SelectedCustomer.customer_id == customer_id),
    )
    delete(
        "memberships",
        sa.delete(Membership).where(Membership.customer_id == customer_id),
    )
    delete("notes", sa.delete(Note).where(Note.customer_id == customer_id))
    delete("activities", sa.delete(Activity).where(Activity.customer_id == customer_id))
    delete(
        "attribute_values",
        sa.delete(AttributeValue).where(AttributeValue.customer_id == customer_id),
    )
    delete(
        "measure_values",
        sa.delete(MeasureValue).where(MeasureValue.customer_id == customer_id),
    )
    delete(
        "audit_events",
        sa.delete(AuditEvent).where(AuditEvent.customer_id == customer_id),
    )
    delete(
        "changes_for_hq",
        sa.delete(OutboxRow).where(
            OutboxRow.payload["customer"].as_string() == customer_id
        ),
    )
    db.session.execute(
        sa.delete(customer_address_books).where(
            customer_address_books.c.customer_id == customer_id
        )
    )
    db.session.execute(sa.delete(Customer).where(Customer.id == customer_id))
    audit.record("customer.erased", None, customer_id=customer_id, details=counts)
    logger.info(
        "customer %s erased at HQ's request: %s",
        customer_id,
        ", ".join(
            f"{count} {name.replace('_', ' ')}" for name, count in counts.items()
        ),
    )
    return counts
