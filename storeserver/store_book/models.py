"""The manager's selection in the store book, kept across pages and filters."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class SelectedCustomer(db.Model):
    """A customer ticked in the store book during one sign-in session.

    Kept on the server, keyed by the sign-in session, so that ticks on page 1
    and page 2 (or "all matching this filter") add up to one selection
    whatever the page size, and end with the session.
    """

    __tablename__ = "store_book_selection"

    login_session_id: Mapped[str] = mapped_column(
        sa.ForeignKey("login_session.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[str] = mapped_column(
        sa.ForeignKey("customer.id"), primary_key=True
    )
