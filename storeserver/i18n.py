"""Catalog upkeep: `python -m storeserver.i18n fill-english`.

The English catalog is the source text itself; filling it keeps it complete
(every msgid has a msgstr), so that a missing string shows in a test rather
than silently falling back.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

TRANSLATIONS = Path(__file__).parent / "translations"


def fill_english() -> int:
    """Copy each msgid into the English msgstr; return how many were filled."""
    path = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        if message.pluralizable:
            if not all(message.string):
                message.string = tuple(message.id)
                filled += 1
        elif not message.string:
            message.string = message.id
            filled += 1
    with path.open("wb") as handle:
        write_po(handle, catalog, omit_header=False, sort_output=True, width=88)
    return filled


if __name__ == "__main__":
    if sys.argv[1:] == ["fill-english"]:
        print(f"filled {fill_english()} English messages")
    else:
        sys.exit("usage: python -m storeserver.i18n fill-english")
