"""Time HQ sync over HTTP: the demo feed pulled, 10,000 changes pushed.

    python bench/sync.py [--customers 5000] [--changes 10000]

A small HQ runs on 127.0.0.1 in this process (werkzeug); the store pulls
the demo feed from it over HTTP and pushes queued outbox rows to it. The
floor for the pull is the same feed applied from a file (folder connector).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class LocalHQ:
    def __init__(self, feed: bytes):
        self.feed = feed
        self.received: set[str] = set()

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path.endswith("/feed"):
            if request.args.get("since"):
                return Response(status=204)(environ, start_response)
            return Response(self.feed, mimetype="application/x-ndjson")(
                environ, start_response
            )
        results = []
        for change in request.get_json()["changes"]:
            status = "duplicate" if change["uid"] in self.received else "accepted"
            self.received.add(change["uid"])
            results.append({"uid": change["uid"], "status": status})
        body = json.dumps({"results": results})
        return Response(body, mimetype="application/json")(environ, start_response)


def fresh_app(folder: Path, **config):
    os.environ["STORESERVER_INSTANCE_PATH"] = str(folder)
    from storeserver import create_app, upgrade_database

    app = create_app({"LOG_LEVEL": "WARNING", **config})
    upgrade_database(app)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--changes", type=int, default=10000)
    args = parser.parse_args()

    import logging

    from storeserver.demo import write_demo_feeds

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    work = Path(tempfile.mkdtemp(prefix="storeserver-sync-bench-"))
    feeds = write_demo_feeds(work / "feeds", customers=args.customers)
    paris = next(p for p in feeds if p.name.startswith("PAR-01"))

    # Floor: the same feed from a folder.
    folder_app = fresh_app(work / "folder", HQ_FEED_DIR=str(paris.parent))
    from storeserver.sync.services import pull, push

    with folder_app.app_context():
        started = time.perf_counter()
        pull()
        folder_seconds = time.perf_counter() - started

    hq = LocalHQ(paris.read_bytes())
    server = make_server("127.0.0.1", 0, hq, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    http_app = fresh_app(
        work / "http", HQ_CONNECTOR="http", HQ_URL=url, HQ_TOKEN="bench"
    )
    with http_app.app_context():
        started = time.perf_counter()
        pull()
        http_seconds = time.perf_counter() - started

        from storeserver.extensions import db
        from storeserver.sync.outbox import enqueue

        for n in range(args.changes):
            enqueue("note.create", {"n": n, "body": "x" * 80})
        db.session.commit()
        result = push()
    server.shutdown()

    assert result.sent == args.changes and len(hq.received) == args.changes
    rate = result.sent / result.seconds
    print(f"demo feed ({args.customers:,} customers, {paris.stat().st_size:,} bytes)")
    print(f"{'figure':<36} {'value':>12} {'x floor':>8}")
    ratio = http_seconds / folder_seconds
    print(f"{'pull over HTTP (s)':<36} {http_seconds:>12.2f} {ratio:>8.2f}")
    print(
        f"{'floor: same feed from a folder (s)':<36} {folder_seconds:>12.2f} {1:>8.2f}"
    )
    print(
        f"{'push ' + format(args.changes, ',') + ' changes (changes/s)':<36} "
        f"{rate:>12,.0f} {'':>8}"
    )
    print(f"{'push batches':<36} {result.batches:>12,}")


if __name__ == "__main__":
    main()
