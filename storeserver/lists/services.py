"""Who may be called or e-mailed in a filtered book, and who is left out and why.

A customer is on a channel's list only when HQ says they consented to that
channel and they have an address for it. Everyone else the filter matched is
listed as excluded with the reason, so an associate sees why a name is
missing instead of guessing.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..book.models import Membership
from ..book.services import find_book, member_select
from ..customers.filters import Filters
from ..customers.listing import listing
from ..customers.models import Customer
from ..customers.services import reference
from ..org.models import Staff, Store
from ..permissions import Operation, ensure
from ..store_book.services import matching as store_matching
from ..store_book.services import members as store_members
from ..text import spreadsheet_safe
from ..timeutil import local_today

logger = logging.getLogger(__name__)

CHANNELS = ("email", "phone")
SCOPES = {"book": Operation.VIEW_MY_BOOK, "store": Operation.VIEW_STORE_BOOK}
REASONS = {
    "refused": _l("did not consent"),
    "unknown": _l("consent unknown"),
    "no_email": _l("no e-mail address"),
    "no_phone": _l("no phone number"),
}


@dataclass
class ContactList:
    channel: str
    included: list[Customer] = field(default_factory=list)
    excluded: list[tuple[Customer, str]] = field(default_factory=list)
    # Customers the filter matched beyond the list limit: not listed at all.
    beyond_limit: int = 0

    def address(self, customer: Customer) -> str:
        return customer.email if self.channel == "email" else customer.phone


def reachable(customer: Customer, channel: str) -> str | None:
    """None when the customer may be contacted on the channel, else the reason."""
    consent = customer.consent_email if channel == "email" else customer.consent_phone
    if consent is None:
        return "unknown"
    if not consent:
        return "refused"
    address = customer.email if channel == "email" else customer.phone
    if not (address or "").strip():
        return "no_email" if channel == "email" else "no_phone"
    return None


def contact_list(
    actor: Staff,
    store: Store,
    scope: str,
    channel: str,
    filters: Filters,
    owner_filter: list[str] | None = None,
) -> ContactList:
    """Everyone the filter matches in my book (or the store book), split by consent."""
    ensure(actor, SCOPES[scope])
    ref = reference(actor.legal_entity_id)
    if scope == "book":
        book = find_book(actor)
        if book is None:
            return ContactList(channel)
        members = member_select(book)
        narrowed = {"customer_id": Membership.customer_id}
    else:
        members = store_members(store, owner_filter or [])
        narrowed = {"matching": store_matching(store, owner_filter or [], filters)}
    limit = int(current_app.config["LIST_LIMIT"])
    found = listing(
        members, filters, ref, 1, limit, local_today(store.time_zone), **narrowed
    )
    result = ContactList(channel, beyond_limit=max(0, found.total - limit))
    for customer in found.customers:
        reason = reachable(customer, channel)
        if reason is None:
            result.included.append(customer)
        else:
            result.excluded.append((customer, reason))
    return result


def log_export(actor: Staff, scope: str, result: ContactList) -> None:
    logger.info(
        "%s exported the %s list of %d customers from %s (%d left out)",
        actor.id,
        "e-mail" if result.channel == "email" else "call",
        len(result.included),
        "their client book" if scope == "book" else "the store book",
        len(result.excluded),
    )


def to_csv(result: ContactList, headers: list[str]) -> str:
    """The list as CSV, with a BOM so that spreadsheets read the accents."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(headers)
    for customer in result.included:
        writer.writerow(
            [
                spreadsheet_safe(customer.account_number),
                spreadsheet_safe(customer.first_name),
                spreadsheet_safe(customer.last_name),
                spreadsheet_safe(result.address(customer)),
            ]
        )
    return out.getvalue()
