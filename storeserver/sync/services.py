"""Running an HQ pull or push through the configured connector, one at a time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..timeutil import utcnow
from .connectors import FolderConnector, HQRefused, HQUnavailable, HttpConnector
from .lock import sync_lock
from .models import OutboxRow, SyncRun
from .pull import PullResult, pull_lines, stored_watermark

logger = logging.getLogger(__name__)


def connector():
    """The connector the instance config names."""
    config = current_app.config
    name = config["HQ_CONNECTOR"]
    if name == "folder":
        return FolderConnector(config["HQ_FEED_DIR"], config["HQ_OUTBOX_DIR"])
    if name == "http":
        if not config.get("HQ_URL"):
            raise ValueError("HQ_CONNECTOR is http but HQ_URL is not set")
        return HttpConnector(config["HQ_URL"], _token(config.get("HQ_TOKEN")), config)
    raise ValueError(f"unknown HQ connector {name!r}")


def _token(value: str | None) -> str | None:
    """HQ's token: the value itself, or read through the secret resolver."""
    if value and value.startswith("vault://"):
        from ..secretstore import SecretError, resolve

        try:
            return resolve(value).value
        except SecretError as exc:
            raise HQRefused(f"HQ's token could not be read: {exc}") from exc
    return value


def pull(progress: Callable[[int], None] | None = None) -> list[PullResult]:
    """Apply every pending feed for this store, oldest first; stop at a refused one.

    HQ being unreachable raises HQUnavailable and changes nothing; a refused
    feed raises FeedError and changes nothing either.
    """
    hq = connector()
    store_id = current_app.config["STORE_ID"]
    results = []
    with sync_lock("pull"):
        try:
            for source, open_feed in hq.feeds(store_id, stored_watermark()):
                with open_feed() as lines:
                    results.append(pull_lines(lines, store_id, source, progress))
        except (HQUnavailable, HQRefused) as exc:
            # pull_lines records its own failures; this one never reached it.
            db.session.rollback()
            now = utcnow()
            db.session.add(
                SyncRun(
                    kind="pull",
                    started_at=now,
                    finished_at=now,
                    source=hq.name,
                    result="failed",
                    error=str(exc),
                )
            )
            db.session.commit()
            logger.warning("HQ pull failed: %s", exc)
            raise
    return results


@dataclass
class PushResult:
    sent: int = 0
    parked: int = 0
    left: int = 0
    batches: int = 0
    error: str | None = None
    seconds: float = 0.0


def push() -> PushResult:
    """Send queued outbox rows to HQ in order, in batches, until none is left.

    Each row carries its stable uid, so a batch sent again after a lost answer
    is dropped by HQ rather than applied twice. A row HQ rejects is parked with
    HQ's message and the others go on; rows HQ does not answer for stay queued.
    When HQ is unreachable, nothing changes but the rows' attempt counts.
    """
    started = time.perf_counter()
    hq = connector()
    store_id = current_app.config["STORE_ID"]
    size = int(current_app.config["PUSH_BATCH"])
    result = PushResult()
    run = SyncRun(kind="push", started_at=utcnow(), source=hq.name)

    with sync_lock("push"):
        last_id = 0
        while True:
            rows = db.session.scalars(
                sa.select(OutboxRow)
                .where(OutboxRow.status == "queued", OutboxRow.id > last_id)
                .order_by(OutboxRow.id)
                .limit(size)
            ).all()
            if not rows:
                break
            last_id = rows[-1].id
            changes = [_change(row) for row in rows]
            try:
                answers = hq.send(store_id, changes)
            except (HQUnavailable, HQRefused) as exc:
                for row in rows:
                    row.attempts += 1
                    row.last_error = str(exc)
                db.session.commit()
                result.error = str(exc)
                break
            now = utcnow()
            for row in rows:
                answer = answers.get(row.uid)
                row.attempts += 1
                if answer is None:
                    row.last_error = "HQ did not answer for this change"
                elif answer.status == "rejected":
                    row.status, row.last_error = "parked", answer.error or "rejected"
                    result.parked += 1
                else:
                    row.status, row.sent_at, row.last_error = "sent", now, None
                    result.sent += 1
            db.session.commit()
            result.batches += 1

        result.left = db.session.scalar(
            sa.select(sa.func.count()).where(OutboxRow.status == "queued")
        )
        result.seconds = time.perf_counter() - started
        run.finished_at = utcnow()
        run.result = "failed" if result.error else "ok"
        run.error = result.error
        run.counts = {"sent": result.sent, "parked": result.parked, "left": result.left}
        db.session.add(run)
        db.session.commit()

    level = logging.WARNING if result.error else logging.INFO
    logger.log(
        level,
        "HQ push: %d sent, %d parked, %d left in %.2f s%s",
        result.sent,
        result.parked,
        result.left,
        result.seconds,
        f" ({result.error})" if result.error else "",
    )
    return result


def _change(row: OutboxRow) -> dict:
    return {
        "uid": row.uid,
        "seq": row.id,
        "kind": row.kind,
        "created_at": row.created_at.isoformat() + "Z",
        "payload": row.payload,
    }


def retry_parked(actor=None) -> int:
    """Queue the parked rows again (after HQ fixed what made it reject them)."""
    if actor is not None:
        from ..permissions import Operation, ensure

        ensure(actor, Operation.STORE_ADMIN)
    count = db.session.execute(
        sa.update(OutboxRow).where(OutboxRow.status == "parked").values(status="queued")
    ).rowcount
    db.session.commit()
    logger.info(
        "%d parked changes queued again by %s", count, getattr(actor, "id", "cli")
    )
    return count
