"""Small checks on what people type and send: paths to go back to, free text."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Control characters other than tab and line feed have no place in a note or
# a subject (and are forbidden in calendar files).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def safe_path(target: str | None) -> str | None:
    """The target if it is a path on this server, else None (no open redirect)."""
    if not target or not target.isprintable() or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return None
    if target.startswith("//"):
        return None
    return target


def clean_text(text: str | None) -> str:
    """Free text with Windows line ends made plain and control characters dropped."""
    return _CONTROL.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))


# A phone number such as "+33 6 12 34 56 78" is data, not a formula: a plus,
# then groups of digits separated by single spaces, eight digits or more.
_PHONE = re.compile(r"^\+\d+(?: \d+)*$")


def spreadsheet_safe(value: str | None) -> str:
    """A CSV cell that a spreadsheet shows as text rather than runs as a formula."""
    text = value or ""
    is_phone = _PHONE.match(text) and sum(c.isdigit() for c in text) >= 8
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not is_phone:
        return "'" + text
    return text
