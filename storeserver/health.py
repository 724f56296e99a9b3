"""A health endpoint for store IT's monitoring."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from .extensions import db
from .permissions import public
from .sync.models import SyncRun
from .timeutil import utcnow

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    """Whether the database answers, and how old the last good HQ pull is."""
    try:
        last = db.session.scalar(
            sa.select(sa.func.max(SyncRun.finished_at)).where(
                SyncRun.kind == "pull", SyncRun.result == "ok"
            )
        )
    except sa.exc.SQLAlchemyError:
        return jsonify(database="down"), 503

    age = (utcnow() - last).total_seconds() / 3600 if last else None
    stale = age is None or age > float(current_app.config["PULL_STALE_HOURS"])
    return jsonify(
        database="ok",
        last_good_pull=last.isoformat() + "Z" if last else None,
        last_good_pull_age_hours=round(age, 2) if age is not None else None,
        pull="stale" if stale else "fresh",
    )
