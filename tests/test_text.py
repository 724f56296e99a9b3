"""Folding text for search."""

import pytest

from storeserver.customers.text import fold, search_terms, search_text, sort_name


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Zoë", "zoe"),
        ("ÉLODIE  Ñandú", "elodie nandu"),
        ("Ørsted-Çelik", "orsted-celik"),
        ("Anaïs L'Hôte", "anais l'hote"),
        ("Straße", "strasse"),
        ("Œuvre", "oeuvre"),
        (None, ""),
    ],
)
def test_fold(raw, folded):
    assert fold(raw) == folded


def test_search_text_keeps_phone_digits_only():
    assert search_text("Zoë", "Ørsted", "Z@Example.org", "+33 6 12") == (
        "zoe orsted z@example.org 33612"
    )


def test_sort_name_is_last_then_first():
    assert sort_name("Élodie", "Ñandú") == "nandu elodie"


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("Zoë Ørsted", ["zoe", "orsted"]),
        ("06 12 34 56 78", ["612345678"]),
        ("+33 6 12", ["33612"]),
        ("0", ["0"]),
        ("()", []),
        ("-", []),
        ("", []),
    ],
)
def test_search_terms(query, terms):
    assert search_terms(query) == terms
