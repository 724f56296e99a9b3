"""Connectors to HQ: the same protocol over a folder or over HTTP.

A connector hands out the feeds waiting for this store and sends a batch of
outbox changes, answering for each change whether HQ accepted it (or already
had it) or rejected it, with HQ's message.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .feed import FeedError, parse_header

logger = logging.getLogger(__name__)


class HQUnavailable(Exception):
    """HQ could not be reached or answered with a server error; try later."""


class HQRefused(Exception):
    """HQ refused the request itself (4xx): retrying the same will not help."""


@dataclass
class Answer:
    """HQ's answer for one change: "accepted", "duplicate" or "rejected"."""

    status: str
    error: str | None = None


class FolderConnector:
    """Feed files dropped by HQ into a folder; change files written to another."""

    name = "folder"

    def __init__(self, feed_dir: str | Path, outbox_dir: str | Path):
        self.feed_dir = Path(feed_dir)
        self.outbox_dir = Path(outbox_dir)

    def feeds(
        self, store_id: str, watermark: str | None
    ) -> Iterator[tuple[str, object]]:
        """(name, opener) for each feed file whose header names this store."""
        if not self.feed_dir.is_dir():
            return
        for path in sorted(self.feed_dir.glob("*.ndjson")):
            with path.open("rb") as handle:
                first = handle.readline()
            try:
                header = parse_header(first)
            except FeedError:
                # A broken file is reported when it is applied, not skipped quietly.
                yield path.name, self._opener(path)
                continue
            if header.store == store_id:
                yield path.name, self._opener(path)

    @staticmethod
    def _opener(path: Path):
        @contextmanager
        def open_feed():
            with path.open("rb") as handle:
                yield iter(handle)

        return open_feed

    def send(self, store_id: str, changes: list[dict]) -> dict[str, Answer]:
        """Write one change file, atomically: HQ never reads half a file."""
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        name = f"{store_id}-{changes[0]['seq']:010d}-{changes[-1]['seq']:010d}.ndjson"
        final = self.outbox_dir / name
        partial = final.with_suffix(".part")
        with partial.open("w", encoding="utf-8") as handle:
            for change in changes:
                handle.write(json.dumps(change, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)
        # A folder cannot answer: a change written is a change delivered.
        return {change["uid"]: Answer("accepted") for change in changes}


class HttpConnector:
    """HQ's HTTP endpoints, with timeouts and retries with backoff."""

    name = "http"

    def __init__(self, base_url: str, token: str | None, config: dict):
        self.base_url = base_url.rstrip("/")
        self.timeout = (
            float(config["HQ_CONNECT_TIMEOUT"]),
            float(config["HQ_READ_TIMEOUT"]),
        )
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        retry = Retry(
            total=int(config["HQ_RETRIES"]),
            connect=int(config["HQ_RETRIES"]),
            read=int(config["HQ_RETRIES"]),
            status=int(config["HQ_RETRIES"]),
            backoff_factor=float(config["HQ_BACKOFF_SECONDS"]),
            status_forcelist=(500, 502, 503, 504),
            # Posting a batch again is safe: HQ drops a change it already has.
            allowed_methods=frozenset({"GET", "POST"}),
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def _url(self, store_id: str, what: str) -> str:
        return f"{self.base_url}/stores/{store_id}/{what}"

    def _call(self, method: str, url: str, **kwargs) -> requests.Response:
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise HQUnavailable(_reason(exc, self.timeout)) from exc
        if response.status_code >= 500:
            raise HQUnavailable(f"HQ answered {response.status_code}")
        if response.status_code >= 400:
            raise HQRefused(
                f"HQ refused the request: {response.status_code} {response.text[:200]}"
            )
        return response

    def feeds(
        self, store_id: str, watermark: str | None
    ) -> Iterator[tuple[str, object]]:
        """The feed since the stored watermark (a full feed when there is none)."""
        url = self._url(store_id, "feed")
        params = {"since": watermark} if watermark else {}
        source = f"{url}?since={watermark}" if watermark else url

        response = self._call("GET", url, params=params, stream=True)
        if response.status_code == 204:
            # Nothing newer than our watermark.
            response.close()
            return
        # The whole feed is downloaded before a single row is written: the
        # database's write lock is then held only while the feed is applied,
        # not for as long as a slow network takes, and associates' changes
        # go on meanwhile. A feed cut off in the middle never reaches it.
        spooled = _download(response)

        @contextmanager
        def open_feed():
            try:
                spooled.seek(0)
                yield iter(spooled)
            finally:
                spooled.close()

        yield source, open_feed

    def send(self, store_id: str, changes: list[dict]) -> dict[str, Answer]:
        """Post a batch; HQ answers for each change by its uid."""
        response = self._call(
            "POST",
            self._url(store_id, "changes"),
            json={"store": store_id, "changes": changes},
        )
        try:
            results = response.json()["results"]
            if not isinstance(results, list) or not all(
                isinstance(r, dict) for r in results
            ):
                raise ValueError("results must be a list of objects")
            return {
                str(r["uid"]): Answer(r["status"], r.get("error"))
                for r in results
                if isinstance(r, dict)
                and r.get("status") in ("accepted", "duplicate", "rejected")
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise HQUnavailable("HQ's answer could not be read") from exc


def _download(response: requests.Response):
    """The response body in a temporary file (in memory while it is small)."""
    # The file outlives this function: the caller applies, then closes it.
    spooled = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    try:
        for chunk in response.iter_content(chunk_size=256 * 1024):
            spooled.write(chunk)
    except requests.RequestException as exc:
        spooled.close()
        raise HQUnavailable(f"the feed was cut off: {type(exc).__name__}") from exc
    finally:
        response.close()
    return spooled


def _reason(exc: requests.RequestException, timeout) -> str:
    """A plain reason for a failed call: HQ too slow, or not reachable at all."""
    text = str(exc)
    if isinstance(exc, requests.Timeout) or "timed out" in text:
        connect, read = timeout
        return f"HQ did not answer in time (connect {connect:g} s, read {read:g} s)"
    return f"HQ could not be reached: {type(exc).__name__}"
