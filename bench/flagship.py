"""A flagship store of 100,000 customers: each figure next to its floor, one run.

    python bench/flagship.py [--customers 100000] [--book 5000] [--runs 300]

Builds the store in a temporary instance folder: a demo HQ feed of
`--customers` customers (the first associate, S1001, holds `--book` of them;
every customer has five attribute values and both measures) pulled through
the real pull path. Every figure is then measured beside its floor, in the
same run, interleaved where they can be, so that a noisy machine moves both:

- the filter partial of the client book (S1001) and of the store book (the
  manager S1002), server time through the app (the WSGI call), against the
  same queries in raw sqlite3 rendering the same templates (the floor's HTML
  is checked equal to the app's first);
- requests per second with 8 concurrent clients over waitress (`storeserver
  serve`), against a minimal WSGI app serving the raw-sqlite3 client-book
  page on the same waitress settings;
- the full HQ pull of the feed in a child process (time and peak RSS),
  against the same rows inserted with executemany in one transaction (the
  floor's rows are checked equal to the app's);
- the p99 of client-book reads while the next night's full feed is pulled,
  by `storeserver sync pull` run by hand and by the server's own schedule
  (its job thread in the process serving the reads), each against the idle
  p99 measured just before and after.

The last line printed is `targets met: N/M`.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import math
import os
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

STORE = "PAR-01"
ASSOCIATE = "S1001"
MANAGER = "S1002"
FILTER = ("likes", "Shoes")
CLIENT_BOOK_URL = f"/book?a.{FILTER[0]}={FILTER[1]}"
STORE_BOOK_URL = f"/store-book?a.{FILTER[0]}={FILTER[1]}"
HTMX = {"HX-Request": "true", "Accept-Language": "en"}
NEXT_WATERMARKS = ("2026-12-04T02:00:00Z", "2026-12-05T02:00:00Z")
CLIENTS = 8
ROOT = Path(__file__).resolve().parent.parent


# -- figures ------------------------------------------------------------------------


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB.

    Linux's getrusage keeps the peak of the parent's memory a child was
    forked from, so the kernel's high-water mark of this program is read.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class Figure:
    name: str
    samples: list[float]
    floor: list[float]
    target: str
    # "p50": samples and floor were taken in turns, and the ratio is the
    # median of each sample over the floor sample taken beside it, so that
    # the machine's other load falls on both alike; "p99" compares the 99th
    # percentiles; "max" checks the largest sample against an absolute limit.
    compare: str
    limit: float
    higher_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        if self.compare == "max":
            return None
        if self.compare == "p50":
            pairs = zip(self.samples, self.floor, strict=True)
            return statistics.median(a / b for a, b in pairs)
        return percentile(self.samples, 0.99) / percentile(self.floor, 0.99)

    @property
    def met(self) -> bool:
        if self.compare == "max":
            return max(self.samples) <= self.limit
        if self.higher_is_better:
            return self.ratio >= self.limit
        return self.ratio <= self.limit


def print_table(figures: list[Figure], header: str) -> None:
    print(header)
    print(
        f"{'figure':<40} {'median':>9} {'p99':>9} {'floor p50':>10} "
        f"{'floor p99':>10} {'ratio':>7} {'target':>16}  result"
    )
    for f in figures:
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}x"
        floor_median = statistics.median(f.floor) if f.floor else math.nan
        # For a rate the slow tail is the low end: its "p99" is the rate
        # that 99% of the rounds reach.
        tail = 0.01 if f.higher_is_better else 0.99
        print(
            f"{f.name:<40} {statistics.median(f.samples):>9.2f}"
            f" {percentile(f.samples, tail):>9.2f} {floor_median:>10.2f}"
            f" {percentile(f.floor, tail) if f.floor else math.nan:>10.2f}"
            f" {ratio:>7} {f.target:>16}  {'met' if f.met else 'MISSED'}"
        )
    met = sum(f.met for f in figures)
    print(f"targets met: {met}/{len(figures)}")


# -- the store ----------------------------------------------------------------------


def write_feeds(folder: Path, customers: int, book: int) -> list[Path]:
    """Tonight's full feed, then the next nights': the same records, later."""
    from storeserver.demo import write_demo_feeds

    (tonight,) = write_demo_feeds(
        folder / "tonight",
        customers=customers,
        lead_book_size=book,
        values_per_customer=5,
        stores=(STORE,),
    )
    feeds = [tonight]
    for watermark in NEXT_WATERMARKS:
        compact = watermark.replace("-", "").replace(":", "")
        later = folder / "later" / f"{STORE}-{compact}-full.ndjson"
        later.parent.mkdir(exist_ok=True)
        with tonight.open("rb") as source, later.open("wb") as target:
            header = json.loads(source.readline())
            header["watermark"] = watermark
            target.write(json.dumps(header, separators=(",", ":")).encode() + b"\n")
            shutil.copyfileobj(source, target)
        feeds.append(later)
    return feeds


def child_env(instance: Path, **config) -> dict:
    env = dict(os.environ)
    env["STORESERVER_INSTANCE_PATH"] = str(instance)
    env["STORESERVER_LOG_LEVEL"] = "WARNING"
    env["STORESERVER_SCHEDULER_ENABLED"] = "false"
    for key, value in config.items():
        env[f"STORESERVER_{key}"] = str(value)
    return env


def child(command: list[str], env: dict) -> dict:
    """Run this script's child command; it prints one JSON line."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", *command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"child {command[0]} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_migrate() -> None:
    """Create the instance's database with the migrations."""
    from storeserver import create_app, upgrade_database

    upgrade_database(create_app({"LOG_LEVEL": "WARNING"}))
    print("{}")


def empty_database(folder: Path) -> Path:
    """A migrated, empty database file every pull starts from."""
    instance = folder / "empty"
    child(["migrate"], child_env(instance))
    path = instance / "storeserver.sqlite3"
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path


def fresh_instance(folder: Path, empty: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copy(empty, folder / "storeserver.sqlite3")
    (folder / "secret_key").write_text("bench-" + os.urandom(16).hex())
    return folder


# -- the HQ pull and its floor ------------------------------------------------------


def child_pull() -> None:
    """Pull the pending feeds through the app; print the time and peak RSS."""
    from storeserver import create_app
    from storeserver.sync.services import pull

    app = create_app({"LOG_LEVEL": "WARNING"})
    with app.app_context():
        before = peak_rss_mb()
        started, cpu = time.perf_counter(), time.process_time()
        results = pull()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
    records = sum(
        n
        for r in results
        for k, n in r.counts.items()
        if k != "customer.not_a_customer"
    )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "rss_mb": peak_rss_mb(),
                "start_rss_mb": before,
                "records": records,
            }
        )
    )


# The reference rows (legal entity, staff, attributes, client books: a few
# dozen) are copied untimed; the floor times the bulk of the feed.
REFERENCE_TABLES = (
    "legal_entity",
    "number_sequence",
    "address_book",
    "store",
    "store_address_book",
    "staff",
    "staff_address_book",
    "attribute_group",
    "attribute",
    "measure",
    "activity_type",
    "clienteling_settings",
    "client_book",
)
BULK_TABLES = (
    "customer",
    "customer_address_book",
    "attribute_value",
    "measure_value",
    "membership",
)
SQL = {
    "customer": "INSERT INTO customer (id, legal_entity_id, account_number, "
    "first_name, last_name, email, phone, consent_email, consent_phone, "
    "consent_sms, active, search_text, sort_name) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "customer_address_book": "INSERT INTO customer_address_book "
    "(customer_id, address_book_id) VALUES (?, ?)",
    "attribute_value": "INSERT INTO attribute_value "
    "(legal_entity_id, customer_id, attribute_id, value, number) "
    "VALUES (?, ?, ?, ?, ?)",
    "measure_value": "INSERT INTO measure_value "
    "(customer_id, measure_id, value, as_of) VALUES (?, ?, ?, ?)",
    "membership": "INSERT INTO membership "
    "(book_id, customer_id, added_at, added_by_id, sole_customer_id) "
    "VALUES (?, ?, ?, ?, ?)",
}


def copy_reference(source: Path, target: Path) -> None:
    con = sqlite3.connect(target)
    con.execute("ATTACH ? AS source", (str(source),))
    for table in REFERENCE_TABLES:
        con.execute(f"INSERT INTO {table} SELECT * FROM source.{table}")
    con.commit()
    con.close()


def _stored_instant(text: str) -> str:
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _stored_values(kind: str, value) -> list[tuple[str, float | None]]:
    if kind == "multi_choice":
        return [
            (v, None)
            for v in dict.fromkeys(value if isinstance(value, list) else [value])
        ]
    if kind == "boolean":
        return [("true" if value else "false", None)]
    if kind in ("integer", "decimal"):
        number = int(value) if kind == "integer" else float(value)
        return [(str(number), float(number))]
    return [(value, None)] if value != "" else []


def child_floor_pull(database: str, feed: str) -> None:
    """Insert the feed's bulk rows with executemany in one raw sqlite3 transaction."""
    from storeserver.customers.text import search_text, sort_name

    con = sqlite3.connect(database, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"):
        con.execute(f"PRAGMA {pragma}")
    before = peak_rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    attributes = {
        a: (kind, le)
        for a, kind, le in con.execute(
            "SELECT a.id, a.type, g.legal_entity_id FROM attribute a "
            "JOIN attribute_group g ON g.id = a.group_id"
        )
    }
    measures = dict(con.execute("SELECT id, format FROM measure"))
    exclusive = dict(
        con.execute("SELECT legal_entity_id, exclusive FROM clienteling_settings")
    )
    books = dict(con.execute("SELECT id, legal_entity_id FROM client_book"))
    rows: dict[str, list[tuple]] = {table: [] for table in BULK_TABLES}
    count = 0

    def write() -> None:
        for table in BULK_TABLES:
            if rows[table]:
                con.executemany(SQL[table], rows[table])
                rows[table].clear()

    con.execute("BEGIN")
    with open(feed, "rb") as handle:
        next(handle)
        for line in handle:
            obj = json.loads(line)
            if obj["type"] != "record":
                continue
            entity, d = obj["entity"], obj["data"]
            if entity == "customer":
                if "customer" not in d.get("roles", ["customer"]):
                    continue
                consent = d.get("consent") or {}
                first = d.get("first_name") or ""
                rows["customer"].append(
                    (
                        d["id"],
                        d["legal_entity"],
                        d["account_number"],
                        first,
                        d["last_name"],
                        d.get("email"),
                        d.get("phone"),
                        consent.get("email"),
                        consent.get("phone"),
                        consent.get("sms"),
                        d.get("active", True),
                        search_text(
                            first, d["last_name"], d.get("email"), d.get("phone")
                        ),
                        sort_name(first, d["last_name"]),
                    )
                )
                for book in dict.fromkeys(d.get("address_books", [])):
                    rows["customer_address_book"].append((d["id"], book))
            elif entity == "attribute_value":
                kind, le = attributes[d["attribute"]]
                for value, number in _stored_values(kind, d["value"]):
                    rows["attribute_value"].append(
                        (le, d["customer"], d["attribute"], value, number)
                    )
            elif entity == "measure_value":
                value = d["value"]
                if measures[d["measure"]] in ("percent", "number"):
                    value = repr(float(value))
                rows["measure_value"].append(
                    (d["customer"], d["measure"], value, _stored_instant(d["as_of"]))
                )
            elif entity == "membership":
                sole = d["customer"] if exclusive.get(books[d["book"]], True) else None
                rows["membership"].append(
                    (
                        d["book"],
                        d["customer"],
                        _stored_instant(d["added_at"]),
                        d.get("added_by"),
                        sole,
                    )
                )
            else:
                continue
            count += 1
            # Entities come in feed order, so customers are written before
            # the rows that refer to them.
            if count % 5000 == 0:
                write()
    write()
    con.execute("COMMIT")
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "rss_mb": peak_rss_mb(),
                "start_rss_mb": before,
                "records": count,
            }
        )
    )


def same_rows(app_db: Path, floor_db: Path) -> None:
    """Stop the bench unless the floor wrote exactly the rows the app wrote."""
    columns = {
        "customer": "*",
        "customer_address_book": "*",
        "attribute_value": "legal_entity_id, customer_id, attribute_id, value, number",
        "measure_value": "*",
        "membership": "book_id, customer_id, added_at, added_by_id, sole_customer_id",
    }
    con = sqlite3.connect(app_db)
    con.execute("ATTACH ? AS floor", (str(floor_db),))
    for table, cols in columns.items():
        for first, second in (("main", "floor"), ("floor", "main")):
            differ = con.execute(
                f"SELECT count(*) FROM (SELECT {cols} FROM {first}.{table} "
                f"EXCEPT SELECT {cols} FROM {second}.{table})"
            ).fetchone()[0]
            if differ:
                sys.exit(f"the floor's {table} rows differ from the app's ({differ})")
    con.close()


def measure_pulls(work: Path, empty: Path, feed: Path, runs: int):
    """Pull the feed `runs` times into fresh stores, each beside a floor run."""
    app_runs, floor_runs = [], []
    store = None
    for run in range(runs):
        instance = fresh_instance(work / f"pull-{run}", empty)
        app_runs.append(child(["pull"], child_env(instance, HQ_FEED_DIR=feed.parent)))
        floor = fresh_instance(work / f"floor-{run}", empty)
        database = floor / "storeserver.sqlite3"
        copy_reference(instance / "storeserver.sqlite3", database)
        floor_runs.append(
            child(["floor-pull", str(database), str(feed)], child_env(floor))
        )
        if run == 0:
            same_rows(instance / "storeserver.sqlite3", database)
            store = instance
        else:
            shutil.rmtree(instance)
        shutil.rmtree(floor)
    return store, app_runs, floor_runs


# -- pages and their floor ----------------------------------------------------------


class RawPages:
    """The floor for the book pages: raw sqlite3 queries, the same templates.

    What the app adds on top (routing, the session and login checks, the ORM,
    the reference cache lookups) is left out: only the rows the partial shows
    are read, and the partial is rendered with the same Jinja templates.
    """

    HELD = (
        "SELECT count(*) FROM membership m JOIN customer c ON c.id = m.customer_id "
        "WHERE m.book_id = ? AND c.active"
    )
    MATCHING = (
        "FROM membership m JOIN customer c ON c.id = m.customer_id "
        "WHERE m.book_id = ? AND c.active AND EXISTS (SELECT 1 FROM attribute_value v "
        "WHERE v.legal_entity_id = ? AND v.attribute_id = ? AND v.value = ? "
        "AND v.customer_id = m.customer_id)"
    )
    STORE_BOOKS = (
        "SELECT b.id FROM client_book b WHERE b.legal_entity_id = :le "
        "AND b.staff_id IN (SELECT sa.staff_id FROM staff_address_book sa "
        "JOIN store_address_book ta ON ta.address_book_id = sa.address_book_id "
        "JOIN staff s ON s.id = sa.staff_id "
        "WHERE ta.store_id = :store AND s.legal_entity_id = :le)"
    )
    STORE_MEMBERS = (
        "FROM customer c WHERE c.active AND c.id IN (SELECT m.customer_id "
        f"FROM membership m WHERE m.book_id IN ({STORE_BOOKS}))"
    )
    # The condition inside the memberships: only the customers it keeps are read.
    STORE_MATCHING = (
        "FROM customer c WHERE c.active AND c.id IN (SELECT m.customer_id "
        f"FROM membership m WHERE m.book_id IN ({STORE_BOOKS}) "
        "AND EXISTS (SELECT 1 FROM attribute_value v "
        "WHERE v.legal_entity_id = :le AND v.attribute_id = :attribute "
        "AND v.value = :value AND v.customer_id = m.customer_id))"
    )
    COLUMNS = "c.id, c.first_name, c.last_name, c.email, c.phone"

    def __init__(self, app, database: Path, session_key: str):
        from storeserver.customers.filters import Condition, Filters
        from storeserver.customers.services import reference
        from storeserver.extensions import db
        from storeserver.org.models import Staff, Store

        self.app = app
        self.database = database
        self.session_key = session_key
        self.local = threading.local()
        with app.test_request_context("/"):
            self.store = db.session.get(Store, STORE)
            self.associate = db.session.get(Staff, ASSOCIATE)
            self.manager = db.session.get(Staff, MANAGER)
            self.ref = reference(self.store.legal_entity_id)
            db.session.expunge_all()
        attribute = self.ref.attribute(FILTER[0])
        self.filters = Filters(
            conditions={FILTER[0]: Condition(attribute, [FILTER[1]])}
        )
        self.query = f"a.{FILTER[0]}={FILTER[1]}"

    @property
    def con(self) -> sqlite3.Connection:
        """One connection per thread, as a WSGI server's threads would hold."""
        con = getattr(self.local, "con", None)
        if con is None:
            con = self.local.con = sqlite3.connect(self.database)
            con.execute("PRAGMA busy_timeout = 5000")
        return con

    def _context(self, url: str, staff, environ: dict | None):
        from flask import g

        if environ is None:
            context = self.app.test_request_context(url, headers=HTMX)
        else:
            context = self.app.request_context(environ)
        context.push()
        g.store = self.store
        # Flask-Login keeps the signed-in user here; the floor skips loading it.
        g._login_user = staff
        return context

    def _cards(self, rows):
        from storeserver.customers.services import (
            AttributeDef,
            Card,
            Slot,
            card_slots,
            format_attribute,
            format_measure,
        )

        slots = card_slots(self.ref)
        ids = [r[0] for r in rows]
        marks = ", ".join("?" * len(ids))
        attribute_ids = [s.id for s in slots if isinstance(s, AttributeDef)]
        measure_ids = [s.id for s in slots if not isinstance(s, AttributeDef)]
        values: dict[tuple[str, str], list[str]] = {}
        if ids and attribute_ids:
            for customer, attribute, value in self.con.execute(
                f"SELECT customer_id, attribute_id, value FROM attribute_value "
                f"WHERE customer_id IN ({marks}) AND attribute_id IN "
                f"({', '.join('?' * len(attribute_ids))}) ORDER BY id",
                ids + attribute_ids,
            ):
                values.setdefault((customer, attribute), []).append(value)
        measured = {}
        if ids and measure_ids:
            measured = {
                (c, m): v
                for c, m, v in self.con.execute(
                    f"SELECT customer_id, measure_id, value FROM measure_value "
                    f"WHERE customer_id IN ({marks}) AND measure_id IN "
                    f"({', '.join('?' * len(measure_ids))})",
                    ids + measure_ids,
                )
            }
        cards = []
        for cid, first, last, email, phone in rows:
            shown = []
            for slot in slots:
                if isinstance(slot, AttributeDef):
                    held = values.get((cid, slot.id))
                    value = format_attribute(slot, held) if held else None
                    shown.append(Slot("attribute", slot.id, slot.label, value))
                else:
                    raw = measured.get((cid, slot.id))
                    value = format_measure(slot, raw) if raw is not None else None
                    shown.append(Slot("measure", slot.id, slot.label, value))
            cards.append(
                Card(
                    id=cid,
                    name=f"{first} {last}".strip(),
                    initials=((first[:1] + last[:1]) or "?").upper(),
                    email=email,
                    phone=phone,
                    slots=tuple(shown),
                )
            )
        return cards

    def client_book_partial(self, environ: dict | None = None) -> str:
        from flask import render_template

        from storeserver.book.services import BookPage

        context = self._context(CLIENT_BOOK_URL, self.associate, environ)
        try:
            con = self.con
            le = self.store.legal_entity_id
            (book,) = con.execute(
                "SELECT id FROM client_book WHERE staff_id = ? AND legal_entity_id = ?",
                (ASSOCIATE, le),
            ).fetchone()
            args = (book, le, *FILTER)
            held = con.execute(self.HELD, (book,)).fetchone()[0]
            total = con.execute(f"SELECT count(*) {self.MATCHING}", args).fetchone()[0]
            rows = con.execute(
                f"SELECT {self.COLUMNS} {self.MATCHING} "
                "ORDER BY c.sort_name, c.id LIMIT 50",
                args,
            ).fetchall()
            pages = max(1, math.ceil(total / 50))
            page = BookPage(
                None, self._cards(rows), total, 1, pages, self.filters, self.ref, held
            )
            return render_template(
                "book/_card_list.html",
                page=page,
                filters=self.filters,
                query=self.query,
            )
        finally:
            context.pop()

    def store_book_partial(self) -> str:
        from flask import render_template

        from storeserver.store_book.services import StoreBookPage

        context = self._context(STORE_BOOK_URL, self.manager, None)
        try:
            con = self.con
            args = {
                "le": self.store.legal_entity_id,
                "store": STORE,
                "attribute": FILTER[0],
                "value": FILTER[1],
            }
            held = con.execute(
                f"SELECT count(*) {self.STORE_MEMBERS}", args
            ).fetchone()[0]
            total = con.execute(
                f"SELECT count(*) {self.STORE_MATCHING}", args
            ).fetchone()[0]
            rows = con.execute(
                f"SELECT {self.COLUMNS} {self.STORE_MATCHING} "
                "ORDER BY c.sort_name, c.id LIMIT 50",
                args,
            ).fetchall()
            ids = [r[0] for r in rows]
            marks = ", ".join(f":c{n}" for n in range(len(ids)))
            args.update((f"c{n}", cid) for n, cid in enumerate(ids))
            owners_of: dict[str, list[Owner]] = {}
            for cid, first, last, enabled in con.execute(
                "SELECT m.customer_id, s.first_name, s.last_name, s.login_enabled "
                "FROM membership m JOIN client_book b ON b.id = m.book_id "
                f"JOIN staff s ON s.id = b.staff_id WHERE m.customer_id IN ({marks}) "
                f"AND b.id IN ({self.STORE_BOOKS}) ORDER BY s.last_name",
                args,
            ):
                owners_of.setdefault(cid, []).append(
                    Owner(f"{first} {last}".strip(), bool(enabled))
                )
            args["key"] = self.session_key
            selected = {
                c
                for (c,) in con.execute(
                    "SELECT customer_id FROM store_book_selection WHERE "
                    f"login_session_id = :key AND customer_id IN ({marks})",
                    args,
                )
            }
            selection_count = con.execute(
                "SELECT count(*) FROM store_book_selection s "
                "JOIN customer c ON c.id = s.customer_id "
                "WHERE s.login_session_id = :key AND c.active AND EXISTS "
                "(SELECT m.customer_id FROM membership m WHERE "
                f"m.customer_id = s.customer_id AND m.book_id IN ({self.STORE_BOOKS}))",
                args,
            ).fetchone()[0]
            page = StoreBookPage(
                cards=self._cards(rows),
                owners_of=owners_of,
                selected=selected,
                total=total,
                held_total=held,
                page=1,
                pages=max(1, math.ceil(total / 50)),
                filters=self.filters,
                owner_filter=[],
                owners=[],
                reference=self.ref,
                selection_count=selection_count,
            )
            context_ = {"page": page, "filters": self.filters, "query": self.query}
            body = render_template("store_book/_card_list.html", **context_)
            body += render_template("store_book/_selection.html", oob=True, **context_)
            body += render_template(
                "store_book/_reassign_confirm.html", count=0, oob=True
            )
            return body
        finally:
            context.pop()


@dataclass
class Owner:
    name: str
    login_enabled: bool


CSRF = re.compile(r'name="csrf_token" value="[^"]*"')


def same_html(app_html: str, floor_html: str, what: str) -> None:
    if CSRF.sub("", app_html) != CSRF.sub("", floor_html):
        for n, (a, b) in enumerate(
            zip(app_html.splitlines(), floor_html.splitlines(), strict=False)
        ):
            if CSRF.sub("", a) != CSRF.sub("", b):
                print(f"line {n}:\n  app:   {a}\n  floor: {b}", file=sys.stderr)
                break
        sys.exit(f"the floor's {what} differs from the app's")


def interleaved(calls, runs: int) -> list[list[float]]:
    """Time each call `runs` times, taking turns, after one warm-up call each."""
    for call in calls:
        call()
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(runs):
        for call, out in zip(calls, samples, strict=True):
            started = time.perf_counter()
            call()
            out.append((time.perf_counter() - started) * 1000)
    return samples


def signed_in(app, staff_id: str):
    from storeserver.demo import DEMO_PASSWORD

    client = app.test_client()
    response = client.post(
        "/login", data={"staff_id": staff_id, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302, response.status_code
    return client


def getter(client, url: str):
    def call() -> str:
        response = client.get(url, headers=HTMX)
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)

    return call


def session_key(client) -> str:
    from storeserver.auth.services import SESSION_KEY

    with client.session_transaction() as session:
        return session[SESSION_KEY]


# -- throughput over waitress -------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, path: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server on port {port} stopped: {process.stderr.read()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the server on port {port} did not start")


def app_cookie(port: int, staff_id: str) -> str:
    """Sign in over HTTP, form token and all; return the session cookie."""
    import requests

    from storeserver.demo import DEMO_PASSWORD

    with requests.Session() as http:
        form = http.get(f"http://127.0.0.1:{port}/login", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
        token = token or re.search(r'name="csrf_token" value="([^"]+)"', form)
        response = http.post(
            f"http://127.0.0.1:{port}/login",
            data={
                "csrf_token": token.group(1),
                "staff_id": staff_id,
                "password": DEMO_PASSWORD,
            },
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.status_code
        return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


def load(port: int, path: str, headers: dict, seconds: float) -> float:
    """Requests per second that CLIENTS keep-alive clients get in `seconds`."""
    done = [0] * CLIENTS
    failures = []
    start = threading.Barrier(CLIENTS + 1)
    stop = 0.0

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait()
        while time.perf_counter() < stop:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                failures.append(response.status)
                return
            done[n] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    stop = started + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        sys.exit(f"the server on port {port} answered {failures[0]}")
    return sum(done) / elapsed


def child_floor_server(port: str) -> None:
    """Serve the raw-sqlite3 client-book partial with waitress, as `serve` would."""
    import waitress

    from storeserver import create_app

    app = create_app({"LOG_LEVEL": "WARNING"})
    database = Path(app.instance_path) / "storeserver.sqlite3"
    raw = RawPages(app, database, session_key="")

    def floor_app(environ, start_response):
        body = raw.client_book_partial(environ).encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]

    tune_gc()
    waitress.serve(
        floor_app, host="127.0.0.1", port=int(port), threads=app.config["THREADS"]
    )


def measure_throughput(store: Path, rounds: int, seconds: float):
    env = child_env(store)
    app_port, floor_port = free_port(), free_port()
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from storeserver.cli import main; main()",
                "serve",
                "--port",
                str(app_port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        ),
        subprocess.Popen(
            [sys.executable, __file__, "--child", "floor-server", str(floor_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        ),
    ]
    try:
        wait_for(app_port, "/healthz", servers[0])
        wait_for(floor_port, "/", servers[1])
        app_headers = {**HTMX, "Cookie": app_cookie(app_port, ASSOCIATE)}
        # Warm both (connections, caches), then take turns so that the
        # machine's other load falls on both alike.
        load(app_port, CLIENT_BOOK_URL, app_headers, 1.0)
        load(floor_port, CLIENT_BOOK_URL, HTMX, 1.0)
        app_rates, floor_rates = [], []
        for _ in range(rounds):
            app_rates.append(load(app_port, CLIENT_BOOK_URL, app_headers, seconds))
            floor_rates.append(load(floor_port, CLIENT_BOOK_URL, HTMX, seconds))
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    return app_rates, floor_rates


# -- reads while a pull runs --------------------------------------------------------


def reads_during_pull(store: Path, tomorrow: Path, read, idle_runs: int):
    """Client-book reads before, during and after tomorrow's pull in another process.

    Reads count as "during" from the pull's first progress line (the command
    has started up and is applying records) until the process ends.
    """
    feeds = store / "hq" / "feed"
    idle = interleaved([read], idle_runs)[0]
    shutil.copy(tomorrow, feeds / tomorrow.name)
    pull = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from storeserver.cli import main; main()",
            "sync",
            "pull",
        ],
        env=child_env(store),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    applying = threading.Event()
    errors: list[str] = []

    def watch() -> None:
        for line in pull.stderr:
            errors.append(line)
            if "records" in line:
                applying.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    during = []
    deadline = time.monotonic() + 600
    while pull.poll() is None and time.monotonic() < deadline:
        started = time.perf_counter()
        read()
        elapsed = (time.perf_counter() - started) * 1000
        if applying.is_set():
            during.append(elapsed)
    pull.wait(timeout=600)
    watcher.join(timeout=10)
    out = pull.stdout.read()
    if pull.returncode or "full feed applied" not in out:
        sys.exit(f"tomorrow's pull failed:\n{out}\n{''.join(errors)}")
    idle += interleaved([read], idle_runs)[0]
    seconds = float(re.search(r"Elapsed: ([0-9.]+) s", out).group(1))
    return during, idle, seconds


def reads_during_scheduled_pull(app, store: Path, feed: Path, read, idle_runs: int):
    """Client-book reads while the server's own schedule runs a pull."""
    from storeserver.sync import schedule

    idle = interleaved([read], idle_runs)[0]
    shutil.copy(feed, store / "hq" / "feed" / feed.name)
    job = threading.Thread(target=schedule._run, args=(app, "pull"))
    started = time.perf_counter()
    job.start()
    during = []
    while job.is_alive():
        began = time.perf_counter()
        read()
        during.append((time.perf_counter() - began) * 1000)
    seconds = time.perf_counter() - started
    idle += interleaved([read], idle_runs)[0]
    return during, idle, seconds


def tune_gc() -> None:
    """As `storeserver serve` does: start-up objects frozen, fewer collections."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


# -- query plans --------------------------------------------------------------------


def print_plans(app, client, url: str) -> None:
    """The counting and paging statements of a partial, with SQLite's plan for each."""
    import sqlalchemy as sa

    from storeserver.extensions import db

    sent = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        sent.append((statement, parameters))

    with app.app_context():
        engine = db.engine
        database = engine.url.database
    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        client.get(url, headers=HTMX)
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    con = sqlite3.connect(database)
    print(f"## {url}\n")
    for statement, parameters in sent:
        if (
            "count(*)" not in statement
            and "ORDER BY customer.sort_name" not in statement
        ):
            continue
        print("```sql\n" + " ".join(statement.split()) + "\n```\n\n```")
        depth = {0: -1}
        for node, parent, _, detail in con.execute(
            "EXPLAIN QUERY PLAN " + statement, parameters
        ):
            depth[node] = depth.get(parent, -1) + 1
            print("  " * depth[node] + detail)
        print("```\n")
    con.close()


# -- main ---------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--book", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=300, help="samples per page")
    parser.add_argument("--pulls", type=int, default=3, help="HQ pulls timed")
    parser.add_argument("--rounds", type=int, default=12, help="throughput rounds")
    parser.add_argument("--seconds", type=float, default=1.5, help="per round")
    parser.add_argument("--keep", action="store_true", help="keep the store folder")
    parser.add_argument(
        "--plans",
        action="store_true",
        help="only build the store and print the filter partials' query plans",
    )
    args = parser.parse_args()
    if args.plans:
        args.pulls = 1

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="storeserver-flagship-"))
    try:
        tonight, tomorrow, after = write_feeds(
            work / "feeds", args.customers, args.book
        )
        empty = empty_database(work)
        store, pulls, floor_pulls = measure_pulls(work, empty, tonight, args.pulls)
        (store / "hq" / "feed").mkdir(parents=True)

        os.environ["STORESERVER_INSTANCE_PATH"] = str(store)
        from storeserver import create_app

        app = create_app({"WTF_CSRF_ENABLED": False, "LOG_LEVEL": "WARNING"})
        associate = signed_in(app, ASSOCIATE)
        manager = signed_in(app, MANAGER)
        raw = RawPages(app, store / "storeserver.sqlite3", session_key(manager))
        client_book = getter(associate, CLIENT_BOOK_URL)
        store_book = getter(manager, STORE_BOOK_URL)
        same_html(client_book(), raw.client_book_partial(), "client book partial")
        same_html(store_book(), raw.store_book_partial(), "store book partial")
        if args.plans:
            print_plans(app, associate, CLIENT_BOOK_URL)
            print_plans(app, associate, "/book?q=mar")
            print_plans(app, manager, STORE_BOOK_URL)
            return
        tune_gc()

        client, client_floor, shop, shop_floor = interleaved(
            [client_book, raw.client_book_partial, store_book, raw.store_book_partial],
            args.runs,
        )
        rates, floor_rates = measure_throughput(store, args.rounds, args.seconds)
        during, idle, repull = reads_during_pull(
            store, tomorrow, client_book, args.runs // 2
        )
        in_server, in_server_idle, scheduled = reads_during_scheduled_pull(
            app, store, after, client_book, args.runs // 2
        )
        records = pulls[0]["records"]
        figures = [
            Figure(
                "client book filter partial (ms)",
                client,
                client_floor,
                "p50 <= 1.5x",
                "p50",
                1.5,
            ),
            Figure(
                "store book filter partial (ms)",
                shop,
                shop_floor,
                "p50 <= 1.5x",
                "p50",
                1.5,
            ),
            Figure(
                f"throughput, {CLIENTS} clients (req/s)",
                rates,
                floor_rates,
                "p50 >= 0.8x",
                "p50",
                0.8,
                higher_is_better=True,
            ),
            Figure(
                "HQ pull (s)",
                [p["seconds"] for p in pulls],
                [p["seconds"] for p in floor_pulls],
                "p50 <= 2x",
                "p50",
                2.0,
            ),
            Figure(
                "HQ pull peak RSS (MB)",
                [p["rss_mb"] for p in pulls],
                [p["rss_mb"] for p in floor_pulls],
                "max <= 150 MB",
                "max",
                150.0,
            ),
            Figure(
                "reads during a CLI pull (ms)",
                during,
                idle,
                "p99 <= 3x idle",
                "p99",
                3.0,
            ),
            Figure(
                "reads during a scheduled pull (ms)",
                in_server,
                in_server_idle,
                "p99 <= 3x idle",
                "p99",
                3.0,
            ),
        ]
        header = "\n".join(
            (
                f"flagship store: {args.customers:,} customers, {args.book:,} in "
                f"{ASSOCIATE}'s book; HQ feed of {records:,} records "
                f"({tonight.stat().st_size / 1e6:.0f} MB)",
                f"pages: filter a.{FILTER[0]}={FILTER[1]}, {args.runs} samples each "
                f"beside the floor; throughput: {args.rounds} rounds of "
                f"{args.seconds:g} s each",
                f"pull: {len(pulls)} runs into an empty store beside the floor; "
                f"the pull process holds {pulls[0]['start_rss_mb']:.0f} MB "
                "before it starts",
                "reads during a pull: client-book partials while the next "
                "night's full feed goes into the filled store, by `storeserver "
                f"sync pull` by hand ({repull:.1f} s, {len(during)} reads), then "
                "by the schedule of the process serving the reads "
                f"({scheduled:.1f} s, {len(in_server)} reads)",
                f"run took {time.perf_counter() - started:.0f} s",
            )
        )
        print_table(figures, header)
    finally:
        if args.keep:
            print(f"store kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def child_main(command: str, *args: str) -> None:
    {
        "migrate": child_migrate,
        "pull": child_pull,
        "floor-pull": child_floor_pull,
        "floor-server": child_floor_server,
    }[command](*args)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child_main(*sys.argv[2:])
    else:
        main()
