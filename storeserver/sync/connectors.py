"""Connectors to HQ. The folder connector reads feed files from a directory."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .feed import FeedError, parse_header

logger = logging.getLogger(__name__)


class FolderConnector:
    """Feed files dropped by HQ into a folder, applied in name order."""

    def __init__(self, feed_dir: str | Path):
        self.feed_dir = Path(feed_dir)

    def pending_feeds(self, store_id: str) -> list[Path]:
        """The feed files in the folder whose header names this store."""
        if not self.feed_dir.is_dir():
            return []
        found = []
        for path in sorted(self.feed_dir.glob("*.ndjson")):
            with path.open("rb") as handle:
                first = handle.readline()
            try:
                header = parse_header(first)
            except FeedError:
                # A broken file is reported when it is applied, not skipped quietly.
                found.append(path)
                continue
            if header.store == store_id:
                found.append(path)
        return found

    @contextmanager
    def open_feed(self, path: Path) -> Iterator[Iterator[bytes]]:
        with path.open("rb") as handle:
            yield iter(handle)
