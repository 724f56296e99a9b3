"""Writing changes for HQ into the outbox, inside the change's transaction."""

from __future__ import annotations

import uuid

from ..extensions import db
from ..timeutil import utcnow
from .models import OutboxRow


def enqueue(kind: str, payload: dict) -> OutboxRow:
    """Add an outbox row to the current transaction (the caller commits)."""
    row = OutboxRow(
        uid=str(uuid.uuid4()), created_at=utcnow(), kind=kind, payload=payload
    )
    db.session.add(row)
    return row
