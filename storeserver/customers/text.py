"""Folding text for search: case and accents ignored, so "zoe" finds "Zoë"."""

from __future__ import annotations

import unicodedata


def fold(text: str | None) -> str:
    """Lower-case, accent-free, whitespace-collapsed form of a text."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Letters such as "ø" and "ß" do not decompose; map the common ones.
    bare = bare.translate(_EXTRA)
    return " ".join(bare.split())


_EXTRA = str.maketrans({"ø": "o", "đ": "d", "ł": "l", "æ": "ae", "œ": "oe"})


def search_text(first_name, last_name, email, phone) -> str:
    """The folded text a customer is found by: name, email, and phone digits."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    return " ".join(
        part
        for part in (fold(first_name), fold(last_name), fold(email), digits)
        if part
    )


def sort_name(first_name, last_name) -> str:
    """The folded "last first" name customers are ordered by."""
    return f"{fold(last_name)} {fold(first_name)}".strip()


def search_terms(query: str | None) -> list[str]:
    """The folded terms a keyword query is matched by, each as a substring.

    A query that looks like a phone number ("06 12 34 56 78", "+33 6 12") is
    one term of its digits; a leading trunk "0" is dropped so that the
    national form finds a number HQ stored in international form.
    """
    folded = fold(query)
    if folded and all(ch.isdigit() or ch in " +.-()/" for ch in folded):
        digits = "".join(ch for ch in folded if ch.isdigit())
        if not digits:
            return []
        return [digits[1:] if digits.startswith("0") and len(digits) > 1 else digits]
    return folded.split()


def display_name(first_name: str | None, last_name: str | None) -> str:
    """A customer's name as cards and pages show it."""
    return f"{first_name or ''} {last_name or ''}".strip()


def initials(first_name: str | None, last_name: str | None) -> str:
    """The letters of a customer's avatar."""
    return (((first_name or "")[:1] + (last_name or "")[:1]) or "?").upper()
