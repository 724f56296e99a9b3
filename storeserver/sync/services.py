"""Running an HQ pull through the configured connector."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app

from .connectors import FolderConnector
from .pull import PullResult, pull_lines

logger = logging.getLogger(__name__)


def connector():
    """The connector the instance config names."""
    name = current_app.config["HQ_CONNECTOR"]
    if name == "folder":
        return FolderConnector(current_app.config["HQ_FEED_DIR"])
    raise ValueError(f"unknown HQ connector {name!r}")


def pull(progress: Callable[[int], None] | None = None) -> list[PullResult]:
    """Apply every pending feed for this store, oldest first; stop at a refused one."""
    hq = connector()
    store_id = current_app.config["STORE_ID"]
    results = []
    for path in hq.pending_feeds(store_id):
        with hq.open_feed(path) as lines:
            results.append(pull_lines(lines, store_id, path.name, progress))
    return results
