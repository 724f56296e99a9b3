"""A health endpoint for store IT's monitoring."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify

from .extensions import db
from .permissions import public

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    """Say whether the database answers."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify(database="down"), 503
    return jsonify(database="ok")
