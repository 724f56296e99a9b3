"""Time the client book with analytics measures: nightly, live, and a slow service.

    python bench/insights.py [--runs 200]

Builds the demo store in a temporary folder, switches its analytics
integration to live mode against a service on 127.0.0.1 (this script's own,
answering from memory), and requests S1001's book page through the app
(server time: the WSGI call). The floor is the same page in nightly mode, so
the ratios show what asking the service adds. The token is a stand-in
credential: what is measured is the page's side of the call, not Azure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from book import percentile, timed


class Service:
    """Answers every account with two measures, after `delay` seconds."""

    def __init__(self):
        self.delay = 0.0
        self.calls = 0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                service.calls += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(service.delay)
                values = [
                    {
                        "account": account,
                        "measures": {
                            "churn_probability": 0.5,
                            "next_best_action": "Call",
                        },
                    }
                    for account in body["accounts"]
                ]
                data = json.dumps({"values": values}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class StandInCredential:
    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken("bench-token", int(time.time()) + 3600)


def feed(watermark: str, records: list[tuple[str, dict]]) -> list[str]:
    lines = [
        {
            "type": "header",
            "format": 1,
            "store": "PAR-01",
            "kind": "delta",
            "watermark": watermark,
        }
    ]
    lines += [
        {"type": "record", "entity": e, "op": "upsert", "data": d} for e, d in records
    ]
    lines.append({"type": "trailer", "count": len(records)})
    return [json.dumps(line) + "\n" for line in lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="storeserver-bench-"))
    os.environ["STORESERVER_INSTANCE_PATH"] = str(folder)
    from storeserver import create_app, upgrade_database
    from storeserver.demo import DEMO_PASSWORD, write_demo_feeds
    from storeserver.insights import services as insights
    from storeserver.sync.pull import pull_lines
    from storeserver.sync.services import pull

    service = Service()
    app = create_app(
        {
            "WTF_CSRF_ENABLED": False,
            "LOG_LEVEL": "ERROR",
            "INSIGHTS_SECRET_BENCH": "bench-only",
        }
    )
    app.extensions["insights_credential_factory"] = lambda conn, secret: (
        StandInCredential()
    )
    upgrade_database(app)
    write_demo_feeds(Path(app.config["HQ_FEED_DIR"]))
    with app.app_context():
        pull()

    def set_mode(mode: str, watermark: str) -> None:
        record = {
            "legal_entity": "FR01",
            "enabled": True,
            "mode": mode,
            "application_id": "bench-app",
            "tenant": "bench-tenant",
            "secret": "BENCH",
            "environment": "bench",
            "endpoint": service.url,
            "account_field": "account",
            "measures": [
                {
                    "id": "churn",
                    "label": "Churn",
                    "format": "percent",
                    "order": 1,
                    "field": "churn_probability",
                },
                {
                    "id": "nba",
                    "label": "Next best action",
                    "format": "text",
                    "order": 2,
                    "field": "next_best_action",
                },
            ],
        }
        with app.app_context():
            pull_lines(feed(watermark, [("insights", record)]), "PAR-01", "bench")

    client = app.test_client()
    client.post("/login", data={"staff_id": "S1001", "password": DEMO_PASSWORD})
    headers = {"HX-Request": "true", "Accept-Language": "en"}

    def book():
        response = client.get("/book", headers=headers)
        assert response.status_code == 200, response.status_code

    def book_cold():
        insights.forget_values()
        book()

    set_mode("nightly", "2099-01-01T00:00:00Z")
    nightly = timed(book, args.runs)

    set_mode("live", "2099-01-02T00:00:00Z")
    warm = timed(book, args.runs)
    calls = service.calls
    cold = timed(book_cold, args.runs)
    cold_calls = service.calls - calls
    if not cold_calls:
        sys.exit("the analytics service was never asked: the live setup is broken")

    budget = app.config["INSIGHTS_BUDGET_SECONDS"]
    service.delay = budget * 4
    slow = []
    for _ in range(max(10, args.runs // 20)):
        # Each page starts its own call: wait until the last one has ended.
        while insights._in_flight:
            time.sleep(0.01)
        started = time.perf_counter()
        book_cold()
        slow.append((time.perf_counter() - started) * 1000)

    floor = statistics.median(nightly)
    print(
        f"book page (htmx partial, 50 cards), server time; budget {budget * 1000:.0f} ms"
    )
    print(f"{'figure':<40} {'median ms':>10} {'p99 ms':>8} {'x floor':>8}")
    for name, samples in [
        ("live, values cached", warm),
        (f"live, one call per page ({cold_calls} calls)", cold),
        (f"live, service {service.delay * 1000:.0f} ms slow: fallback", slow),
        ("floor: nightly values", nightly),
    ]:
        median = statistics.median(samples)
        print(
            f"{name:<40} {median:>10.2f} {percentile(samples, 0.99):>8.2f}"
            f" {median / floor:>8.1f}"
        )
    worst = max(slow) / 1000
    print(
        f"slowest page while the service was slow: {worst * 1000:.0f} ms; the "
        f"service takes {service.delay * 1000:.0f} ms, the budget is "
        f"{budget * 1000:.0f} ms"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
