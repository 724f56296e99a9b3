"""Time the demo store: the HQ pull, the client book, the store book, a reassign.

    python bench/book.py [--customers 5000] [--runs 200]

Builds the demo store in a temporary folder, pulls the demo feed, signs in as
the demo associate S1001 and requests each page through the app (server time:
the WSGI call, no network). The floor is the same book query run in raw
sqlite3 on the same file, so the ratio shows what the ORM, the card loading
and the template add on this machine, in this run.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

RAW_FILTER = """
SELECT c.id, c.first_name, c.last_name, c.email, c.phone
FROM customer c JOIN membership m ON m.customer_id = c.id
WHERE m.book_id = ? AND c.active
  AND c.id IN (SELECT customer_id FROM attribute_value
               WHERE legal_entity_id = ? AND attribute_id = ? AND value = ?)
ORDER BY c.sort_name, c.id LIMIT 50
"""


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(call, runs: int) -> list[float]:
    call()  # warm caches, as a running store is
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def add_month_of_activities(app, count: int) -> None:
    """Give S1001 `count` activities in November 2026, a third of them all day."""
    from datetime import date, time

    import sqlalchemy as sa

    from storeserver.activities.services import ActivityInput, create_activity
    from storeserver.book.models import Membership
    from storeserver.extensions import db
    from storeserver.org.models import Staff, Store

    with app.app_context():
        actor = db.session.get(Staff, "S1001")
        store = db.session.get(Store, "PAR-01")
        customers = db.session.scalars(
            sa.select(Membership.customer_id).where(Membership.book_id == "CB-000001")
        ).all()
        for n in range(count):
            day = date(2026, 11, 1 + n % 30)
            timed_ = n % 3 != 0
            create_activity(
                actor,
                store,
                customers[n % len(customers)],
                ActivityInput(
                    type_id="AT-APPOINTMENT" if timed_ else "AT-CALL",
                    subject=f"Bench {n}",
                    day=day,
                    start=time(9 + n % 9, 0) if timed_ else None,
                    status="planned",
                ),
            )


def reassign_runs(manager, htmx, runs: int = 10) -> list[float]:
    """Move 100 customers of S1001's book to S1003 and back, timing each move."""
    import re

    samples = []
    owners = ["S1001", "S1003"]
    for run in range(runs):
        source, target = owners[run % 2], owners[(run + 1) % 2]
        # Tick every card of the first two pages (50 each): 100 customers.
        for number in (1, 2):
            page = manager.get(
                f"/store-book?owner={source}&page={number}", headers=htmx
            ).text
            ids = re.findall(r'name="page_ids" value="([^"]+)"', page)
            manager.post(
                "/store-book/selection",
                data={"action": "set", "page_ids": ids, "customer": ids},
                headers=htmx,
            )
        confirm = manager.get("/store-book/reassign", headers=htmx).text
        fields = dict(re.findall(r'name="(digest|batch)" value="([^"]+)"', confirm))
        count = int(re.search(r"Reassign (\d+) customer", confirm).group(1))
        assert count == 100, count
        started = time.perf_counter()
        response = manager.post(
            "/store-book/reassign",
            data={"target": target, **fields},
            headers=htmx,
        )
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="storeserver-bench-"))
    os.environ["STORESERVER_INSTANCE_PATH"] = str(folder)
    from storeserver import create_app, upgrade_database
    from storeserver.demo import DEMO_PASSWORD, write_demo_feeds
    from storeserver.sync.services import pull

    app = create_app({"WTF_CSRF_ENABLED": False, "LOG_LEVEL": "WARNING"})
    upgrade_database(app)
    write_demo_feeds(Path(app.config["HQ_FEED_DIR"]), customers=args.customers)
    started = time.perf_counter()
    with app.app_context():
        pull()
    pull_seconds = time.perf_counter() - started

    client = app.test_client()
    client.post("/login", data={"staff_id": "S1001", "password": DEMO_PASSWORD})
    en = {"Accept-Language": "en"}
    htmx = {"HX-Request": "true", **en}

    def page(url, headers):
        def call():
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.status_code

        return call

    database = folder / "storeserver.sqlite3"
    raw = sqlite3.connect(database)

    def floor():
        raw.execute(RAW_FILTER, ("CB-000001", "FR01", "likes", "Shoes")).fetchall()

    rows = [
        ("book page (full)", timed(page("/book", en), args.runs)),
        (
            "filter partial likes=Shoes",
            timed(page("/book?a.likes=Shoes", htmx), args.runs),
        ),
        ("keyword partial q=mar", timed(page("/book?q=mar", htmx), args.runs)),
        ("add search q=mar", timed(page("/book/add?q=mar", htmx), args.runs)),
    ]
    manager = app.test_client()
    manager.post("/login", data={"staff_id": "S1002", "password": DEMO_PASSWORD})

    def manager_page(url, headers):
        def call():
            response = manager.get(url, headers=headers)
            assert response.status_code == 200, response.status_code

        return call

    rows += [
        ("store book page (full)", timed(manager_page("/store-book", en), args.runs)),
        (
            "store book partial likes=Shoes",
            timed(manager_page("/store-book?a.likes=Shoes", htmx), args.runs),
        ),
    ]
    rows.append(("reassign 100 customers", reassign_runs(manager, htmx)))
    add_month_of_activities(app, 500)
    rows.append(
        (
            "month view, 500 activities",
            timed(page("/calendar?view=month&date=2026-11-01", en), args.runs // 4),
        )
    )
    floor_samples = timed(floor, args.runs)
    floor_median = statistics.median(floor_samples)

    print(f"demo store: {args.customers:,} customers; HQ pull {pull_seconds:.2f} s")
    print(
        f"{'figure (server time)':<30} {'median ms':>10} {'p99 ms':>8} {'x floor':>8}"
    )
    for name, samples in rows:
        median = statistics.median(samples)
        print(
            f"{name:<30} {median:>10.2f} {percentile(samples, 0.99):>8.2f}"
            f" {median / floor_median:>8.1f}"
        )
    print(
        f"{'floor: raw sqlite3 filter':<30} {floor_median:>10.2f}"
        f" {percentile(floor_samples, 0.99):>8.2f} {1.0:>8.1f}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
