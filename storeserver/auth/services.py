"""Checking a login against the staff HQ sent."""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from werkzeug.security import check_password_hash

from .. import audit
from ..errors import DomainError
from ..extensions import db
from ..org.models import Staff

logger = logging.getLogger(__name__)

# Checked when the staff id is unknown, so that a wrong id and a wrong
# password take the same time and cannot be told apart.
_DUMMY_HASH = "pbkdf2:sha256:50000$dummy$" + "0" * 64


class LoginRefused(DomainError):
    status = 401


def authenticate(staff_id: str, password: str, legal_entity_id: str | None) -> Staff:
    """The staff member for these credentials, or LoginRefused saying why."""
    staff = db.session.get(Staff, staff_id.strip().upper()) or db.session.get(
        Staff, staff_id.strip()
    )
    if staff is None or not staff.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        _refuse(staff_id, "unknown staff id or no password")
        raise LoginRefused(_("The staff id or the password is wrong."))
    if not check_password_hash(staff.password_hash, password):
        _refuse(staff.id, "wrong password")
        raise LoginRefused(_("The staff id or the password is wrong."))
    if not staff.login_enabled:
        _refuse(staff.id, "login disabled")
        raise LoginRefused(
            _("This login is disabled. Ask your store manager or HQ to enable it.")
        )
    if legal_entity_id is None or staff.legal_entity_id != legal_entity_id:
        _refuse(staff.id, "other legal entity")
        raise LoginRefused(_("This login does not belong to this store's company."))

    audit.record("login", staff.id)
    db.session.commit()
    logger.info("%s signed in", staff.id)
    return staff


def _refuse(staff_id: str, reason: str) -> None:
    # The id is cut short: a mistyped password pasted into the id field must
    # not end up whole in the log.
    shown = staff_id[:12]
    logger.info("login refused for %r: %s", shown, reason)
    audit.record("login.failed", None, details={"staff_id": shown, "reason": reason})
    db.session.commit()
