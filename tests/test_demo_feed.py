"""Tests for the demo HQ feeds: the protocol's format, references, determinism.

These tests read the files as the folder connector would, without the app, so
they pin the demo data to the documented HQ protocol.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.security import check_password_hash

from storeserver.demo import DEMO_PASSWORD, DEMO_STORE, demo_logins, write_demo_feeds

Line = dict[str, Any]

WATERMARK = "2026-12-03T02:00:00Z"
STORES = ("PAR-01", "LYO-01")

# Entity order of the protocol table; HQ writes records in this order.
ENTITY_ORDER = (
    "legal_entity",
    "number_sequence",
    "address_book",
    "store",
    "staff",
    "attribute_group",
    "attribute",
    "measure",
    "activity_type",
    "settings",
    "customer",
    "attribute_value",
    "measure_value",
    "client_book",
    "membership",
)

# Fields marked * in the protocol table.
REQUIRED: dict[str, tuple[str, ...]] = {
    "legal_entity": ("id", "name"),
    "number_sequence": ("id", "legal_entity", "prefix", "next"),
    "address_book": ("id", "legal_entity", "name"),
    "store": ("id", "legal_entity", "name", "time_zone"),
    "staff": ("id", "legal_entity", "first_name", "last_name"),
    "attribute_group": ("id", "legal_entity", "name"),
    "attribute": ("id", "group", "label", "type", "display_order"),
    "measure": ("id", "legal_entity", "label", "format"),
    "activity_type": ("id", "legal_entity", "code", "label"),
    "settings": ("legal_entity",),
    "customer": ("id", "legal_entity", "account_number", "last_name"),
    "attribute_value": ("customer", "attribute", "value"),
    "measure_value": ("customer", "measure", "value"),
    "client_book": ("id", "legal_entity", "staff"),
    "membership": ("book", "customer"),
}

# entity -> (field, entity it refers to); list fields hold several ids.
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "number_sequence": (("legal_entity", "legal_entity"),),
    "address_book": (("legal_entity", "legal_entity"),),
    "store": (("legal_entity", "legal_entity"), ("address_books", "address_book")),
    "staff": (("legal_entity", "legal_entity"), ("address_books", "address_book")),
    "attribute_group": (("legal_entity", "legal_entity"),),
    "attribute": (("group", "attribute_group"),),
    "measure": (("legal_entity", "legal_entity"),),
    "activity_type": (("legal_entity", "legal_entity"),),
    "settings": (
        ("legal_entity", "legal_entity"),
        ("number_sequence", "number_sequence"),
        ("attribute_group", "attribute_group"),
        ("card_measures", "measure"),
    ),
    "customer": (
        ("legal_entity", "legal_entity"),
        ("address_books", "address_book"),
    ),
    "attribute_value": (("customer", "customer"), ("attribute", "attribute")),
    "measure_value": (("customer", "customer"), ("measure", "measure")),
    "client_book": (("legal_entity", "legal_entity"), ("staff", "staff")),
    "membership": (
        ("book", "client_book"),
        ("customer", "customer"),
        ("added_by", "staff"),
    ),
}

INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
YEARLESS = re.compile(r"^--(\d{2})-(\d{2})$")


def _instant(text: str) -> datetime:
    assert INSTANT.match(text), text
    return datetime.fromisoformat(text)


def _roles(data: dict[str, Any]) -> list[str]:
    return data.get("roles", ["customer"])


def _parse(path: Path) -> list[Line]:
    """Read a feed strictly: UTF-8, one JSON object per line, no blank lines."""
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    assert text.endswith("\n"), f"{path.name}: last line is not terminated"
    assert "\r" not in text
    lines = []
    for number, line in enumerate(text[:-1].split("\n"), start=1):
        assert line.strip(), f"{path.name} line {number}: blank line"
        parsed = json.loads(line)
        assert isinstance(parsed, dict), f"{path.name} line {number}: not an object"
        lines.append(parsed)
    return lines


def _records(lines: list[Line]) -> list[tuple[int, str, dict[str, Any]]]:
    """(line number, entity, data) for each record line."""
    return [(n, ln["entity"], ln["data"]) for n, ln in enumerate(lines[1:-1], 2)]


def _by_entity(lines: list[Line], entity: str) -> list[dict[str, Any]]:
    return [data for _n, ent, data in _records(lines) if ent == entity]


def _check_envelope(lines: list[Line], store: str) -> None:
    assert lines[0] == {
        "type": "header",
        "format": 1,
        "store": store,
        "kind": "full",
        "watermark": WATERMARK,
    }
    assert lines[-1] == {"type": "trailer", "count": len(lines) - 2}
    for number, line in enumerate(lines[1:-1], start=2):
        assert line["type"] == "record", f"line {number}"
        assert line["op"] == "upsert", f"line {number}"
        assert line["entity"] in ENTITY_ORDER, f"line {number}"
        assert isinstance(line["data"], dict), f"line {number}"


def _check_order(lines: list[Line]) -> None:
    rank = [ENTITY_ORDER.index(entity) for _n, entity, _d in _records(lines)]
    assert rank == sorted(rank), "records are not in the protocol's entity order"


def _check_required(lines: list[Line]) -> None:
    for number, entity, data in _records(lines):
        for field in REQUIRED[entity]:
            assert data.get(field) is not None, (
                f"line {number}: {entity} record lacks required field {field!r}"
            )


def _check_references(lines: list[Line]) -> None:
    """Every reference names something defined on an earlier line."""
    held: dict[str, set[str]] = defaultdict(set)
    for number, entity, data in _records(lines):
        for field, target in REFERENCES.get(entity, ()):
            if field not in data:
                continue
            value = data[field]
            for key in value if isinstance(value, list) else [value]:
                assert key in held[target], (
                    f"line {number}: {entity}.{field} {key!r} is not defined earlier"
                )
        if entity == "customer" and "customer" not in _roles(data):
            continue  # a worker or vendor: the store skips it, so it holds nothing
        if "id" in data:
            held[entity].add(data["id"])


def _check_values(lines: list[Line]) -> None:
    """Attribute and measure values fit their attribute type or measure format."""
    attributes = {a["id"]: a for a in _by_entity(lines, "attribute")}
    measures = {m["id"]: m for m in _by_entity(lines, "measure")}
    watermark = _instant(WATERMARK)
    for value in _by_entity(lines, "attribute_value"):
        attribute, item = attributes[value["attribute"]], value["value"]
        kind = attribute["type"]
        if kind == "multi_choice":
            assert isinstance(item, list)
            assert item
            assert len(set(item)) == len(item)
            assert set(item) <= set(attribute["values"]), item
        elif kind == "single_choice":
            assert item in attribute["values"], item
        elif kind == "text":
            assert isinstance(item, str)
            assert item
        elif kind == "boolean":
            assert isinstance(item, bool)
        elif kind == "date":
            assert date.fromisoformat(item) < watermark.date()
            assert len(item) == 10
        elif kind == "yearless_date":
            match = YEARLESS.match(item)
            assert match, item
            date(2024, int(match[1]), int(match[2]))  # valid in a leap year
        else:
            pytest.fail(f"unexpected attribute type {kind}")
    for value in _by_entity(lines, "measure_value"):
        measure_format = measures[value["measure"]]["format"]
        if measure_format == "percent":
            assert 0 <= value["value"] <= 1
            assert round(value["value"], 2) == value["value"]
        elif measure_format == "text":
            assert isinstance(value["value"], str)
            assert value["value"]
        assert _instant(value["as_of"]) < watermark


def _check_feed(lines: list[Line], store: str) -> None:
    _check_envelope(lines, store)
    _check_order(lines)
    _check_required(lines)
    _check_references(lines)
    _check_values(lines)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Write the default demo feeds once for the module."""
    return write_demo_feeds(tmp_path_factory.mktemp("feeds"))


@pytest.fixture(scope="module")
def feeds(written: list[Path]) -> dict[str, list[Line]]:
    """Parse each store's feed, by store id."""
    parsed = {}
    for path in written:
        lines = _parse(path)
        parsed[lines[0]["store"]] = lines
    return parsed


def test_one_file_per_store(written: list[Path]) -> None:
    assert [path.name for path in written] == [
        f"{store}-20261203T020000Z-full.ndjson" for store in STORES
    ]
    assert DEMO_STORE in STORES
    assert sorted(p.name for p in written[0].parent.iterdir()) == sorted(
        p.name for p in written
    ), "no temporary file is left behind"


@pytest.mark.parametrize("store", STORES)
def test_feed_follows_protocol(feeds: dict[str, list[Line]], store: str) -> None:
    _check_feed(feeds[store], store)


def test_small_feed_follows_protocol(tmp_path: Path) -> None:
    for path in write_demo_feeds(tmp_path, customers=12, seed=7):
        lines = _parse(path)
        _check_feed(lines, lines[0]["store"])


def test_store_configuration(feeds: dict[str, list[Line]]) -> None:
    for store, lines in feeds.items():
        (record,) = _by_entity(lines, "store")
        assert record["id"] == store
        assert record["time_zone"] == "Europe/Paris"
        assert record["default_locale"] == "fr"
        assert "AB-SHARED" in record["address_books"]
        (settings,) = _by_entity(lines, "settings")
        assert settings["exclusive"] is True
        assert settings["card_measures"] == ["churn", "nba"]
        kinds = {a["id"]: a["type"] for a in _by_entity(lines, "attribute")}
        assert kinds == {
            "likes": "multi_choice",
            "brand": "single_choice",
            "size": "single_choice",
            "birthday": "yearless_date",
            "anniversary": "date",
            "gift_note": "text",
            "vip": "boolean",
        }
        types = _by_entity(lines, "activity_type")
        assert any(t["appointment"] for t in types)
        assert any(t["active"] is False for t in types)


def test_staff_and_customer_counts(feeds: dict[str, list[Line]]) -> None:
    staff = {s["id"]: s for ls in feeds.values() for s in _by_entity(ls, "staff")}
    assert len(staff) >= 12
    parties = [c for lines in feeds.values() for c in _by_entity(lines, "customer")]
    customers = {c["id"] for c in parties if "customer" in _roles(c)}
    assert len(customers) >= 5000
    others = {c["id"] for c in parties if "customer" not in _roles(c)}
    assert len(others) == 3
    assert any(_roles(c) == ["worker", "customer"] for c in parties)
    assert not any(
        c["email"].split("@")[1] not in {"example.org", "example.com"}
        for c in parties
        if "email" in c
    )
    for lines in feeds.values():
        store_staff = _by_entity(lines, "staff")
        assert any("716" in s["operations"] for s in store_staff), "a manager"
        assert any("store.admin" in s["operations"] for s in store_staff), "store IT"


def test_demo_staff(feeds: dict[str, list[Line]]) -> None:
    paris = {s["id"]: s for s in _by_entity(feeds["PAR-01"], "staff")}
    lyon = {s["id"]: s for s in _by_entity(feeds["LYO-01"], "staff")}
    assert {"714", "715"} <= set(paris["S1001"]["operations"])
    assert {"712", "713", "714", "715", "716"} <= set(paris["S1002"]["operations"])
    assert set(paris) & set(lyon), "someone works in both stores"
    everyone = [*paris.values(), *lyon.values()]
    assert any(s["login_enabled"] is False for s in everyone)
    assert any(set(s["operations"]) == {"712", "customer.view"} for s in everyone)
    books = {b["id"]: b["staff"] for b in _by_entity(feeds["PAR-01"], "client_book")}
    (s1001_book,) = [book for book, owner in books.items() if owner == "S1001"]
    members = _by_entity(feeds["PAR-01"], "membership")
    assert sum(m["book"] == s1001_book for m in members) >= 100


def test_books_are_exclusive(feeds: dict[str, list[Line]]) -> None:
    books_of: dict[str, set[str]] = defaultdict(set)
    owner_of: dict[str, str] = {}
    watermark = _instant(WATERMARK)
    for lines in feeds.values():
        for book in _by_entity(lines, "client_book"):
            assert owner_of.setdefault(book["id"], book["staff"]) == book["staff"]
        for membership in _by_entity(lines, "membership"):
            books_of[membership["customer"]].add(membership["book"])
            assert membership["added_by"] == owner_of[membership["book"]]
            added_at = _instant(membership["added_at"])
            assert added_at.year == 2026
            assert added_at < watermark
    assert books_of
    assert all(len(books) == 1 for books in books_of.values())


def test_number_sequence_is_above_books(feeds: dict[str, list[Line]]) -> None:
    for lines in feeds.values():
        (sequence,) = _by_entity(lines, "number_sequence")
        assert sequence["prefix"] == "CB-"
        assert sequence["width"] == 6
        for book in _by_entity(lines, "client_book"):
            assert book["id"].startswith("CB-")
            assert int(book["id"][3:]) < sequence["next"]


def test_feb_29_birthdays(feeds: dict[str, list[Line]]) -> None:
    birthdays = [
        v["value"]
        for lines in feeds.values()
        for v in _by_entity(lines, "attribute_value")
        if v["attribute"] == "birthday"
    ]
    assert "--02-29" in birthdays


def test_password_hashes_accept_demo_password(feeds: dict[str, list[Line]]) -> None:
    assert DEMO_PASSWORD == "demo1234"
    staff = {s["id"]: s for ls in feeds.values() for s in _by_entity(ls, "staff")}
    for member in staff.values():
        assert check_password_hash(member["password_hash"], DEMO_PASSWORD)
        assert not check_password_hash(member["password_hash"], "wrong")


def test_demo_logins_match_feeds(feeds: dict[str, list[Line]]) -> None:
    staff = {s["id"]: s for ls in feeds.values() for s in _by_entity(ls, "staff")}
    logins = demo_logins()
    assert [login["id"] for login in logins] == sorted(staff)
    for login in logins:
        member = staff[login["id"]]
        assert login["name"] == f"{member['first_name']} {member['last_name']}"
        assert login["rights"]
        for store in login["stores"]:
            assert login["id"] in {s["id"] for s in _by_entity(feeds[store], "staff")}


def test_deterministic(tmp_path: Path, written: list[Path]) -> None:
    # Run the command line in a fresh interpreter with another hash seed, so
    # that any dependence on set or dict ordering of strings would show.
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONHASHSEED="12345")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root), env.get("PYTHONPATH", "")) if p
    )
    out = tmp_path / "again"
    subprocess.run(
        [sys.executable, "-m", "storeserver.demo", "--out", str(out)],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    for path in written:
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name


def test_seed_changes_content(tmp_path: Path) -> None:
    first = write_demo_feeds(tmp_path / "a", customers=20, seed=1)
    second = write_demo_feeds(tmp_path / "b", customers=20, seed=2)
    assert first[0].read_bytes() != second[0].read_bytes()
