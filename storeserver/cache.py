"""The cache for slow-changing reference data (cachelib)."""

from __future__ import annotations

from cachelib import NullCache, SimpleCache
from flask import Flask, current_app


def init_cache(app: Flask) -> None:
    """Create the app's cache from CACHE_TYPE and CACHE_TTL_SECONDS."""
    ttl = int(app.config["CACHE_TTL_SECONDS"])
    if app.config["CACHE_TYPE"] == "null":
        app.extensions["cache"] = NullCache()
    else:
        app.extensions["cache"] = SimpleCache(threshold=2000, default_timeout=ttl)


def get_cache():
    return current_app.extensions["cache"]


def flush() -> None:
    """Drop every cached entry, so the next read sees what the database holds."""
    get_cache().clear()
