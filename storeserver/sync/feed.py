"""Reading an HQ feed: the header, the records and the trailer (docs/hq-protocol.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

FORMAT_VERSION = 1
KINDS = ("full", "delta")
OPS = ("upsert", "delete")

# For each entity: the key fields (required on delete) and the fields an
# upsert must carry. Entities are listed in the order HQ writes them.
ENTITIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "legal_entity": (("id",), ("id", "name")),
    "number_sequence": (("id",), ("id", "legal_entity", "prefix", "next")),
    "address_book": (("id",), ("id", "legal_entity", "name")),
    "store": (("id",), ("id", "legal_entity", "name", "time_zone")),
    "staff": (("id",), ("id", "legal_entity", "first_name", "last_name")),
    "attribute_group": (("id",), ("id", "legal_entity", "name")),
    "attribute": (("id",), ("id", "group", "label", "type", "display_order")),
    "measure": (("id",), ("id", "legal_entity", "label", "format")),
    "activity_type": (("id",), ("id", "legal_entity", "code", "label")),
    "settings": (("legal_entity",), ("legal_entity",)),
    "insights": (("legal_entity",), ("legal_entity",)),
    "customer": (("id",), ("id", "legal_entity", "account_number", "last_name")),
    "attribute_value": (("customer", "attribute"), ("customer", "attribute", "value")),
    "measure_value": (("customer", "measure"), ("customer", "measure", "value")),
    "client_book": (("id",), ("id", "legal_entity", "staff")),
    "membership": (("book", "customer"), ("book", "customer")),
    # A customer's data erased at their request (sent as an upsert).
    "erasure": (("customer",), ("customer",)),
}


class FeedError(Exception):
    """The feed is refused whole; the message names the line when there is one."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        self.reason = message
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass(frozen=True)
class Header:
    store: str
    kind: str
    watermark: str


class Record(NamedTuple):
    """One record of a feed (a tuple: a feed holds hundreds of thousands)."""

    line: int
    entity: str
    op: str
    data: dict


def _decode(raw: bytes | str, line: int) -> dict:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text)
    except UnicodeDecodeError as exc:
        raise FeedError("is not valid UTF-8", line) from exc
    except json.JSONDecodeError as exc:
        raise FeedError(f"is not valid JSON ({exc.msg})", line) from exc
    if not isinstance(value, dict):
        raise FeedError("is not a JSON object", line)
    return value


def parse_header(raw: bytes | str | None) -> Header:
    """Check the first line of a feed and return what it says."""
    if raw is None or not raw.strip():
        raise FeedError("the feed is empty: it has no header line", 1)
    obj = _decode(raw, 1)
    if obj.get("type") != "header":
        raise FeedError('the first line is not a header ("type": "header")', 1)
    if obj.get("format") != FORMAT_VERSION:
        raise FeedError(
            f"format {obj.get('format')!r} is not supported (expected "
            f"{FORMAT_VERSION})",
            1,
        )
    for field in ("store", "kind", "watermark"):
        if not obj.get(field):
            raise FeedError(f'header lacks required field "{field}"', 1)
    if obj["kind"] not in KINDS:
        raise FeedError(f'kind must be "full" or "delta", not {obj["kind"]!r}', 1)
    return Header(store=str(obj["store"]), kind=obj["kind"], watermark=obj["watermark"])


def records(lines: Iterable[bytes | str]) -> Iterator[Record]:
    """Yield the records after the header, then check the trailer.

    `lines` starts at line 2 (the header has been read). The trailer check
    happens after the last record is yielded, so a caller applying records as
    they come must treat the feed as refused if this raises at the end.
    """
    count = 0
    trailer_line = None
    line_no = 1
    for line_no, raw in enumerate(lines, start=2):
        if not raw or raw.isspace():
            continue
        if trailer_line is not None:
            raise FeedError(
                f"a line follows the trailer of line {trailer_line}", line_no
            )
        obj = _decode(raw, line_no)
        kind = obj.get("type")
        if kind == "trailer":
            trailer_line = line_no
            if obj.get("count") != count:
                raise FeedError(
                    f"the trailer counts {obj.get('count')!r} records but the feed "
                    f"holds {count}",
                    line_no,
                )
            continue
        if kind != "record":
            raise FeedError(
                f'"type" must be "record" or "trailer", not {kind!r}', line_no
            )
        count += 1
        yield _record(obj, line_no)

    if trailer_line is None:
        raise FeedError(
            "the feed ends here without its trailer: it is truncated", line_no
        )


def _record(obj: dict, line: int) -> Record:
    entity = obj.get("entity")
    if entity not in ENTITIES:
        raise FeedError(f"unknown entity {entity!r}", line)
    op = obj.get("op")
    if op not in OPS:
        raise FeedError(f'op must be "upsert" or "delete", not {op!r}', line)
    data = obj.get("data")
    if not isinstance(data, dict):
        raise FeedError(f'{entity} record has no "data" object', line)

    keys, required = ENTITIES[entity]
    for field in keys if op == "delete" else required:
        if data.get(field) in (None, ""):
            raise FeedError(f'{entity} record lacks required field "{field}"', line)
    return Record(line, entity, op, data)
