"""Applying an HQ feed to the store's database: all or nothing.

Records are matched on HQ ids and written in batches of upserts; every record
is checked first (required fields, types, references), so a bad record
refuses the whole feed with a message naming its line, and nothing of it is
kept.
"""

from __future__ import annotations

import logging
import operator
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..activities.models import ActivityType
from ..book.models import ClientBook, Membership
from ..cache import bump_generation
from ..customers.models import (
    ATTRIBUTE_TYPES,
    MEASURE_FORMATS,
    Attribute,
    AttributeGroup,
    AttributeValue,
    Customer,
    MeasureValue,
    customer_address_books,
)
from ..customers.models import Measure as MeasureModel
from ..customers.text import search_text, sort_name
from ..extensions import db
from ..insights.models import MODES as INSIGHTS_MODES
from ..insights.models import InsightsSettings
from ..org.models import (
    AddressBook,
    ClientelingSettings,
    LegalEntity,
    NumberSequence,
    Staff,
    Store,
    staff_address_books,
    store_address_books,
)
from ..timeutil import parse_instant, utcnow
from .feed import ENTITIES, FeedError, Header, Record, parse_header, records
from .models import OutboxRow, SyncRun, SyncState

logger = logging.getLogger(__name__)

BATCH = 500
VAULT_SECRET = re.compile(r"^vault://[A-Za-z0-9-]{3,24}/[A-Za-z0-9-]{1,127}$")
PLAIN_SECRET = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$")
AUTHORITY = re.compile(r"^(https://)?[A-Za-z0-9.-]+(:\d+)?/?$")
# Text fields of an insights record, and the columns they go to.
INSIGHTS_TEXTS = {
    "application_id": "application_id",
    "tenant": "tenant",
    "authority": "authority",
    "secret": "secret_name",
    "environment": "environment",
    "endpoint": "endpoint",
    "scope": "scope",
}
WATERMARK_KEY = "pull.watermark"
YEARLESS = re.compile(r"^--(\d\d)-(\d\d)$")
# The fields that name the thing a record is about, by entity.
KEYS = {entity: keys for entity, (keys, _required) in ENTITIES.items()}


@dataclass
class PullResult:
    source: str
    watermark: str | None = None
    kind: str | None = None
    applied: bool = False
    skipped_reason: str | None = None
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def stored_watermark() -> str | None:
    state = db.session.get(SyncState, WATERMARK_KEY)
    return state.value if state else None


def pull_lines(
    lines: Iterable[bytes | str],
    store_id: str,
    source: str,
    progress: Callable[[int], None] | None = None,
) -> PullResult:
    """Apply one feed given as lines; refuse it whole on any error (FeedError)."""
    started = time.perf_counter()
    result = PullResult(source=source)
    iterator = iter(lines)
    run = SyncRun(kind="pull", started_at=utcnow(), source=source)

    try:
        header = parse_header(next(iterator, None))
        result.watermark, result.kind = header.watermark, header.kind
        reason = _skip_reason(header, store_id)
        if reason:
            result.skipped_reason = reason
            return result

        applier = _Applier(header, result.counts)
        for number, record in enumerate(records(iterator), start=1):
            applier.add(record)
            if progress and number % 5000 == 0:
                progress(number)
        applier.finish()
        _set_state(WATERMARK_KEY, header.watermark)
        # Reference data may have changed: caches in every process must reload.
        bump_generation()
        run.result = "ok"
    except Exception as exc:
        db.session.rollback()
        run.result = "failed"
        run.error = str(exc)
        run.finished_at = utcnow()
        db.session.add(run)
        db.session.commit()
        logger.warning("HQ pull from %s refused: %s", source, exc)
        raise

    result.applied = True
    result.seconds = time.perf_counter() - started
    run.finished_at = utcnow()
    run.watermark = header.watermark
    run.counts = dict(result.counts)
    db.session.add(run)
    db.session.commit()
    logger.info(
        "HQ pull from %s applied: %s feed, watermark %s, %d records in %.2f s",
        source,
        header.kind,
        header.watermark,
        sum(result.counts.values()),
        result.seconds,
    )
    return result


def _skip_reason(header: Header, store_id: str) -> str | None:
    if header.store != store_id:
        raise FeedError(
            f"the feed is for store {header.store}, this server serves {store_id}", 1
        )
    try:
        new = parse_instant(header.watermark)
    except ValueError as exc:
        raise FeedError(
            f"watermark {header.watermark!r} is not an ISO instant", 1
        ) from exc
    current = stored_watermark()
    if current and parse_instant(current) >= new:
        return f"already applied (stored watermark {current})"
    return None


def _set_state(key: str, value: str) -> None:
    state = db.session.get(SyncState, key)
    if state is None:
        db.session.add(SyncState(key=key, value=value))
    else:
        state.value = value


def _insert(table):
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


class _Applier:
    """Checks records, buffers them by shape, and writes them in batches."""

    def __init__(self, header: Header, counts: Counter):
        self.header = header
        self.counts = counts
        self.session = db.session
        self._known: dict[str, dict] = {}
        # Buffered rows of the current run of one entity and op, by shape (the
        # fields they carry): records of one entity that differ in optional
        # fields still go out in full batches instead of alternating small ones.
        self._run: tuple[str, str] | None = None
        self._batches: dict[tuple, list[tuple[Record, dict, object]]] = {}
        # What each buffered row touches: a second record touching the same
        # thing must wait for the first to be written, so records apply in
        # feed order even though a batch writes its deletes before its inserts
        # and batches of different shapes are written one after the other.
        self._batch_touches: set = set()
        self._statements: dict[tuple, sa.Insert] = {}
        self._plans: dict[tuple, tuple | bool] = {}
        # (entity, op) -> (the method making the row, the name it is counted by)
        self._handlers: dict[tuple[str, str], tuple[Callable, str]] = {}
        self._refold: set[str] = set()
        self._pending: set[str] | None = None
        # Customers this pull creates, each with a bit mask of the attributes
        # it has written values for: a new customer has nothing to replace,
        # so the first values of each attribute skip the delete.
        self._fresh: dict[str, int] = {}
        self._attribute_bits: dict[str, int] = {}

    # -- what the store already holds, loaded on first use ---------------------

    def known(self, entity: str) -> dict:
        if entity not in self._known:
            self._known[entity] = self._load(entity)
        return self._known[entity]

    def _load(self, entity: str) -> dict:
        rows: Iterable = ()
        s = self.session
        if entity == "legal_entity":
            rows = ((i, i) for i in s.scalars(sa.select(LegalEntity.id)))
        elif entity == "address_book":
            rows = s.execute(sa.select(AddressBook.id, AddressBook.legal_entity_id))
        elif entity == "number_sequence":
            rows = s.execute(
                sa.select(NumberSequence.id, NumberSequence.legal_entity_id)
            )
        elif entity == "staff":
            rows = s.execute(sa.select(Staff.id, Staff.legal_entity_id))
        elif entity == "attribute_group":
            rows = s.execute(
                sa.select(AttributeGroup.id, AttributeGroup.legal_entity_id)
            )
        elif entity == "attribute":
            rows = (
                (a.id, (a.type, set(a.allowed_values or []), le))
                for a, le in s.execute(
                    sa.select(Attribute, AttributeGroup.legal_entity_id).join(
                        AttributeGroup, Attribute.group_id == AttributeGroup.id
                    )
                )
            )
        elif entity == "measure":
            rows = s.execute(sa.select(MeasureModel.id, MeasureModel.format))
        elif entity == "measure_owner":
            rows = s.execute(sa.select(MeasureModel.id, MeasureModel.legal_entity_id))
        elif entity == "customer":
            rows = s.execute(sa.select(Customer.id, Customer.legal_entity_id))
        elif entity == "client_book":
            rows = s.execute(sa.select(ClientBook.id, ClientBook.legal_entity_id))
        elif entity == "settings":
            rows = s.execute(
                sa.select(
                    ClientelingSettings.legal_entity_id, ClientelingSettings.exclusive
                )
            )
        return {key: value for key, value in rows}

    def _ref(self, record: Record, entity: str, value, field_name: str):
        known = self._known.get(entity)
        if known is None:
            known = self.known(entity)
        try:
            return known[value]
        except KeyError:
            raise FeedError(
                f"{record.entity} record refers to {entity} {value!r} in "
                f'"{field_name}", which the store does not hold',
                record.line,
            ) from None

    def _refs(self, record: Record, entity: str, values, field_name: str) -> list:
        if not isinstance(values, list):
            raise FeedError(f'"{field_name}" must be a list', record.line)
        for value in values:
            self._ref(record, entity, value, field_name)
        return values

    # -- buffering -------------------------------------------------------------

    def add(self, record: Record) -> None:
        run = (record.entity, record.op)
        handler = self._handlers.get(run)
        if handler is None:
            row = getattr(self, f"_{record.op}_{record.entity}", None)
            if row is None:
                raise FeedError(
                    f"{record.entity} records cannot be deleted through a feed",
                    record.line,
                )
            handler = self._handlers[run] = (row, f"{record.entity}.{record.op}")
        row, counted_as = handler
        values = row(record)
        if values is None:
            return

        touches = values.pop("_touches", None)
        if touches is None:
            touches = (record.entity, *[record.data[k] for k in KEYS[record.entity]])
        if run != self._run or touches in self._batch_touches:
            self.flush()
            self._run = run
        self._batch_touches.add(touches)
        shape = tuple(values)
        batch = self._batches.get(shape)
        if batch is None:
            batch = self._batches[shape] = []
        batch.append((record, values, touches))
        self.counts[counted_as] += 1
        if len(batch) >= BATCH:
            self._write(self._batches.pop(shape))
            # Written rows no longer wait on anything: only buffered rows are
            # remembered, so memory stays that of a few batches.
            self._batch_touches.difference_update(t for _, _, t in batch)

    def flush(self) -> None:
        """Write every buffered row, batch by batch."""
        for batch in self._batches.values():
            self._write(batch)
        self._batches = {}
        self._run = None
        self._batch_touches = set()

    def _write(self, batch: list[tuple[Record, dict, object]]) -> None:
        record = batch[0][0]
        writer = getattr(self, f"_write_{record.op}_{record.entity}")
        try:
            writer([values for _, values, _ in batch])
        except (sa.exc.IntegrityError, sa.exc.DataError) as exc:
            last = batch[-1][0].line
            raise FeedError(
                f"records of lines {record.line}-{last} conflict with data the "
                f"store holds ({exc.orig})",
                record.line,
            ) from exc

    def finish(self) -> None:
        """Write what is buffered, then the search text of partly sent customers."""
        self.flush()
        if self._refold:
            self._refold_customers()

    def _upsert(self, model_or_table, rows: list[dict], keys: list[str], **special):
        table = getattr(model_or_table, "__table__", model_or_table)
        columns = tuple(c for c in rows[0] if c not in keys)
        cache_key = (table.name, tuple(keys), columns, tuple(special))
        stmt = self._statements.get(cache_key)
        if stmt is None:
            # Built once per shape: an upsert's "excluded" columns cost more
            # to build than a batch of rows costs to write.
            stmt = _insert(table)
            updates = {c: stmt.excluded[c] for c in columns}
            updates.update(special)
            if updates:
                stmt = stmt.on_conflict_do_update(index_elements=keys, set_=updates)
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=keys)
            self._statements[cache_key] = stmt
        self._execute_rows(cache_key, stmt, rows)

    def _insert_rows(self, table, rows: list[dict]) -> None:
        """A plain INSERT of many rows."""
        cache_key = (table.name, "insert")
        stmt = self._statements.get(cache_key)
        if stmt is None:
            stmt = self._statements[cache_key] = table.insert()
        self._execute_rows(cache_key, stmt, rows)

    def _execute_rows(self, cache_key: tuple, stmt, rows: list[dict]) -> None:
        """Execute an insert for a batch of rows of one shape.

        On SQLite the statement is compiled once per shape and the rows go
        to the driver as tuples, through the columns' own bind processors:
        at a feed's hundreds of thousands of rows, turning each row into
        driver parameters the general way costs more than SQLite's insert.
        Other databases, and shapes the compiled statement does not match
        (a column filled by its default), take the ordinary path.
        """
        connection = self.session.connection()
        dialect = connection.dialect
        plan_key = (*cache_key, tuple(rows[0]))
        plan = self._plans.get(plan_key)
        if plan is None:
            plan = self._plans[plan_key] = self._plan(stmt, dialect, list(rows[0]))
        if not plan:
            self.session.execute(stmt, rows)
            return
        sql, names, processors = plan
        if processors:
            # The rows are this writer's own: converted in place.
            for r in rows:
                for name, process in processors.items():
                    r[name] = process(r[name])
        if len(names) == 1:
            params = [(r[names[0]],) for r in rows]
        else:
            params = list(map(operator.itemgetter(*names), rows))
        connection.exec_driver_sql(sql, params)

    @staticmethod
    def _plan(stmt, dialect, columns: list[str]):
        if dialect.name != "sqlite":
            return False
        compiled = stmt.compile(dialect=dialect, column_keys=columns)
        names = compiled.positiontup
        if names is None or set(names) != set(columns):
            return False
        processors = {}
        for name in names:
            impl = compiled.binds[name].type.dialect_impl(dialect)
            processor = impl.bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        return str(compiled), tuple(names), processors

    def _relink(self, table, owner_col: str, rows: list[dict]) -> None:
        """Replace the address-book links of the owners in `rows`."""
        owners = [r["_id"] for r in rows if "_books" in r]
        if not owners:
            return
        # Owners new to the store have no links to replace. For the others,
        # one statement for the batch: a delete per owner costs more in
        # parameter handling than the delete itself.
        held = [r["_id"] for r in rows if "_books" in r and "_new" not in r]
        if held:
            self.session.execute(table.delete().where(table.c[owner_col].in_(held)))
        links = [
            {owner_col: r["_id"], "address_book_id": book}
            for r in rows
            if "_books" in r
            for book in dict.fromkeys(r["_books"])
        ]
        if links:
            self._insert_rows(table, links)

    @staticmethod
    def _strip(rows: list[dict]) -> list[dict]:
        # A batch holds rows of one shape, so the first row names the columns.
        columns = [k for k in rows[0] if not k.startswith("_")]
        return [{k: r[k] for k in columns} for r in rows]

    # -- entities --------------------------------------------------------------

    def _upsert_legal_entity(self, r: Record) -> dict:
        self.known("legal_entity")[r.data["id"]] = r.data["id"]
        return {"id": r.data["id"], "name": _text(r, "name")}

    def _write_upsert_legal_entity(self, rows):
        self._upsert(LegalEntity, rows, ["id"])

    def _upsert_number_sequence(self, r: Record) -> dict:
        le = self._ref(r, "legal_entity", r.data["legal_entity"], "legal_entity")
        self.known("number_sequence")[r.data["id"]] = le
        return {
            "id": r.data["id"],
            "legal_entity_id": le,
            "prefix": _text(r, "prefix"),
            "next_value": _int(r, "next"),
            "width": _int(r, "width") if "width" in r.data else 6,
        }

    def _write_upsert_number_sequence(self, rows):
        table = NumberSequence.__table__
        stmt = _insert(table)
        # The store may have handed out numbers since HQ wrote the feed: never
        # move the sequence backwards.
        keep_higher = sa.case(
            (stmt.excluded.next_value > table.c.next_value, stmt.excluded.next_value),
            else_=table.c.next_value,
        )
        self._upsert(table, rows, ["id"], next_value=keep_higher)

    def _upsert_address_book(self, r: Record) -> dict:
        le = self._ref(r, "legal_entity", r.data["legal_entity"], "legal_entity")
        self.known("address_book")[r.data["id"]] = le
        return {"id": r.data["id"], "legal_entity_id": le, "name": _text(r, "name")}

    def _write_upsert_address_book(self, rows):
        self._upsert(AddressBook, rows, ["id"])

    def _upsert_store(self, r: Record) -> dict:
        d = r.data
        le = self._ref(r, "legal_entity", d["legal_entity"], "legal_entity")
        try:
            ZoneInfo(str(d["time_zone"]))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise FeedError(
                f"time zone {d['time_zone']!r} is not known", r.line
            ) from exc
        row = {
            "id": d["id"],
            "legal_entity_id": le,
            "name": _text(r, "name"),
            "time_zone": d["time_zone"],
        }
        if "default_locale" in d:
            row["default_locale"] = _text(r, "default_locale")
        if "address_books" in d:
            row["_id"] = d["id"]
            row["_books"] = self._refs(
                r, "address_book", d["address_books"], "address_books"
            )
        return row

    def _write_upsert_store(self, rows):
        self._upsert(Store, self._strip(rows), ["id"])
        self._relink(store_address_books, "store_id", rows)

    def _upsert_staff(self, r: Record) -> dict:
        d = r.data
        le = self._ref(r, "legal_entity", d["legal_entity"], "legal_entity")
        self.known("staff")[d["id"]] = le
        row = {
            "id": d["id"],
            "legal_entity_id": le,
            "first_name": _text(r, "first_name"),
            "last_name": _text(r, "last_name"),
        }
        for name in ("email", "password_hash"):
            if name in d:
                row[name] = _text(r, name, optional=True)
        if "login_enabled" in d:
            row["login_enabled"] = _bool(r, "login_enabled")
        if "operations" in d:
            if not isinstance(d["operations"], list):
                raise FeedError('"operations" must be a list', r.line)
            row["operations"] = [str(code) for code in d["operations"]]
        if "address_books" in d:
            row["_id"] = d["id"]
            row["_books"] = self._refs(
                r, "address_book", d["address_books"], "address_books"
            )
        return row

    def _write_upsert_staff(self, rows):
        self._upsert(Staff, self._strip(rows), ["id"])
        self._relink(staff_address_books, "staff_id", rows)

    def _delete_staff(self, r: Record) -> dict:
        return {"id": r.data["id"]}

    def _write_delete_staff(self, rows):
        table = Staff.__table__
        self.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("sid"))
            .values(login_enabled=False),
            [{"sid": r["id"]} for r in rows],
        )

    def _upsert_attribute_group(self, r: Record) -> dict:
        le = self._ref(r, "legal_entity", r.data["legal_entity"], "legal_entity")
        self.known("attribute_group")[r.data["id"]] = le
        return {"id": r.data["id"], "legal_entity_id": le, "name": _text(r, "name")}

    def _write_upsert_attribute_group(self, rows):
        self._upsert(AttributeGroup, rows, ["id"])

    def _upsert_attribute(self, r: Record) -> dict:
        d = r.data
        le = self._ref(r, "attribute_group", d["group"], "group")
        if d["type"] not in ATTRIBUTE_TYPES:
            raise FeedError(
                f"attribute type {d['type']!r} is not one of "
                f"{', '.join(ATTRIBUTE_TYPES)}",
                r.line,
            )
        allowed = d.get("values") or []
        if not isinstance(allowed, list) or not all(
            isinstance(v, str) for v in allowed
        ):
            raise FeedError('"values" must be a list of strings', r.line)
        self.known("attribute")[d["id"]] = (d["type"], set(allowed), le)
        row = {
            "id": d["id"],
            "group_id": d["group"],
            "label": _label(r),
            "type": d["type"],
            "display_order": _int(r, "display_order"),
            "allowed_values": allowed,
        }
        if "refinable" in d:
            row["refinable"] = _bool(r, "refinable")
        if "active" in d:
            row["active"] = _bool(r, "active")
        if "value_labels" in d:
            row["value_labels"] = _value_labels(r, set(allowed))
        return row

    def _write_upsert_attribute(self, rows):
        self._upsert(Attribute, rows, ["id"])

    def _delete_attribute(self, r: Record) -> dict:
        return {"id": r.data["id"]}

    def _write_delete_attribute(self, rows):
        self._retire(Attribute, rows)

    def _retire(self, model, rows):
        table = model.__table__
        self.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("rid"))
            .values(active=False),
            [{"rid": r["id"]} for r in rows],
        )

    def _upsert_measure(self, r: Record) -> dict:
        d = r.data
        le = self._ref(r, "legal_entity", d["legal_entity"], "legal_entity")
        owner = self.known("measure_owner").get(d["id"], le)
        if owner != le:
            raise FeedError(
                f"measure {d['id']} belongs to legal entity {owner}", r.line
            )
        if d["format"] not in MEASURE_FORMATS:
            raise FeedError(
                f"measure format {d['format']!r} is not one of "
                f"{', '.join(MEASURE_FORMATS)}",
                r.line,
            )
        self.known("measure")[d["id"]] = d["format"]
        self.known("measure_owner")[d["id"]] = le
        row = {
            "id": d["id"],
            "legal_entity_id": le,
            "label": _label(r),
            "format": d["format"],
        }
        if "active" in d:
            row["active"] = _bool(r, "active")
        return row

    def _write_upsert_measure(self, rows):
        self._upsert(MeasureModel, rows, ["id"])

    def _delete_measure(self, r: Record) -> dict:
        return {"id": r.data["id"]}

    def _write_delete_measure(self, rows):
        self._retire(MeasureModel, rows)

    def _upsert_activity_type(self, r: Record) -> dict:
        d = r.data
        le = self._ref(r, "legal_entity", d["legal_entity"], "legal_entity")
        row = {
            "id": d["id"],
            "legal_entity_id": le,
            "code": _text(r, "code"),
            "label": _label(r),
        }
        if "appointment" in d:
            row["appointment"] = _bool(r, "appointment")
        if "active" in d:
            row["active"] = _bool(r, "active")
        return row

    def _write_upsert_activity_type(self, rows):
        self._upsert(ActivityType, rows, ["id"])

    def _delete_activity_type(self, r: Record) -> dict:
        return {"id": r.data["id"]}

    def _write_delete_activity_type(self, rows):
        self._retire(ActivityType, rows)

    def _upsert_settings(self, r: Record) -> dict:
        d = r.data
        le = self._ref(r, "legal_entity", d["legal_entity"], "legal_entity")
        row: dict = {"legal_entity_id": le}
        if "enabled" in d:
            row["enabled"] = _bool(r, "enabled")
        if "exclusive" in d:
            row["exclusive"] = _bool(r, "exclusive")
        if d.get("number_sequence") is not None:
            self._ref(r, "number_sequence", d["number_sequence"], "number_sequence")
            row["number_sequence_id"] = d["number_sequence"]
        if d.get("attribute_group") is not None:
            self._ref(r, "attribute_group", d["attribute_group"], "attribute_group")
            row["attribute_group_id"] = d["attribute_group"]
        if "card_measures" in d:
            measures = self._refs(
                r, "measure", d["card_measures"] or [], "card_measures"
            )
            if len(measures) > 3:
                raise FeedError("a card shows at most three measures", r.line)
            row["card_measures"] = measures
        settings = self.known("settings")
        settings[le] = row.get("exclusive", settings.get(le, True))
        return row

    def _write_upsert_settings(self, rows):
        self._upsert(ClientelingSettings, rows, ["legal_entity_id"])

    def _upsert_insights(self, r: Record) -> dict:
        d = r.data
        le = self._ref(r, "legal_entity", d["legal_entity"], "legal_entity")
        row: dict = {"legal_entity_id": le}
        if "enabled" in d:
            row["enabled"] = _bool(r, "enabled")
        if "mode" in d:
            if d["mode"] not in INSIGHTS_MODES:
                raise FeedError(
                    f'"mode" must be one of {", ".join(INSIGHTS_MODES)}', r.line
                )
            row["mode"] = d["mode"]
        for name, column in INSIGHTS_TEXTS.items():
            if name in d:
                row[column] = _text(r, name, optional=True)
        if "account_field" in d:
            row["account_field"] = _text(r, "account_field")
        endpoint = row.get("endpoint") or "https://"
        if not endpoint.startswith(("https://", "http://")):
            raise FeedError('"endpoint" must be an http(s) address', r.line)
        secret = row.get("secret_name") or ""
        if secret and not (VAULT_SECRET.match(secret) or PLAIN_SECRET.match(secret)):
            # Also catches a secret value pasted where its name belongs.
            raise FeedError(
                '"secret" must be vault://<vault>/<secret> or a name such as '
                "ANALYTICS (read from INSIGHTS_SECRET_ANALYTICS)",
                r.line,
            )
        if row.get("tenant") and not TENANT.match(row["tenant"]):
            raise FeedError('"tenant" must be a tenant id or domain', r.line)
        authority = row.get("authority") or ""
        if authority and not AUTHORITY.match(authority):
            raise FeedError(
                '"authority" must be an https address or a host name', r.line
            )
        if "measures" in d:
            measures = _insights_measures(r, le)
            for measure in measures:
                owner = self.known("measure_owner").get(measure["id"], le)
                if owner != le:
                    raise FeedError(
                        f"measure {measure['id']} belongs to legal entity {owner}",
                        r.line,
                    )
                self.known("measure")[measure["id"]] = measure["format"]
                self.known("measure_owner")[measure["id"]] = le
            row["fields"] = {m["id"]: m.pop("_field") for m in measures}
            row["_measures"] = measures
        return row

    def _write_upsert_insights(self, rows):
        for row in rows:
            measures = row.get("_measures")
            if measures is None:
                continue
            if measures:
                self._upsert(MeasureModel, measures, ["id"])
            self._upsert(
                ClientelingSettings,
                [
                    {
                        "legal_entity_id": row["legal_entity_id"],
                        "card_measures": [m["id"] for m in measures],
                    }
                ],
                ["legal_entity_id"],
            )
        self._upsert(InsightsSettings, self._strip(rows), ["legal_entity_id"])

    def _upsert_customer(self, r: Record) -> dict | None:
        d = r.data
        roles = d.get("roles", ["customer"])
        if not isinstance(roles, list):
            raise FeedError('"roles" must be a list', r.line)
        if "customer" not in roles:
            # A worker or vendor from HQ's party table: never a customer here.
            self.counts["customer.not_a_customer"] += 1
            if d["id"] in self.known("customer"):
                self.flush()
                self._write_delete_customer([{"id": d["id"]}])
            return None

        le = self._ref(r, "legal_entity", d["legal_entity"], "legal_entity")
        known = self.known("customer")
        new = d["id"] not in known
        known[d["id"]] = le
        if new:
            self._fresh[d["id"]] = 0
        row = {
            "id": d["id"],
            "legal_entity_id": le,
            "account_number": _text(r, "account_number"),
            "last_name": _text(r, "last_name"),
        }
        for name in ("first_name", "email", "phone"):
            if name in d:
                row[name] = _text(r, name, optional=True) or (
                    "" if name == "first_name" else None
                )
        if "active" in d:
            row["active"] = _bool(r, "active")
        consent = d.get("consent")
        if consent is not None:
            if not isinstance(consent, dict):
                raise FeedError('"consent" must be an object', r.line)
            # Only the channels present change: an omitted one keeps its value.
            for channel in ("email", "phone", "sms"):
                if channel in consent:
                    value = consent[channel]
                    if value is not None and not isinstance(value, bool):
                        raise FeedError(
                            f'consent "{channel}" must be true, false or null', r.line
                        )
                    row[f"consent_{channel}"] = value
        if new or all(name in d for name in ("first_name", "email", "phone")):
            # A customer the store does not hold yet has nothing to keep: a
            # field the record leaves out is empty, so it is folded at once.
            row["search_text"] = search_text(
                d.get("first_name"), d["last_name"], d.get("email"), d.get("phone")
            )
            row["sort_name"] = sort_name(d.get("first_name"), d["last_name"])
        else:
            self._refold.add(d["id"])
        if "address_books" in d:
            row["_id"] = d["id"]
            row["_books"] = self._refs(
                r, "address_book", d["address_books"], "address_books"
            )
            if new:
                row["_new"] = True
        return row

    def _write_upsert_customer(self, rows):
        self._upsert(Customer, self._strip(rows), ["id"])
        self._relink(customer_address_books, "customer_id", rows)

    def _refold_customers(self) -> None:
        ids = list(self._refold)
        self._refold.clear()
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            found = self.session.execute(
                sa.select(
                    Customer.id,
                    Customer.first_name,
                    Customer.last_name,
                    Customer.email,
                    Customer.phone,
                ).where(Customer.id.in_(chunk))
            ).all()
            if not found:
                continue
            table = Customer.__table__
            self.session.execute(
                table.update()
                .where(table.c.id == sa.bindparam("cid"))
                .values(search_text=sa.bindparam("st"), sort_name=sa.bindparam("sn")),
                [
                    {
                        "cid": c.id,
                        "st": search_text(c.first_name, c.last_name, c.email, c.phone),
                        "sn": sort_name(c.first_name, c.last_name),
                    }
                    for c in found
                ],
            )

    def _delete_customer(self, r: Record) -> dict:
        return {"id": r.data["id"]}

    def _write_delete_customer(self, rows):
        table = Customer.__table__
        self.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("cid"))
            .values(active=False),
            [{"cid": r["id"]} for r in rows],
        )

    def _upsert_attribute_value(self, r: Record) -> dict:
        d = r.data
        self._ref(r, "customer", d["customer"], "customer")
        kind, allowed, le = self._ref(r, "attribute", d["attribute"], "attribute")
        row = {
            "customer_id": d["customer"],
            "attribute_id": d["attribute"],
            "_le": le,
            "_values": _attribute_values(r, kind, allowed),
            "_touches": (d["customer"], d["attribute"]),
        }
        written = self._fresh.get(d["customer"])
        if written is not None:
            bits = self._attribute_bits
            bit = bits.setdefault(d["attribute"], 1 << len(bits))
            if not written & bit:
                row["_new"] = True
            self._fresh[d["customer"]] = written | bit
        return row

    def _write_upsert_attribute_value(self, rows):
        # A batch holds rows of one shape: all new values, or all replacing.
        if "_new" not in rows[0]:
            self._write_delete_attribute_value(rows)
        new = [
            {
                "legal_entity_id": r["_le"],
                "customer_id": r["customer_id"],
                "attribute_id": r["attribute_id"],
                "value": value,
                "number": number,
            }
            for r in rows
            for value, number in r["_values"]
        ]
        if new:
            self._insert_rows(AttributeValue.__table__, new)

    def _delete_attribute_value(self, r: Record) -> dict:
        return {"customer_id": r.data["customer"], "attribute_id": r.data["attribute"]}

    def _write_delete_attribute_value(self, rows):
        table = AttributeValue.__table__
        # One statement per attribute of the batch rather than one per row.
        customers: dict[str, list[str]] = {}
        for r in rows:
            customers.setdefault(r["attribute_id"], []).append(r["customer_id"])
        for attribute_id, ids in customers.items():
            self.session.execute(
                table.delete().where(
                    table.c.attribute_id == attribute_id, table.c.customer_id.in_(ids)
                )
            )

    def _upsert_erasure(self, r: Record) -> dict | None:
        customer_id = r.data["customer"]
        if not isinstance(customer_id, str):
            raise FeedError('"customer" must be a string', r.line)
        if customer_id not in self.known("customer"):
            self.counts["erasure.not_held"] += 1
            return None
        del self.known("customer")[customer_id]
        return {"customer_id": customer_id, "_touches": ("customer", customer_id)}

    def _write_upsert_erasure(self, rows):
        from ..customers.erasure import erase

        for row in rows:
            erase(row["customer_id"])

    def _upsert_measure_value(self, r: Record) -> dict:
        d = r.data
        self._ref(r, "customer", d["customer"], "customer")
        fmt = self._ref(r, "measure", d["measure"], "measure")
        value = d["value"]
        if fmt in ("percent", "number"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FeedError(f"measure {d['measure']} takes a number", r.line)
            value = repr(float(value))
        elif not isinstance(value, str):
            raise FeedError(f"measure {d['measure']} takes a text", r.line)
        row = {"customer_id": d["customer"], "measure_id": d["measure"], "value": value}
        if d.get("as_of"):
            row["as_of"] = _instant(r, "as_of")
        return row

    def _write_upsert_measure_value(self, rows):
        self._upsert(MeasureValue, rows, ["customer_id", "measure_id"])

    def _delete_measure_value(self, r: Record) -> dict:
        return {"customer_id": r.data["customer"], "measure_id": r.data["measure"]}

    def _write_delete_measure_value(self, rows):
        table = MeasureValue.__table__
        self.session.execute(
            table.delete().where(
                table.c.customer_id == sa.bindparam("c"),
                table.c.measure_id == sa.bindparam("m"),
            ),
            [{"c": r["customer_id"], "m": r["measure_id"]} for r in rows],
        )

    def _upsert_client_book(self, r: Record) -> dict:
        d = r.data
        le = self._ref(r, "legal_entity", d["legal_entity"], "legal_entity")
        self._ref(r, "staff", d["staff"], "staff")
        self.known("client_book")[d["id"]] = le
        return {"id": d["id"], "legal_entity_id": le, "staff_id": d["staff"]}

    def _write_upsert_client_book(self, rows):
        self._upsert(ClientBook, rows, ["id"])

    def _local_change(self, customer_id: str) -> bool:
        """Whether HQ has not yet acknowledged a book change of this customer.

        Until HQ has it, the feed cannot know it: applying the feed's
        membership would undo what the associate just did. Once HQ
        acknowledges the change, HQ's state wins again.
        """
        if self._pending is None:
            rows = self.session.scalars(
                sa.select(OutboxRow.payload).where(
                    OutboxRow.status != "sent", OutboxRow.kind.like("book.%")
                )
            )
            self._pending = {p.get("customer") for p in rows if p}
        if customer_id in self._pending:
            self.counts["membership.kept_local"] += 1
            return True
        return False

    def _upsert_membership(self, r: Record) -> dict | None:
        d = r.data
        self._ref(r, "customer", d["customer"], "customer")
        if self._local_change(d["customer"]):
            return None
        le = self._ref(r, "client_book", d["book"], "book")
        row = {"book_id": d["book"], "customer_id": d["customer"]}
        exclusive = self.known("settings").get(le, True)
        row["sole_customer_id"] = d["customer"] if exclusive else None
        row["added_at"] = _instant(r, "added_at") if d.get("added_at") else utcnow()
        if d.get("added_by"):
            self._ref(r, "staff", d["added_by"], "added_by")
        row["added_by_id"] = d.get("added_by")
        row["_touches"] = d["customer"]
        return row

    def _write_upsert_membership(self, rows):
        rows = self._strip(rows)
        table = Membership.__table__
        # HQ is the system of record: when membership is exclusive and HQ puts
        # a customer in a book, any other book of the store lets go of it.
        sole: dict[str, list[str]] = {}
        for r in rows:
            if r["sole_customer_id"]:
                sole.setdefault(r["book_id"], []).append(r["customer_id"])
        for book_id, ids in sole.items():
            self.session.execute(
                table.delete().where(
                    table.c.customer_id.in_(ids), table.c.book_id != book_id
                )
            )
        self._upsert(table, rows, ["book_id", "customer_id"])

    def _delete_membership(self, r: Record) -> dict | None:
        if self._local_change(r.data["customer"]):
            return None
        return {"book_id": r.data["book"], "customer_id": r.data["customer"]}

    def _write_delete_membership(self, rows):
        table = Membership.__table__
        self.session.execute(
            table.delete().where(
                table.c.book_id == sa.bindparam("b"),
                table.c.customer_id == sa.bindparam("c"),
            ),
            [{"b": r["book_id"], "c": r["customer_id"]} for r in rows],
        )


# -- field checks ---------------------------------------------------------------


def _insights_measures(r: Record, legal_entity_id: str) -> list[dict]:
    """The card's measures from an insights record, in their order."""
    items = r.data["measures"]
    if not isinstance(items, list):
        raise FeedError('"measures" must be a list', r.line)
    if len(items) > 3:
        raise FeedError("a card shows at most three measures", r.line)
    measures = []
    for item in items:
        if not isinstance(item, dict):
            raise FeedError('each of "measures" must be an object', r.line)
        nested = Record(r.line, r.entity, r.op, item)
        measure_id = _text(nested, "id")
        if item.get("format") not in MEASURE_FORMATS:
            raise FeedError(
                f"measure {measure_id}: format {item.get('format')!r} is not one of "
                f"{', '.join(MEASURE_FORMATS)}",
                r.line,
            )
        measures.append(
            {
                "id": measure_id,
                "legal_entity_id": legal_entity_id,
                "label": _label(nested),
                "format": item["format"],
                "active": True,
                "_order": _int(nested, "order"),
                "_field": _text(nested, "field", optional=True) or measure_id,
            }
        )
    orders = [m["_order"] for m in measures]
    ids = [m["id"] for m in measures]
    if len(set(orders)) != len(orders) or len(set(ids)) != len(ids):
        raise FeedError("measures must have distinct ids and orders", r.line)
    measures.sort(key=lambda m: m.pop("_order"))
    return measures


def _text(r: Record, name: str, optional: bool = False) -> str | None:
    value = r.data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise FeedError(f'"{name}" must be a string', r.line)
    return value


def _int(r: Record, name: str) -> int:
    value = r.data.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FeedError(f'"{name}" must be a whole number', r.line)
    return value


def _bool(r: Record, name: str) -> bool:
    value = r.data.get(name)
    if not isinstance(value, bool):
        raise FeedError(f'"{name}" must be true or false', r.line)
    return value


def _label(r: Record) -> dict:
    value = r.data.get("label")
    if isinstance(value, str):
        return {"en": value}
    if (
        not isinstance(value, dict)
        or not value
        or not all(isinstance(v, str) for v in value.values())
    ):
        raise FeedError('"label" must be an object of texts by language', r.line)
    return value


def _value_labels(r: Record, allowed: set) -> dict:
    labels = r.data.get("value_labels") or {}
    if not isinstance(labels, dict) or not all(
        isinstance(by_language, dict)
        and all(isinstance(text, str) for text in by_language.values())
        for by_language in labels.values()
    ):
        raise FeedError(
            '"value_labels" must map each value to texts by language', r.line
        )
    unknown = sorted(set(labels) - allowed)
    if unknown:
        raise FeedError(
            f'"value_labels" names values the attribute does not allow: {unknown}',
            r.line,
        )
    return labels


def _instant(r: Record, name: str):
    try:
        return parse_instant(str(r.data[name]))
    except ValueError as exc:
        raise FeedError(f'"{name}" is not an ISO 8601 instant', r.line) from exc


def _bad_value(r: Record, expected: str) -> FeedError:
    return FeedError(
        f"attribute {r.data['attribute']} takes {expected}, not {r.data['value']!r}",
        r.line,
    )


def _choice(r: Record, item, allowed: set) -> str:
    if not isinstance(item, str):
        raise _bad_value(r, "text values")
    if allowed and item not in allowed:
        raise FeedError(
            f"{item!r} is not an allowed value of attribute {r.data['attribute']}",
            r.line,
        )
    return item


def _attribute_values(
    r: Record, kind: str, allowed: set
) -> list[tuple[str, float | None]]:
    """Check a value against its attribute's type; return the rows to store."""
    value = r.data["value"]

    if kind == "multi_choice":
        items = value if isinstance(value, list) else [value]
        return [(_choice(r, item, allowed), None) for item in dict.fromkeys(items)]
    if kind == "single_choice":
        return [(_choice(r, value, allowed), None)]
    if kind == "text":
        if not isinstance(value, str):
            raise _bad_value(r, "a text")
        return [(value, None)] if value else []
    if kind in ("integer", "decimal"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad_value(r, "a number")
        if kind == "integer" and not float(value).is_integer():
            raise _bad_value(r, "a whole number")
        number = int(value) if kind == "integer" else float(value)
        return [(str(number), float(number))]
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _bad_value(r, "true or false")
        return [("true" if value else "false", None)]
    if kind == "date":
        try:
            date.fromisoformat(str(value))
        except ValueError as exc:
            raise _bad_value(r, 'a date "YYYY-MM-DD"') from exc
        if len(str(value)) != 10:
            raise _bad_value(r, 'a date "YYYY-MM-DD"')
        return [(str(value), None)]
    if kind == "yearless_date":
        match = YEARLESS.match(str(value))
        # 2000 is a leap year, so "--02-29" is a valid yearless date.
        try:
            if not match:
                raise ValueError
            date(2000, int(match[1]), int(match[2]))
        except ValueError as exc:
            raise _bad_value(r, 'a yearless date "--MM-DD"') from exc
        return [(str(value), None)]
    raise _bad_value(r, "a value of a known type")


def apply_records(records_: Iterable[Record], source: str) -> Counter:
    """Apply records that come without a feed (an HQ file): all or nothing.

    The watermark does not move: such a file is not part of the feed's order.
    """
    counts: Counter = Counter()
    header = Header(store="", kind="delta", watermark="")
    try:
        applier = _Applier(header, counts)
        for record in records_:
            applier.add(record)
        applier.finish()
        bump_generation()
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        logger.warning("HQ file %s refused: %s", source, exc)
        raise
    logger.info("HQ file %s applied: %d records", source, sum(counts.values()))
    return counts
