"""Notes on customers: shared with the legal entity, versioned, never logged.

Every associate of the legal entity who may view customer details reads a
customer's notes; the author edits them. An edit names the version it started
from: saving over a newer version is refused with both texts, and nothing is
overwritten. Note bodies never go to the log.
"""

from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa
from flask_babel import gettext as _

from ..activities.services import customer_of
from ..errors import DomainError, InvalidInput, NotAllowed, NotFound
from ..extensions import db
from ..org.models import Staff
from ..permissions import Operation, ensure
from ..sync.outbox import enqueue
from ..text import clean_text
from ..timeutil import utcnow
from .models import Note

logger = logging.getLogger(__name__)

MAX_LENGTH = 5000


class NoteConflict(DomainError):
    """The note changed since the editor opened it."""

    status = 409

    def __init__(self, note: Note, yours: str):
        self.note = note
        self.yours = yours
        super().__init__(
            _("This note was changed on another device while you were editing it.")
        )


def customer_notes(actor: Staff, customer_id: str) -> list[Note]:
    """A customer's notes, newest first."""
    customer_of(actor, customer_id)
    return db.session.scalars(
        sa.select(Note)
        .where(Note.customer_id == customer_id)
        .order_by(Note.created_at.desc(), Note.id.desc())
    ).all()


def _body(text: str | None) -> str:
    body = clean_text(text).strip()
    if not body:
        raise InvalidInput(_("Write the note first."))
    if len(body) > MAX_LENGTH:
        raise InvalidInput(
            _("A note holds at most %(num)d characters.", num=MAX_LENGTH)
        )
    return body


def add_note(actor: Staff, customer_id: str, text: str, token: str = "") -> Note:
    """Add a note to a customer; the form's token makes a double submit save once."""
    customer = customer_of(actor, customer_id)
    body = _body(text)
    existing = _sent_before(token, actor, customer.id)
    if existing is not None:
        return existing

    now = utcnow()
    note = Note(
        uid=token or uuid.uuid4().hex,
        legal_entity_id=actor.legal_entity_id,
        customer_id=customer.id,
        author_id=actor.id,
        body=body,
        version=1,
        created_at=now,
        updated_at=now,
        updated_by_id=actor.id,
    )
    db.session.add(note)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # The same form sent twice at once: the other request saved it.
        db.session.rollback()
        existing = _sent_before(token, actor, customer.id)
        if existing is None:
            raise
        return existing
    enqueue("note.create", _payload(note))
    db.session.commit()
    logger.info("%s added note %s on customer %s", actor.id, note.id, customer.id)
    return note


def get_note(actor: Staff, note_id: int) -> Note:
    """A note of the legal entity whose customer the actor may see."""
    note = db.session.get(Note, note_id)
    if note is None or note.legal_entity_id != actor.legal_entity_id:
        raise NotFound(_("This note does not exist."))
    ensure(actor, Operation.VIEW_CUSTOMER, note.customer_id)
    return note


def _sent_before(token: str, actor: Staff, customer_id: str) -> Note | None:
    """The note this form already saved, if it did (a double submit)."""
    if not token:
        return None
    existing = db.session.scalar(sa.select(Note).where(Note.uid == token))
    if existing is None:
        return None
    if existing.author_id != actor.id or existing.customer_id != customer_id:
        raise InvalidInput(_("This form was already used. Reload the page."))
    return existing


def note_to_edit(actor: Staff, note_id: int) -> Note:
    """A note the actor may edit: their own."""
    note = get_note(actor, note_id)
    if note.author_id != actor.id:
        logger.info("refused editing note %s to %s: not the author", note.id, actor.id)
        raise NotAllowed(
            message=_(
                "Only %(name)s, who wrote it, may change this note.",
                name=note.author.name,
            )
        )
    return note


def edit_note(actor: Staff, note_id: int, text: str, based_on: int) -> Note:
    """Save a new text over the version the editor started from, or refuse."""
    note = note_to_edit(actor, note_id)
    body = _body(text)
    if based_on != note.version:
        logger.info(
            "%s: edit of note %s refused, based on version %s of %s",
            actor.id,
            note.id,
            based_on,
            note.version,
        )
        raise NoteConflict(note, body)
    if body == note.body:
        return note

    note.body = body
    note.version += 1
    note.updated_at = utcnow()
    note.updated_by_id = actor.id
    enqueue("note.update", _payload(note))
    db.session.commit()
    logger.info("%s edited note %s (version %s)", actor.id, note.id, note.version)
    return note


def _payload(note: Note) -> dict:
    return {
        "uid": note.uid,
        "customer": note.customer_id,
        "author": note.author_id,
        "body": note.body,
        "version": note.version,
        "at": note.updated_at.isoformat() + "Z",
    }
