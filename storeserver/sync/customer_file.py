"""HQ's customer files (CSV): whatever their encoding, read as the intended text.

Spreadsheets and older HQ exports write UTF-8 with or without a byte order
mark, UTF-16 with one, or Windows-1252, and a comma or a semicolon between
fields. The file is decoded by its byte order mark, else as UTF-8, else as
Windows-1252; a file none of these decodes is refused naming the line.
Names are stored in Unicode normal form C. Rows become `customer` records
applied like a feed's: all or nothing, each row checked, errors naming the
line.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from pathlib import Path

import sqlalchemy as sa

from ..customers.models import Customer
from ..extensions import db
from ..org.models import AddressBook
from .feed import FeedError, Record
from .pull import apply_records

REQUIRED = ("id", "account_number", "last_name")
# The longest value each column holds (the database's column sizes).
LENGTHS = {
    "id": 40,
    "account_number": 60,
    "first_name": 100,
    "last_name": 100,
    "email": 200,
    "phone": 40,
}
KNOWN = {*LENGTHS, *("email_consent", "phone_consent", "sms_consent", "address_books")}
TEXT_FIELDS = ("id", "account_number", "first_name", "last_name", "email", "phone")
CONSENT = {"email_consent": "email", "phone_consent": "phone", "sms_consent": "sms"}
YES = {"yes", "y", "true", "1", "oui", "o", "x"}
NO = {"no", "n", "false", "0", "non"}


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read with."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise FeedError(
                    f"the file starts as {encoding} but is not: {_where(data, exc)}",
                    _line_of(data, exc.start),
                ) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("cp1252"), "windows-1252"
        except UnicodeDecodeError as exc:
            line = _line_of(data, utf8_error.start)
            raise FeedError(
                "the file is neither UTF-8 nor Windows-1252 text "
                f"(byte {data[exc.start]:#04x} cannot be read)",
                line,
            ) from exc


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _where(data: bytes, exc: UnicodeDecodeError) -> str:
    return f"byte {data[exc.start]:#04x} at offset {exc.start}"


def rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the numbered rows, with a comma or semicolon separator."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    if "\x00" in text:
        raise FeedError(
            "the file holds a NUL character",
            text.count("\n", 0, text.index("\x00")) + 1,
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [_norm(h).strip().lower() for h in next(reader, [])]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise FeedError(f"the header lacks: {', '.join(missing)}", 1)
        unknown = [name for name in header if name not in KNOWN]
        if unknown:
            raise FeedError(f"unknown columns: {', '.join(unknown)}", 1)
        numbered = []
        for row in reader:
            if any(cell.strip() for cell in row):
                numbered.append((reader.line_num, row))
    except csv.Error as exc:
        raise FeedError(
            f"the file is not readable CSV: {exc}", reader.line_num
        ) from exc
    return header, numbered


def records(header: list[str], numbered, legal_entity_id: str):
    seen: dict[str, int] = {}
    for line, row in numbered:
        if len(row) != len(header):
            raise FeedError(
                f"{len(row)} fields where the header has {len(header)}", line
            )
        cells = {
            name: _norm(value).strip() for name, value in zip(header, row, strict=True)
        }
        data: dict = {"legal_entity": legal_entity_id}
        for name in TEXT_FIELDS:
            if name in cells:
                if len(cells[name]) > LENGTHS[name]:
                    raise FeedError(
                        f'"{name}" is longer than {LENGTHS[name]} characters', line
                    )
                data[name] = cells[name] or None
        for name in REQUIRED:
            if not data.get(name):
                raise FeedError(f'"{name}" is empty', line)
        if data["id"] in seen:
            raise FeedError(
                f"customer {data['id']} is also on line {seen[data['id']]}", line
            )
        seen[data["id"]] = line
        consent = {}
        for column, channel in CONSENT.items():
            if column in cells:
                consent[channel] = _consent(cells[column], column, line)
        if consent:
            data["consent"] = consent
        if cells.get("address_books"):
            data["address_books"] = cells["address_books"].replace("|", " ").split()
        yield Record(line, "customer", "upsert", data)


def _consent(value: str, column: str, line: int) -> bool | None:
    folded = value.lower()
    if not folded:
        return None
    if folded in YES:
        return True
    if folded in NO:
        return False
    raise FeedError(f'"{column}" must be yes, no or empty, not {value!r}', line)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _own_company_only(found: list[Record], legal_entity_id: str) -> None:
    """A store's file changes its own company's customers, never another's."""
    ids = [r.data["id"] for r in found]
    owners = dict(
        db.session.execute(
            sa.select(Customer.id, Customer.legal_entity_id).where(Customer.id.in_(ids))
        ).all()
    )
    books = {b for r in found for b in r.data.get("address_books", [])}
    book_owners = dict(
        db.session.execute(
            sa.select(AddressBook.id, AddressBook.legal_entity_id).where(
                AddressBook.id.in_(books)
            )
        ).all()
    )
    for r in found:
        owner = owners.get(r.data["id"], legal_entity_id)
        if owner != legal_entity_id:
            raise FeedError(
                f"customer {r.data['id']} belongs to another company ({owner})", r.line
            )
        for book in r.data.get("address_books", []):
            if book_owners.get(book) != legal_entity_id:
                raise FeedError(
                    f"address book {book} is not one of this company's", r.line
                )


def import_file(path: Path, legal_entity_id: str):
    """Apply an HQ customer file; returns (counts, encoding) or raises FeedError."""
    text, encoding = decode(path.read_bytes())
    header, numbered = rows(text)
    found = list(records(header, numbered, legal_entity_id))
    _own_company_only(found, legal_entity_id)
    counts = apply_records(found, path.name)
    return counts, encoding
