"""A lock in the database, so that two sync runs never overlap.

The lock lives in the store's database, so it holds across processes: the
server's own scheduler, a cron job and store IT's command line. A run that
finds it taken is refused with who holds it and since when; a lock whose
holder died is taken over once it expires.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..timeutil import utcnow
from .models import SyncLock

# One lock for pull and push: a push during a pull could send a change the
# pull is about to confirm, so the two take turns.
NAME = "sync"


class SyncBusy(Exception):
    """Another run holds the lock."""

    def __init__(self, holder: str, since):
        self.holder = holder
        self.since = since
        super().__init__(
            f"another sync run holds the lock: {holder}, "
            f"since {since:%Y-%m-%d %H:%M} UTC"
        )


def _me(what: str) -> str:
    return f"{what} by pid {os.getpid()} on {socket.gethostname()}"


_HOLDER = re.compile(r"by pid (\d+) on (.+)$")


def _holder_died(holder: str | None) -> bool:
    """Whether the holder ran on this machine in a process that no longer exists."""
    found = _HOLDER.search(holder or "")
    if not found or found[2] != socket.gethostname() or os.name != "posix":
        return False
    try:
        # Why: signal 0 only asks whether the process exists, on POSIX; on
        # Windows os.kill would end it, hence the check above.
        os.kill(int(found[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def sync_lock(what: str) -> Iterator[None]:
    """Hold the sync lock for the block, or raise SyncBusy at once."""
    holder = _me(what)
    now = utcnow()
    expires = now + timedelta(seconds=int(current_app.config["SYNC_LOCK_SECONDS"]))
    table = SyncLock.__table__

    if db.session.get(SyncLock, NAME) is None:
        try:
            db.session.execute(table.insert().values(name=NAME))
            db.session.commit()
        except sa.exc.IntegrityError:
            db.session.rollback()
    # One UPDATE takes the lock only when it is free or expired: atomic in
    # SQLite (one writer at a time) and in PostgreSQL (the row is locked, and a
    # second UPDATE waiting for it checks the condition again on the new row).
    try:
        taken = db.session.execute(
            table.update()
            .where(
                table.c.name == NAME,
                sa.or_(table.c.holder.is_(None), table.c.expires_at < now),
            )
            .values(holder=holder, acquired_at=now, expires_at=expires)
        ).rowcount
        db.session.commit()
    except sa.exc.OperationalError as exc:
        db.session.rollback()
        if db.session.get_bind().dialect.name != "sqlite":
            raise
        # SQLite: another run is writing its feed and the busy timeout ran out.
        raise SyncBusy("another run writing to the database", now) from exc
    if not taken:
        current = db.session.get(SyncLock, NAME)
        db.session.refresh(current)
        if _holder_died(current.holder):
            # Its process is gone (killed, machine restarted): take it over
            # now rather than when it expires.
            taken = db.session.execute(
                table.update()
                .where(table.c.name == NAME, table.c.holder == current.holder)
                .values(holder=holder, acquired_at=now, expires_at=expires)
            ).rowcount
            db.session.commit()
    if not taken:
        raise SyncBusy(current.holder or "?", current.acquired_at or now)

    try:
        yield
    finally:
        db.session.rollback()
        db.session.execute(
            table.update()
            .where(table.c.name == NAME, table.c.holder == holder)
            .values(holder=None, acquired_at=None, expires_at=None)
        )
        db.session.commit()
