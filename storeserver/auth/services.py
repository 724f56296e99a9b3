"""Checking a login against the staff HQ sent, and the sessions it opens."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..errors import DomainError
from ..extensions import db
from ..org.models import Staff, Store
from ..org.services import works_in
from ..timeutil import utcnow
from .models import LoginSession

logger = logging.getLogger(__name__)

# Checked when the staff id is unknown, so that a wrong id and a wrong
# password take the same time and cannot be told apart.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


# The key of the sign-in session's id in the session cookie.
SESSION_KEY = "login_session"


def current_session_id() -> str | None:
    """The id of the request's sign-in session."""
    from flask import session

    return session.get(SESSION_KEY)


class LoginRefused(DomainError):
    status = 401


def authenticate(staff_id: str, password: str, store: Store | None) -> Staff:
    """The staff member for these credentials, or LoginRefused saying why."""
    typed = staff_id.strip()
    staff = db.session.get(Staff, typed.upper()) or db.session.get(Staff, typed)
    if staff is None or not staff.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        # What was typed is not kept: it may be a password typed in the wrong
        # field.
        _refuse(None, "unknown staff id or no password")
        raise LoginRefused(_("The staff id or the password is wrong."))
    if not check_password_hash(staff.password_hash, password):
        _refuse(staff.id, "wrong password")
        raise LoginRefused(_("The staff id or the password is wrong."))
    if not staff.login_enabled:
        _refuse(staff.id, "login disabled")
        raise LoginRefused(
            _("This login is disabled. Ask your store manager or HQ to enable it.")
        )
    if store is None or staff.legal_entity_id != store.legal_entity_id:
        _refuse(staff.id, "other legal entity")
        raise LoginRefused(_("This login does not belong to this store's company."))
    if not works_in(staff, store):
        _refuse(staff.id, "not in this store")
        raise LoginRefused(
            _("This login does not work in this store. Ask HQ to add you to it.")
        )
    return staff


def open_session(staff: Staff) -> LoginSession:
    """Record a sign-in; the returned session's id goes into the cookie."""
    now = utcnow()
    login = LoginSession(
        id=secrets.token_urlsafe(32),
        staff_id=staff.id,
        started_at=now,
        last_seen_at=now,
    )
    db.session.add(login)
    audit.record("login", staff.id)
    db.session.commit()
    logger.info("%s signed in", staff.id)
    return login


# How stale `last_seen_at` may get before a request writes it again.
SEEN_GRANULARITY = timedelta(seconds=15)


def signed_in_staff(session_id: str | None, staff_id: str) -> Staff | None:
    """The staff member, if the session id names an open sign-in of theirs.

    One query per request: the sign-in and its staff member together. A
    sign-in left without a request for IDLE_MINUTES ends here, on the server,
    whatever the screen still shows; each request keeps it alive.
    """
    if not session_id:
        return None
    found = db.session.execute(
        sa.select(Staff, LoginSession)
        .join(LoginSession, LoginSession.staff_id == Staff.id)
        .where(
            LoginSession.id == session_id,
            LoginSession.ended_at.is_(None),
            Staff.id == staff_id,
        )
    ).first()
    if found is None:
        return None
    staff, login = found
    now = utcnow()
    seen = login.last_seen_at or login.started_at
    minutes = float(current_app.config["IDLE_MINUTES"])
    # A request may go unrecorded for SEEN_GRANULARITY: allow for it, so the
    # server never ends a sign-in before the screen's timer says it will.
    if minutes and now - seen > timedelta(minutes=minutes) + SEEN_GRANULARITY:
        close_session(session_id, staff_id, reason="idle")
        if has_request_context():
            g.signed_out_idle = True
        return None
    if now - seen > SEEN_GRANULARITY:
        login.last_seen_at = now
        db.session.commit()
    return staff


def keep_alive(session_id: str | None) -> None:
    """The associate asked to stay signed in: count now as their last request."""
    if session_id:
        db.session.execute(
            sa.update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
            .values(last_seen_at=utcnow())
        )
        db.session.commit()


def close_session(
    session_id: str | None, staff_id: str, reason: str = "signed out"
) -> None:
    """End a sign-in, so that its cookie no longer works anywhere."""
    if session_id:
        from ..store_book.models import SelectedCustomer

        db.session.execute(
            sa.update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
            .values(ended_at=utcnow(), end_reason=reason)
        )
        # What the session had ticked in the store book ends with it.
        db.session.execute(
            sa.delete(SelectedCustomer).where(
                SelectedCustomer.login_session_id == session_id
            )
        )
    audit.record("logout", staff_id, details={"reason": reason})
    db.session.commit()
    why = {
        "idle": f" after {idle_minutes()} minutes without use",
        "switched": " for another associate",
    }
    logger.info("%s signed out%s", staff_id, why.get(reason, ""))


def _refuse(staff_id: str | None, reason: str) -> None:
    logger.info("login refused for %s: %s", staff_id or "an unknown staff id", reason)
    audit.record("login.failed", staff_id, details={"reason": reason})
    db.session.commit()


def idle_minutes() -> int | float:
    """IDLE_MINUTES as people read it (10, not 10.0)."""
    minutes = float(current_app.config["IDLE_MINUTES"])
    return int(minutes) if minutes.is_integer() else minutes


def recent_associates(staff_ids: list[str], store: Store | None) -> list[Staff]:
    """Of the ids this device remembers, those who may sign in here, in order."""
    if not staff_ids or store is None:
        return []
    found = {
        s.id: s
        for s in db.session.scalars(
            sa.select(Staff).where(
                Staff.id.in_(staff_ids),
                Staff.legal_entity_id == store.legal_entity_id,
                Staff.login_enabled,
            )
        )
    }
    return [found[i] for i in staff_ids if i in found and works_in(found[i], store)]
