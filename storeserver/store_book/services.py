"""The store book: the client books of everyone working in this store.

A manager reads it (operation 713), selects customers across pages and
filters, and reassigns them to another associate of the store (716). Every
rule is checked here, so a hand-made request cannot get round it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import audit
from ..audit import AuditEvent
from ..book.models import ClientBook, Membership
from ..book.services import ensure_book
from ..customers.filters import Filters, with_attributes, with_keyword
from ..customers.listing import count, listing
from ..customers.models import Customer
from ..customers.services import Card, Reference, cards, reference
from ..errors import DomainError, InvalidInput
from ..extensions import db
from ..org.models import Staff, Store
from ..org.services import store_staff_ids, works_in
from ..permissions import Operation, ensure
from ..sync.outbox import enqueue
from ..timeutil import local_today, utcnow
from .models import SelectedCustomer

logger = logging.getLogger(__name__)

INACTIVE = "inactive"  # the owner filter value for "owner's login disabled"
BATCH_ID = re.compile(r"[0-9a-f]{32}")


class SelectionChanged(DomainError):
    status = 409


# -- reading -------------------------------------------------------------------------


def store_books(store: Store) -> sa.Select:
    """The ids of the client books that make up the store book."""
    return sa.select(ClientBook.id).where(
        ClientBook.legal_entity_id == store.legal_entity_id,
        ClientBook.staff_id.in_(store_staff_ids(store)),
    )


def members(store: Store, owner_filter: list[str] | None = None) -> sa.Select:
    """Active customers held in the store book, optionally by some owners only."""
    held = _held(store, owner_filter)
    return sa.select(Customer).where(Customer.id.in_(held), Customer.active)


def matching(
    store: Store, owner_filter: list[str] | None, filters: Filters
) -> sa.Select:
    """The store book's active customers matching a filter.

    The attribute conditions go inside the list of memberships, so only the
    customers they keep are read: the store book is a small part of the
    legal entity's customers.
    """
    held = with_attributes(
        _held(store, owner_filter),
        filters,
        store.legal_entity_id,
        Membership.customer_id,
    )
    return with_keyword(
        sa.select(Customer).where(Customer.id.in_(held), Customer.active), filters
    )


def _held(store: Store, owner_filter: list[str] | None) -> sa.Select:
    """The customer ids of the store book's memberships (a customer may repeat)."""
    books = store_books(store)
    if owner_filter:
        wanted = [o for o in owner_filter if o != INACTIVE]
        owned = ClientBook.staff_id.in_(wanted)
        if INACTIVE in owner_filter:
            disabled = sa.select(Staff.id).where(Staff.login_enabled.is_(False))
            owned = sa.or_(owned, ClientBook.staff_id.in_(disabled))
        books = books.where(owned)
    return sa.select(Membership.customer_id).where(Membership.book_id.in_(books))


@dataclass
class Owner:
    staff: Staff
    customers: int

    @property
    def active(self) -> bool:
        return bool(self.staff.login_enabled)


def owners(store: Store) -> list[Owner]:
    """The associates whose books are in the store book, with how many customers."""
    rows = db.session.execute(
        sa.select(Staff, sa.func.count(Membership.id))
        .join(ClientBook, ClientBook.staff_id == Staff.id)
        .join(Membership, Membership.book_id == ClientBook.id)
        .join(Customer, Customer.id == Membership.customer_id)
        .where(ClientBook.id.in_(store_books(store)), Customer.active)
        .group_by(Staff.id)
        .order_by(Staff.last_name, Staff.first_name)
    ).all()
    return [Owner(staff, count) for staff, count in rows]


@dataclass
class StoreBookPage:
    cards: list[Card]
    owners_of: dict[str, list[Staff]]
    selected: set[str]
    total: int
    held_total: int
    page: int
    pages: int
    filters: Filters
    owner_filter: list[str]
    owners: list[Owner]
    reference: Reference
    selection_count: int = 0
    occasions: dict = field(default_factory=dict)


def store_book_page(
    actor: Staff,
    store: Store,
    filters: Filters,
    owner_filter: list[str],
    page: int = 1,
    selection_key: str | None = None,
    with_owners: bool = True,
) -> StoreBookPage:
    """One page of the store book, filtered, with each card's owners.

    `with_owners` adds the owner filter's associates and their counts, which
    only the full page and the owner filter show: a filter partial skips
    counting the whole store book by owner.
    """
    ensure(actor, Operation.VIEW_STORE_BOOK)
    ref = reference(store.legal_entity_id)
    found = listing(
        members(store, owner_filter),
        filters,
        ref,
        page,
        current_app.config["PAGE_SIZE"],
        local_today(store.time_zone),
        matching=matching(store, owner_filter, filters),
    )
    held_total = found.held_total
    if owner_filter:
        # "of N in the store book" counts the whole store book, not the owners.
        held_total = count(members(store))
    ids = [c.id for c in found.customers]
    selected: set[str] = set()
    if selection_key and ids:
        selected = set(
            db.session.scalars(
                sa.select(SelectedCustomer.customer_id).where(
                    SelectedCustomer.login_session_id == selection_key,
                    SelectedCustomer.customer_id.in_(ids),
                )
            )
        )
    return StoreBookPage(
        cards=cards(found.customers, ref),
        owners_of=_owners_of(store, ids),
        selected=selected,
        total=found.total,
        held_total=held_total,
        page=found.page,
        pages=found.pages,
        filters=filters,
        owner_filter=owner_filter,
        owners=owners(store) if with_owners else [],
        reference=ref,
        selection_count=len(selected_ids(store, selection_key)),
        occasions=found.occasions,
    )


def _owners_of(store: Store, customer_ids: list[str]) -> dict[str, list[Staff]]:
    if not customer_ids:
        return {}
    rows = db.session.execute(
        sa.select(Membership.customer_id, Staff)
        .join(ClientBook, ClientBook.id == Membership.book_id)
        .join(Staff, Staff.id == ClientBook.staff_id)
        .where(
            Membership.customer_id.in_(customer_ids),
            ClientBook.id.in_(store_books(store)),
        )
        .order_by(Staff.last_name)
    )
    result: dict[str, list[Staff]] = defaultdict(list)
    for customer_id, staff in rows:
        result[customer_id].append(staff)
    return result


# -- the selection -------------------------------------------------------------------


def selected_ids(store: Store, selection_key: str | None) -> list[str]:
    """The selected customers still in the store book, sorted."""
    if not selection_key:
        return []
    # From the selection (often empty) to the store book, not the other way
    # round: each selected customer is checked by its memberships.
    held = (
        sa.select(Membership.customer_id)
        .where(
            Membership.customer_id == SelectedCustomer.customer_id,
            Membership.book_id.in_(store_books(store)),
        )
        .exists()
    )
    return list(
        db.session.scalars(
            sa.select(SelectedCustomer.customer_id)
            .join(Customer, Customer.id == SelectedCustomer.customer_id)
            .where(
                SelectedCustomer.login_session_id == selection_key,
                Customer.active,
                held,
            )
            .order_by(SelectedCustomer.customer_id)
        )
    )


def digest(ids: list[str]) -> str:
    """A short fingerprint of a selection: the confirmation carries it back."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:20]


def set_selection(
    actor: Staff,
    store: Store,
    selection_key: str,
    page_ids: list[str],
    ticked: list[str],
) -> int:
    """Of the customers shown (`page_ids`), select the ticked, unselect the rest."""
    ensure(actor, Operation.REASSIGN)
    shown = set(page_ids) | set(ticked)
    _forget(selection_key, shown)
    _remember(store, selection_key, set(ticked) & shown)
    db.session.commit()
    return len(selected_ids(store, selection_key))


def select_all_matching(
    actor: Staff,
    store: Store,
    selection_key: str,
    filters: Filters,
    owner_filter: list[str],
) -> int:
    """Add every customer matching the filter to the selection; return its size."""
    ensure(actor, Operation.REASSIGN)
    found = matching(store, owner_filter, filters).with_only_columns(Customer.id)
    ids = set(db.session.scalars(found))
    _remember(store, selection_key, ids)
    db.session.commit()
    return len(selected_ids(store, selection_key))


def clear_selection(actor: Staff, selection_key: str) -> None:
    """Empty the selection."""
    ensure(actor, Operation.REASSIGN)
    db.session.execute(
        sa.delete(SelectedCustomer).where(
            SelectedCustomer.login_session_id == selection_key
        )
    )
    db.session.commit()


def _forget(selection_key: str, ids: set[str]) -> None:
    if ids:
        db.session.execute(
            sa.delete(SelectedCustomer).where(
                SelectedCustomer.login_session_id == selection_key,
                SelectedCustomer.customer_id.in_(ids),
            )
        )


def _remember(store: Store, selection_key: str, ids: set[str]) -> None:
    """Add ids to the selection, keeping only customers of the store book."""
    if not ids:
        return
    held = members(store).with_only_columns(Customer.id)
    wanted = sorted(ids)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        valid = db.session.scalars(
            held.where(Customer.id.in_(chunk)).order_by(None)
        ).all()
        if valid:
            # Two requests of one session may add the same customer at once
            # (a tick and "select all"): the second insert is simply a no-op.
            db.session.execute(
                _insert_ignoring_duplicates(SelectedCustomer),
                [{"login_session_id": selection_key, "customer_id": c} for c in valid],
            )


def _insert_ignoring_duplicates(model):
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model).on_conflict_do_nothing()


# -- reassigning ---------------------------------------------------------------------


def eligible_targets(store: Store) -> list[Staff]:
    """Who may receive customers: active associates of this store with a client book."""
    staff = db.session.scalars(
        sa.select(Staff)
        .where(Staff.id.in_(store_staff_ids(store)), Staff.login_enabled)
        .order_by(Staff.last_name, Staff.first_name)
    ).all()
    return [s for s in staff if s.may(Operation.VIEW_MY_BOOK)]


def check_target(actor: Staff, store: Store, target_id: str | None) -> Staff:
    """The target associate, or InvalidInput saying why they cannot receive any."""
    target = db.session.get(Staff, target_id) if target_id else None
    if target is None or target.legal_entity_id != store.legal_entity_id:
        reason = _("Choose an associate of this company to receive the customers.")
    elif not target.login_enabled:
        reason = _(
            "%(name)s's login is disabled: choose an active associate.",
            name=target.name,
        )
    elif not works_in(target, store):
        reason = _("%(name)s does not work in this store.", name=target.name)
    elif not target.may(Operation.VIEW_MY_BOOK):
        reason = _("%(name)s's login has no client book.", name=target.name)
    else:
        return target
    logger.info(
        "%s refused reassigning to %s: %s", actor.id, target_id or "nobody", reason
    )
    raise InvalidInput(reason)


@dataclass
class ReassignOutcome:
    target: Staff
    moved: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    already_done: bool = False


def reassign(
    actor: Staff,
    store: Store,
    selection_key: str,
    target_id: str | None,
    confirmed_digest: str,
    batch_id: str,
) -> ReassignOutcome:
    """Move the selected customers into the target's client book, in one transaction.

    `confirmed_digest` is the fingerprint of the selection the manager saw in
    the confirmation: if the selection changed since, nothing moves. The
    `batch_id` comes with the confirmation too; a request re-sent with the same
    one moves nothing more.
    """
    ensure(actor, Operation.REASSIGN)
    if not BATCH_ID.fullmatch(batch_id or ""):
        raise InvalidInput(_("This confirmation is not valid. Start again."))
    target = check_target(actor, store, target_id)

    if db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.batch_id == batch_id)
    ):
        return ReassignOutcome(target, already_done=True)

    ids = selected_ids(store, selection_key)
    if not ids:
        raise InvalidInput(_("Select the customers to reassign first."))
    if digest(ids) != confirmed_digest:
        raise SelectionChanged(
            _(
                "The selection changed since you confirmed: %(num)d customers are "
                "selected now. Check and confirm again.",
                num=len(ids),
            )
        )

    outcome = ReassignOutcome(target)
    try:
        target_book = _move(actor, store, ids, target, batch_id, outcome)
        _forget(selection_key, set(ids))
        db.session.commit()
    except sa.exc.IntegrityError as exc:
        # A parallel request (a double submit, a second tablet) got there
        # first: if it was this very confirmation, say it is done.
        db.session.rollback()
        if db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.batch_id == batch_id)
        ):
            return ReassignOutcome(target, already_done=True)
        raise DomainError(
            _("One of these customers has just been changed elsewhere. Try again.")
        ) from exc

    logger.info(
        "%s reassigned %d customers to %s (book %s), batch %s",
        actor.id,
        len(outcome.moved),
        target.id,
        target_book.id,
        batch_id,
    )
    return outcome


def _move(
    actor: Staff,
    store: Store,
    ids: list[str],
    target: Staff,
    batch_id: str,
    outcome: ReassignOutcome,
) -> ClientBook:
    """Write the move: memberships, one audit event and outbox row per customer."""
    target_book = ensure_book(target)
    exclusive = reference(store.legal_entity_id).exclusive
    sources = _source_books(store, ids, target_book.id)
    in_target = set(
        db.session.scalars(
            sa.select(Membership.customer_id).where(
                Membership.book_id == target_book.id, Membership.customer_id.in_(ids)
            )
        )
    )
    now = utcnow()
    source_books = {book for books in sources.values() for book in books}
    if source_books:
        db.session.execute(
            sa.delete(Membership).where(
                Membership.book_id.in_(source_books),
                Membership.customer_id.in_(list(sources)),
            )
        )
    for customer_id in ids:
        from_books = sources.get(customer_id, [])
        if not from_books:
            outcome.unchanged.append(customer_id)
            continue
        if customer_id not in in_target:
            db.session.add(
                Membership(
                    book_id=target_book.id,
                    customer_id=customer_id,
                    added_at=now,
                    added_by_id=actor.id,
                    sole_customer_id=customer_id if exclusive else None,
                )
            )
        audit.record(
            "book.reassign",
            actor.id,
            customer_id=customer_id,
            book_id=target_book.id,
            from_book_id=from_books[0],
            batch_id=batch_id,
            details={"from_books": from_books} if len(from_books) > 1 else None,
        )
        enqueue(
            "book.reassign",
            {
                "customer": customer_id,
                "from": from_books,
                "to": target_book.id,
                "by": actor.id,
                "at": now.isoformat() + "Z",
                "batch": batch_id,
            },
        )
        outcome.moved.append(customer_id)
    db.session.flush()
    return target_book


def _source_books(store: Store, ids: list[str], target_book: str) -> dict:
    """For each customer, the store-book books (other than the target's) holding it."""
    result: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            sa.select(Membership.customer_id, Membership.book_id)
            .where(
                Membership.customer_id.in_(ids[start : start + 500]),
                Membership.book_id.in_(store_books(store)),
                Membership.book_id != target_book,
            )
            .order_by(Membership.book_id)
        )
        for customer_id, book_id in rows:
            result[customer_id].append(book_id)
    return result


def store_staff(store: Store) -> list[Staff]:
    """Everyone working in this store, for pickers."""
    return db.session.scalars(
        sa.select(Staff)
        .where(Staff.id.in_(store_staff_ids(store)))
        .order_by(Staff.last_name, Staff.first_name)
    ).all()
