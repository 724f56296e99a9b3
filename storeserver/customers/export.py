"""Everything the store holds on one customer, for a data request."""

from __future__ import annotations

import logging
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import audit
from ..activities.models import Activity
from ..audit import AuditEvent
from ..book.models import ClientBook, Membership
from ..errors import NotFound
from ..extensions import db
from ..notes.models import Note
from ..org.models import Staff
from ..permissions import Operation, ensure
from ..store_book.models import SelectedCustomer
from ..sync.models import OutboxRow
from .models import Attribute, AttributeValue, Customer, Measure, MeasureValue
from .text import fold

logger = logging.getLogger(__name__)


def find(actor: Staff, text: str, limit: int = 25) -> list[Customer]:
    """Customers of the actor's legal entity by id, account number or name."""
    ensure(actor, Operation.STORE_ADMIN)
    typed = text.strip()
    if not typed:
        return []
    pattern = f"%{fold(typed)}%"
    return db.session.scalars(
        sa.select(Customer)
        .where(
            Customer.legal_entity_id == actor.legal_entity_id,
            sa.or_(
                Customer.id == typed,
                Customer.account_number == typed,
                Customer.search_text.like(pattern),
            ),
        )
        .order_by(Customer.sort_name, Customer.id)
        .limit(limit)
    ).all()


def customer_data(actor: Staff, customer_id: str) -> dict:
    """The customer's card, attributes, measures, books, notes, activities, trail."""
    ensure(actor, Operation.STORE_ADMIN, customer_id)
    customer = db.session.get(Customer, customer_id)
    if customer is None or customer.legal_entity_id != actor.legal_entity_id:
        raise NotFound(_("This customer is not known in this store."))

    attributes = [
        {"attribute": attribute_id, "label": label, "value": value}
        for attribute_id, label, value in db.session.execute(
            sa.select(
                AttributeValue.attribute_id, Attribute.label, AttributeValue.value
            )
            .join(Attribute, Attribute.id == AttributeValue.attribute_id)
            .where(AttributeValue.customer_id == customer_id)
            .order_by(AttributeValue.attribute_id, AttributeValue.id)
        )
    ]
    measures = [
        {
            "measure": row.measure_id,
            "label": label,
            "value": row.value,
            "as_of": row.as_of,
        }
        for row, label in db.session.execute(
            sa.select(MeasureValue, Measure.label)
            .join(Measure, Measure.id == MeasureValue.measure_id)
            .where(MeasureValue.customer_id == customer_id)
            .order_by(MeasureValue.measure_id)
        )
    ]
    books = [
        {
            "book": book.id,
            "owner": book.staff_id,
            "added_at": member.added_at,
            "added_by": member.added_by_id,
        }
        for member, book in db.session.execute(
            sa.select(Membership, ClientBook)
            .join(ClientBook, ClientBook.id == Membership.book_id)
            .where(Membership.customer_id == customer_id)
            .order_by(ClientBook.id)
        )
    ]
    notes = [
        {
            "author": note.author_id,
            "body": note.body,
            "version": note.version,
            "created_at": note.created_at,
            "updated_at": note.updated_at,
            "updated_by": note.updated_by_id,
        }
        for note in db.session.scalars(
            sa.select(Note).where(Note.customer_id == customer_id).order_by(Note.id)
        )
    ]
    activities = [
        {
            "type": activity.type_id,
            "subject": activity.subject,
            "description": activity.description,
            "status": activity.status,
            "date": activity.on_date,
            "starts_at": activity.starts_at,
            "ends_at": activity.ends_at,
            "author": activity.author_id,
            "store": activity.store_id,
            "created_at": activity.created_at,
            "updated_at": activity.updated_at,
            "version": activity.version,
            "uid": activity.uid,
        }
        for activity in db.session.scalars(
            sa.select(Activity)
            .where(Activity.customer_id == customer_id)
            .order_by(Activity.id)
        )
    ]
    events = [
        {
            "at": event.at,
            "action": event.action,
            "by": event.actor_id,
            "book": event.book_id,
            "from_book": event.from_book_id,
            "batch": event.batch_id,
            "details": event.details,
        }
        for event in db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.customer_id == customer_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    ]
    changes = [
        {
            "kind": row.kind,
            "status": row.status,
            "written": row.created_at,
            "sent": row.sent_at,
            "payload": row.payload,
        }
        for row in db.session.scalars(
            sa.select(OutboxRow)
            .where(OutboxRow.payload["customer"].as_string() == customer_id)
            .order_by(OutboxRow.id)
        )
    ]
    selected = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(SelectedCustomer)
        .where(SelectedCustomer.customer_id == customer_id)
    )
    audit.record("customer.export", actor.id, customer_id=customer_id)
    db.session.commit()
    logger.info("%s exported the data held on customer %s", actor.id, customer_id)
    return _plain(
        {
            "customer": {
                "id": customer.id,
                "account_number": customer.account_number,
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "email": customer.email,
                "phone": customer.phone,
                "consent": {
                    "email": customer.consent_email,
                    "phone": customer.consent_phone,
                    "sms": customer.consent_sms,
                },
                "active": customer.active,
                "address_books": sorted(b.id for b in customer.address_books),
            },
            "attributes": attributes,
            "measures": measures,
            "client_books": books,
            "notes": notes,
            "activities": activities,
            "audit_events": events,
            "changes_for_hq": changes,
            "store_book_selections": selected,
        }
    )


def _plain(value):
    """Dates as ISO 8601 text (instants in UTC, with a Z)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return value
