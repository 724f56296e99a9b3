"""Browser tests: the app served by waitress, driven through Debian's Chromium.

Playwright cannot download its own browsers on the machines this runs on, so
the launch arguments point it at /usr/bin/chromium. Each test gets a fresh
store (the parent conftest's `app` on its own SQLite file) with a small client
book for A1, served on a free port of 127.0.0.1.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from waitress.server import create_server

from ..conftest import customer, value

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
        "viewport": {"width": 1024, "height": 768},
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


@pytest.fixture
def live_server(app, world) -> Iterator[LiveServer]:
    """The store with A1's book of four customers, served on a free port."""
    world.pull(book_records())
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.effective_port}", app)
    finally:
        server.close()
        thread.join(timeout=5)
