"""The associate's client book: reading it, adding and removing customers.

Every write checks the operation itself, writes its audit event and its outbox
row in the same transaction as the change, and logs what happened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import audit
from ..customers.dates import occasions
from ..customers.filters import Filters, apply
from ..customers.listing import listing
from ..customers.models import Customer
from ..customers.services import Card, Reference, cards, reference
from ..customers.text import search_terms
from ..errors import AlreadyInAnotherBook, DomainError, InvalidInput
from ..extensions import db
from ..org.models import NumberSequence, Staff
from ..permissions import Operation, ensure
from ..sync.outbox import enqueue
from ..timeutil import utcnow
from .models import ClientBook, Membership

logger = logging.getLogger(__name__)


def find_book(actor: Staff) -> ClientBook | None:
    """The actor's client book in their legal entity, if it exists yet."""
    return db.session.scalar(
        sa.select(ClientBook).where(
            ClientBook.staff_id == actor.id,
            ClientBook.legal_entity_id == actor.legal_entity_id,
        )
    )


def ensure_book(actor: Staff) -> ClientBook:
    """The actor's client book, created with the next number when first needed."""
    book = find_book(actor)
    if book is not None:
        return book

    ref = reference(actor.legal_entity_id)
    if not ref.number_sequence_id:
        raise DomainError(
            _(
                "Your client book cannot be created yet: HQ has not chosen the "
                "number sequence for client books."
            )
        )
    book = ClientBook(
        id=_next_book_id(ref.number_sequence_id),
        legal_entity_id=actor.legal_entity_id,
        staff_id=actor.id,
        created_at=utcnow(),
    )
    db.session.add(book)
    enqueue("book.create", {"book": book.id, "staff": actor.id})
    logger.info("client book %s created for %s", book.id, actor.id)
    return book


def _next_book_id(sequence_id: str) -> str:
    table = NumberSequence.__table__
    while True:
        # One UPDATE ... RETURNING: two requests can never get the same number.
        number = db.session.execute(
            table.update()
            .where(table.c.id == sequence_id)
            .values(next_value=table.c.next_value + 1)
            .returning(table.c.next_value, table.c.prefix, table.c.width)
        ).one()
        candidate = f"{number.prefix}{number.next_value - 1:0{number.width}d}"
        if db.session.get(ClientBook, candidate) is None:
            return candidate


def member_select(book: ClientBook) -> sa.Select:
    """The active customers of a client book."""
    return (
        sa.select(Customer)
        .join(Membership, Membership.customer_id == Customer.id)
        .where(Membership.book_id == book.id, Customer.active)
    )


@dataclass
class BookPage:
    book: ClientBook | None
    cards: list[Card]
    total: int
    page: int
    pages: int
    filters: Filters
    reference: Reference
    held_total: int = 0
    occasions: dict = field(default_factory=dict)


def book_page(
    actor: Staff, filters: Filters, page: int = 1, today: date | None = None
) -> BookPage:
    """One page of the actor's client book, filtered, ordered by name.

    `today` is the store's local date, from which upcoming dates count.
    """
    ensure(actor, Operation.VIEW_MY_BOOK)
    ref = reference(actor.legal_entity_id)
    book = find_book(actor)
    size = current_app.config["PAGE_SIZE"]
    if book is None:
        return BookPage(None, [], 0, 1, 1, filters, ref)

    found = listing(
        member_select(book),
        filters,
        ref,
        page,
        size,
        today,
        customer_id=Membership.customer_id,
    )
    return BookPage(
        book,
        cards(found.customers, ref),
        found.total,
        found.page,
        found.pages,
        filters,
        ref,
        found.held_total,
        found.occasions,
    )


def dates_this_week(actor: Staff, today: date, within: int = 6):
    """My customers' birthdays and anniversaries from today to a week ahead."""
    ensure(actor, Operation.VIEW_MY_BOOK)
    book = find_book(actor)
    if book is None:
        return []
    ref = reference(actor.legal_entity_id)
    held = (
        sa.select(Membership.customer_id)
        .join(Customer, Customer.id == Membership.customer_id)
        .where(Membership.book_id == book.id, Customer.active)
    )
    found = occasions(held, ref, today, within)
    customers = {
        c.id: c
        for c in db.session.scalars(sa.select(Customer).where(Customer.id.in_(found)))
    }
    rows = [
        (occasion, customers[customer_id])
        for customer_id, listed in found.items()
        for occasion in listed
        if customer_id in customers
    ]
    return sorted(rows, key=lambda r: (r[0].days_away, r[1].sort_name))


# -- adding ------------------------------------------------------------------------


@dataclass
class Candidate:
    customer: Customer
    holders: list[Staff]
    mine: bool


def search_to_add(actor: Staff, q: str) -> list[Candidate]:
    """Customers of the legal entity matching a keyword, with who holds each.

    Unlike customer search elsewhere, this is not limited to the store's
    address books: any customer of the legal entity may join a client book.
    """
    ensure(actor, Operation.ADD_TO_BOOK)
    filters = Filters(q=q.strip())
    if not search_terms(filters.q):
        return []

    found = db.session.scalars(
        apply(
            sa.select(Customer).where(
                Customer.legal_entity_id == actor.legal_entity_id, Customer.active
            ),
            filters,
            actor.legal_entity_id,
        )
        .order_by(Customer.sort_name, Customer.id)
        # One more than shown, so the page can say that more customers match.
        .limit(current_app.config["ADD_SEARCH_LIMIT"] + 1)
    ).all()
    holders = _holders([c.id for c in found])
    return [
        Candidate(
            c,
            [s for s in holders.get(c.id, []) if s.id != actor.id],
            any(s.id == actor.id for s in holders.get(c.id, [])),
        )
        for c in found
    ]


def _holders(customer_ids: list[str]) -> dict[str, list[Staff]]:
    if not customer_ids:
        return {}
    rows = db.session.execute(
        sa.select(Membership.customer_id, Staff)
        .join(ClientBook, ClientBook.id == Membership.book_id)
        .join(Staff, Staff.id == ClientBook.staff_id)
        .where(Membership.customer_id.in_(customer_ids))
    )
    result: dict[str, list[Staff]] = {}
    for customer_id, staff in rows:
        result.setdefault(customer_id, []).append(staff)
    return result


@dataclass
class AddOutcome:
    added: list[Customer] = field(default_factory=list)
    already: list[Customer] = field(default_factory=list)
    refused: list[AlreadyInAnotherBook] = field(default_factory=list)


def add_customers(actor: Staff, customer_ids: list[str]) -> AddOutcome:
    """Add customers of the legal entity to the actor's client book.

    A customer already in the book is left as it is (a double submit adds
    nothing twice). With exclusive membership, a customer held in another
    book is refused with the holder's name; the others are still added.
    """
    ensure(actor, Operation.ADD_TO_BOOK)
    customers = _customers_of(actor, customer_ids)
    ref = reference(actor.legal_entity_id)
    holders = _holders([c.id for c in customers])
    outcome = AddOutcome()

    for customer in customers:
        held_by = holders.get(customer.id, [])
        if any(s.id == actor.id for s in held_by):
            outcome.already.append(customer)
        elif ref.exclusive and held_by:
            outcome.refused.append(AlreadyInAnotherBook(customer.name, held_by[0].name))
            logger.info(
                "%s refused adding customer %s: held in the book of %s",
                actor.id,
                customer.id,
                held_by[0].id,
            )
        else:
            outcome.added.append(customer)

    if not outcome.added:
        return outcome

    book = ensure_book(actor)
    now = utcnow()
    for customer in outcome.added:
        db.session.add(
            Membership(
                book_id=book.id,
                customer_id=customer.id,
                added_at=now,
                added_by_id=actor.id,
                sole_customer_id=customer.id if ref.exclusive else None,
            )
        )
        audit.record("book.add", actor.id, customer_id=customer.id, book_id=book.id)
        enqueue(
            "book.add",
            {
                "book": book.id,
                "customer": customer.id,
                "by": actor.id,
                "at": now.isoformat() + "Z",
            },
        )
    try:
        db.session.commit()
    except sa.exc.IntegrityError as exc:
        # Another request put one of these customers in a book meanwhile.
        db.session.rollback()
        raise DomainError(
            _("One of these customers has just been changed elsewhere. Try again.")
        ) from exc

    for customer in outcome.added:
        logger.info(
            "%s added customer %s to client book %s", actor.id, customer.id, book.id
        )
    return outcome


def _customers_of(actor: Staff, customer_ids: list[str]) -> list[Customer]:
    ids = list(dict.fromkeys(i for i in customer_ids if i))
    if not ids:
        raise InvalidInput(_("Choose at least one customer."))
    if len(ids) > 500:
        raise InvalidInput(_("Choose at most 500 customers at once."))
    found = db.session.scalars(
        sa.select(Customer).where(
            Customer.id.in_(ids),
            Customer.legal_entity_id == actor.legal_entity_id,
            Customer.active,
        )
    ).all()
    if len(found) != len(ids):
        raise InvalidInput(_("One of the chosen customers is not known in this store."))
    order = {customer_id: n for n, customer_id in enumerate(ids)}
    return sorted(found, key=lambda c: order[c.id])


# -- removing ----------------------------------------------------------------------


def members_to_remove(actor: Staff, customer_ids: list[str]) -> list[Customer]:
    """The customers of the actor's book among these ids, for the confirmation."""
    ensure(actor, Operation.REMOVE_FROM_BOOK)
    book = find_book(actor)
    ids = list(dict.fromkeys(i for i in customer_ids if i))
    if book is None or not ids:
        return []
    return db.session.scalars(
        sa.select(Customer)
        .join(Membership, Membership.customer_id == Customer.id)
        .where(Membership.book_id == book.id, Customer.id.in_(ids))
        .order_by(Customer.sort_name)
    ).all()


def remove_customers(actor: Staff, customer_ids: list[str]) -> list[Customer]:
    """Remove customers from the actor's client book; absent ones are ignored."""
    ensure(actor, Operation.REMOVE_FROM_BOOK)
    if not [i for i in customer_ids if i]:
        raise InvalidInput(_("Choose at least one customer."))
    book = find_book(actor)
    customers = members_to_remove(actor, customer_ids)
    if book is None or not customers:
        return []

    now = utcnow()
    # The rows this request really deleted: a parallel request (a double
    # click, a second tablet) that got there first leaves nothing to audit.
    deleted = set(
        db.session.scalars(
            sa.delete(Membership)
            .where(
                Membership.book_id == book.id,
                Membership.customer_id.in_([c.id for c in customers]),
            )
            .returning(Membership.customer_id)
        )
    )
    customers = [c for c in customers if c.id in deleted]
    for customer in customers:
        audit.record("book.remove", actor.id, customer_id=customer.id, book_id=book.id)
        enqueue(
            "book.remove",
            {
                "book": book.id,
                "customer": customer.id,
                "by": actor.id,
                "at": now.isoformat() + "Z",
            },
        )
    db.session.commit()

    for customer in customers:
        logger.info(
            "%s removed customer %s from client book %s", actor.id, customer.id, book.id
        )
    return customers
