"""The cache for slow-changing reference data (cachelib).

Entries are keyed by a generation number kept in the database. An HQ pull
raises it in its own transaction and store IT's flush raises it too, so every
process sees new reference data at once, whichever process changed it.
"""

from __future__ import annotations

import logging

from cachelib import NullCache, SimpleCache
from flask import Flask, current_app, g, has_request_context

logger = logging.getLogger(__name__)

GENERATION_KEY = "reference.generation"


def init_cache(app: Flask) -> None:
    """Create the app's cache from CACHE_TYPE and CACHE_TTL_SECONDS."""
    ttl = int(app.config["CACHE_TTL_SECONDS"])
    if app.config["CACHE_TYPE"] == "null":
        app.extensions["cache"] = NullCache()
    else:
        app.extensions["cache"] = SimpleCache(threshold=2000, default_timeout=ttl)


def get_cache():
    return current_app.extensions["cache"]


def generation() -> str:
    """The current reference generation, read once per request."""
    if has_request_context() and "reference_generation" in g:
        return g.reference_generation
    from .extensions import db
    from .sync.models import SyncState

    state = db.session.get(SyncState, GENERATION_KEY)
    value = state.value if state is not None else "0"
    if has_request_context():
        g.reference_generation = value
    return value


def bump_generation() -> None:
    """Raise the generation in the current transaction (the caller commits)."""
    from .extensions import db
    from .sync.models import SyncState

    state = db.session.get(SyncState, GENERATION_KEY)
    if state is None:
        db.session.add(SyncState(key=GENERATION_KEY, value="1"))
    else:
        state.value = str(int(state.value or 0) + 1)
    if has_request_context():
        g.pop("reference_generation", None)


def flush(actor=None) -> None:
    """Drop cached reference data everywhere: this process and every other."""
    from .extensions import db

    if actor is not None:
        from .permissions import Operation, ensure

        ensure(actor, Operation.STORE_ADMIN)
    bump_generation()
    db.session.commit()
    get_cache().clear()
    logger.info("reference cache flushed by %s", getattr(actor, "id", "the system"))
