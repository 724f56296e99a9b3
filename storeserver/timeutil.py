"""Time helpers: instants are naive UTC in the database, shown in the store's zone.

All-day items and yearless dates are dates, never instants: they are compared
with the store's local date, not with UTC midnight.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def _now() -> datetime:
    return datetime.now(UTC)


def utcnow() -> datetime:
    """The current instant as a naive UTC datetime, the form stored in the database."""
    # Looked up at each call, so that a test can set the clock (`_now`).
    return _now().astimezone(UTC).replace(tzinfo=None)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant ("...Z" or with an offset) into naive UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def local_today(zone: str) -> date:
    """Today's date in a time zone: the store's day, not the server's UTC day."""
    return _now().astimezone(ZoneInfo(zone)).date()


def to_local(instant: datetime, zone: str) -> datetime:
    """A stored (naive UTC) instant as an aware datetime in the zone."""
    return instant.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))


class NonexistentLocalTime(ValueError):
    """A wall-clock time skipped by a clock change (spring forward)."""


def local_to_utc(day: date, at: time, zone: str) -> datetime:
    """A local date and wall-clock time as a naive UTC instant.

    The offset is the one the zone's rules give on that date, not today's, so
    an appointment booked in October for November keeps its 08:00. A time the
    clocks skip does not exist and is refused; a time that happens twice (fall
    back) is the first of the two.
    """
    local = datetime.combine(day, at, ZoneInfo(zone))
    instant = local.astimezone(UTC)
    if instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None) != local.replace(
        tzinfo=None
    ):
        raise NonexistentLocalTime(f"{day} {at:%H:%M} does not exist in {zone}")
    return instant.replace(tzinfo=None)


def local_day_start(day: date, zone: str) -> datetime:
    """The naive UTC instant at which a local day begins."""
    return (
        datetime.combine(day, time(), ZoneInfo(zone))
        .astimezone(UTC)
        .replace(tzinfo=None)
    )


def days(start: date, end: date) -> list[date]:
    """The dates from start up to, not including, end."""
    return [start + timedelta(days=n) for n in range((end - start).days)]
