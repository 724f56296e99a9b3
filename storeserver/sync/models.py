"""Sync bookkeeping: the outbox of changes for HQ and the record of runs."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class OutboxRow(db.Model):
    """A change waiting to go up to HQ, written in the change's own transaction."""

    __tablename__ = "outbox_row"
    __table_args__ = (sa.Index("ix_outbox_status", "status", "id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    # Stable id HQ uses to drop repeats when a push is retried.
    uid: Mapped[str] = mapped_column(sa.String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    kind: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    # queued -> sent (acknowledged by HQ) or parked (rejected by HQ).
    status: Mapped[str] = mapped_column(sa.String(10), default="queued")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class SyncState(db.Model):
    """Small key/value facts about sync, such as the last applied watermark."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[str | None] = mapped_column(sa.Text)


class SyncRun(db.Model):
    """One pull or push: when, how long, what it did, and how it ended."""

    __tablename__ = "sync_run"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    started_at: Mapped[datetime] = mapped_column(sa.DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    result: Mapped[str] = mapped_column(sa.String(10), default="running")
    source: Mapped[str | None] = mapped_column(sa.String(300))
    watermark: Mapped[str | None] = mapped_column(sa.String(60))
    counts: Mapped[dict | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)


class SyncLock(db.Model):
    """Who runs a pull or a push now: two runs never overlap, in any process."""

    __tablename__ = "sync_lock"

    name: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    holder: Mapped[str | None] = mapped_column(sa.String(200))
    acquired_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
