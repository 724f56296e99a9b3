"""Who works where: the address-book rule shared by sign-in and the store book."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from .models import Staff, Store, staff_address_books, store_address_books


def store_staff_ids(store: Store) -> sa.Select:
    """The ids of staff of the store's legal entity sharing an address book with it.

    Their client books make up the store book; a member of staff who works in
    several stores shares an address book with each, so appears in each.
    """
    return (
        sa.select(staff_address_books.c.staff_id)
        .join(
            store_address_books,
            store_address_books.c.address_book_id
            == staff_address_books.c.address_book_id,
        )
        .join(Staff, Staff.id == staff_address_books.c.staff_id)
        .where(
            store_address_books.c.store_id == store.id,
            Staff.legal_entity_id == store.legal_entity_id,
        )
        .distinct()
    )


def works_in(staff: Staff, store: Store) -> bool:
    """Whether the staff member shares an address book with the store."""
    return (
        db.session.scalar(
            sa.select(sa.literal(1)).where(
                sa.literal(staff.id).in_(store_staff_ids(store))
            )
        )
        is not None
    )
