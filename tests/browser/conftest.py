"""Browser tests: the app served by waitress, driven through Debian's Chromium.

Playwright cannot download its own browsers on the machines this runs on, so
the launch arguments point it at /usr/bin/chromium. Each test gets a fresh
store (the parent conftest's `app` on its own SQLite file) with a small client
book for A1, served on a free port of 127.0.0.1. Modules that only read, or
whose tests build on each other, share one store for the module instead
(`module_store`): a store and a sign-in cost more than most checks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from waitress.server import create_server

from storeserver import create_app

from ..conftest import (
    ALL_BOOK_OPS,
    HQ,
    PASSWORD,
    STORE_IT_OPS,
    base_records,
    customer,
    staff,
    value,
)

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# The windows the pages are made for: shop-floor tablets either way up, and a
# phone.
TABLET = {"width": 1024, "height": 768}
SMALL_TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # A `pytestmark` in a conftest marks nothing, and this hook sees every
    # collected item: mark the tests of this folder as browser tests.
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    # A fixed language and a tablet-sized window: the pages are tablet first,
    # and English text does not depend on the machine's locale.
    return {
        **browser_context_args,
        "locale": "en-GB",
        "viewport": TABLET,
    }


# Customers of A1's book (id, first name, last name, likes).
IN_BOOK = [
    ("C1", "Zoë", "Martin", ["Chaussures"]),
    ("C2", "Jean", "Dupont", ["Sacs"]),
    ("C3", "Léa", "Bernard", ["Chaussures", "Bijoux"]),
    ("C4", "Paul", "Durand", ["Sacs & ceintures"]),
]
# In no book: A1 can add her.
FREE = ("C5", "Margaux", "Laurent")
# In B1's book (Marc Exemple): exclusive membership refuses it to A1.
HELD = ("C6", "Hugo", "Petit")


@dataclass
class LiveServer:
    url: str
    app: object

    def __call__(self, path: str = "/") -> str:
        return self.url + path


def book_records() -> list[tuple]:
    records: list[tuple] = []
    for cid, first, last, _likes in IN_BOOK:
        records.append(customer(cid, first, last))
    records.append(customer(*FREE))
    records.append(customer(*HELD))
    for cid, _first, _last, likes in IN_BOOK:
        records.append(value(cid, "aime", likes))
    records.append(value(FREE[0], "aime", ["Bijoux"]))
    records += [
        ("client_book", {"id": "CB-1", "legal_entity": "LE1", "staff": "A1"}),
        ("client_book", {"id": "CB-2", "legal_entity": "LE1", "staff": "B1"}),
    ]
    records += [("membership", {"book": "CB-1", "customer": c[0]}) for c in IN_BOOK]
    records.append(("membership", {"book": "CB-2", "customer": HELD[0]}))
    return records


@contextmanager
def serving(app) -> Iterator[LiveServer]:
    """Serve the app with waitress on a free port of 127.0.0.1."""
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.effective_port}", app)
    finally:
        stop(server, thread)


def stop(server, thread: threading.Thread) -> None:
    """Stop waitress at once, open connections included.

    Why: closing the server from this thread races its loop (select() on a
    closed socket fails in the server's thread), and the loop runs on while
    the browser keeps connections open. The loop's own trigger closes every
    socket from inside the loop, which then ends.
    """
    from waitress import wasyncore

    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    thread.join(timeout=5)
    server.task_dispatcher.shutdown()


@pytest.fixture
def live_server(app, world) -> Iterator[LiveServer]:
    """The store with A1's book of four customers, served on a free port."""
    world.pull(book_records())
    with serving(app) as server:
        yield server


@dataclass
class ModuleStore:
    """A store shared by the tests of one module: its server and its HQ."""

    server: LiveServer
    hq: HQ

    @property
    def app(self):
        return self.server.app

    def __call__(self, path: str = "/") -> str:
        return self.server(path)


@pytest.fixture(scope="module")
def module_app_config() -> dict:
    """The test mapping of the module's store; a module may override it."""
    return {}


@pytest.fixture(scope="module")
def module_store(
    tmp_path_factory, databases, module_app_config
) -> Iterator[ModuleStore]:
    """One store for the whole module: `world` and A1's book, served.

    A module using it uses no per-test `app`: on PostgreSQL both would share
    one database, which each test's `app` empties first.
    """
    folder = tmp_path_factory.mktemp("module-store")
    url = databases.create(folder)
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "STORE_ID": "S1",
        "IDLE_MINUTES": 0,
        **module_app_config,
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORESERVER_INSTANCE_PATH", str(folder / "instance"))
        app = create_app(config)
    hq = HQ(app)
    hq.pull(base_records(), kind="full")
    hq.pull(book_records())
    try:
        with serving(app) as server:
            yield ModuleStore(server, hq)
    finally:
        from storeserver.extensions import db

        with app.app_context():
            db.engine.dispose()


STORE_ZONE = ZoneInfo("Europe/Paris")  # the zone of `base_records`' store


def store_today() -> date:
    return datetime.now(STORE_ZONE).date()


def furnish(store: ModuleStore) -> None:
    """A little of everything to show on the pages.

    Store IT (T1), an associate with an empty book (E1), Zoë Martin's birthday
    today, a brand and a measure on her card, a colleague's note and one of
    A1's, and two of A1's activities with her today (a call, a fitting).
    """
    from storeserver.activities.services import ActivityInput, create_activity
    from storeserver.extensions import db
    from storeserver.notes.services import add_note
    from storeserver.org.models import Staff, Store

    today = store_today()
    store.hq.pull(
        [
            staff("T1", "Tom", "Informatique", STORE_IT_OPS),
            staff("E1", "Eva", "Nouvelle", ALL_BOOK_OPS),
            value("C1", "anniversaire", today.strftime("--%m-%d")),
            value("C1", "marque", "Maison Test"),
            ("measure_value", {"customer": "C1", "measure": "churn", "value": 0.42}),
        ]
    )
    with store.app.test_request_context():
        marc = db.session.get(Staff, "B1")
        ines = db.session.get(Staff, "A1")
        shop = db.session.get(Store, "S1")
        add_note(marc, "C1", "Came in for the winter sale")
        add_note(ines, "C1", "Prefers Tuesdays")
        call = ActivityInput("CALL", "Asked about the bags", day=today)
        create_activity(ines, shop, "C1", call)
        fitting = ActivityInput(
            "APPT", "Fitting", day=today, start=time(10), end=time(10, 45)
        )
        create_activity(ines, shop, "C1", fitting)


def sign_in(page: Page, server, staff_id: str = "A1") -> None:
    """Sign in through the login form; lands on today's page."""
    page.goto(server("/login"))
    page.locator("#staff_id").fill(staff_id)
    page.locator("#password").fill(PASSWORD)
    # The button by its place, not its text: the page may be in French.
    page.locator(".login button[type=submit]").click()
    expect(page).to_have_url(server("/"))


@contextmanager
def signed_in(
    browser: Browser, server, staff_id: str, **context_args
) -> Iterator[Page]:
    """A page of a new browser context, signed in as the staff member."""
    context: BrowserContext = browser.new_context(
        **{"locale": "en-GB", "viewport": TABLET, **context_args}
    )
    try:
        page = context.new_page()
        sign_in(page, server, staff_id)
        yield page
    finally:
        context.close()
