"""Sign-in sessions, kept on the server so that signing out really ends one."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class LoginSession(db.Model):
    """One sign-in on one device; the session cookie only carries its id.

    A copied cookie is worth nothing once the session has ended, which matters
    on a tablet shared by the whole shop floor.
    """

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime)
    # The last request of this sign-in (kept to a few seconds): idle sign-out.
    last_seen_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # "signed out", "idle" or "switched", for the audit and the message shown.
    end_reason: Mapped[str | None] = mapped_column(sa.String(20))
