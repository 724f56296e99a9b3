"""Translations: both catalogs complete, and the language chosen as users expect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "storeserver" / "translations"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def source_messages() -> set[str]:
    found = set()
    for folder, method in (("storeserver", "python"), ("templates", "jinja2")):
        pattern = "**.py" if method == "python" else "**.html"
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[(pattern, method)], keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.fixture(scope="module")
def sources() -> set[str]:
    return source_messages()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_catalog_translates_every_ui_string(sources, language):
    with (CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)

    held = {}
    for message in catalog:
        if message.id:
            key = message.id[0] if message.pluralizable else message.id
            held[key] = message
    missing = sorted(m for m in sources if m not in held)
    untranslated = sorted(
        key
        for key, message in held.items()
        if message.fuzzy
        or not (all(message.string) if message.pluralizable else message.string)
    )

    assert missing == [], f"run `make translations` and translate: {missing}"
    assert untranslated == []


def test_french_keeps_every_placeholder():
    with (CATALOGS / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="fr")
    broken = []

    for message in catalog:
        if not message.id:
            continue
        ids = message.id if message.pluralizable else (message.id,)
        strings = message.string if message.pluralizable else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        if any(set(PLACEHOLDER.findall(s)) != wanted for s in strings):
            broken.append(ids[0])

    assert broken == []


def heading(client, **headers) -> str:
    page = client.get("/login", headers=headers).get_data(as_text=True)
    return re.search(r"<h1>([^<]+)</h1>", page).group(1)


def test_login_page_follows_the_browser_language(world, client):
    assert heading(client, **{"Accept-Language": "fr-FR,fr;q=0.9"}) == "Connexion"
    assert heading(client, **{"Accept-Language": "en-GB,en;q=0.9"}) == "Sign in"


def test_store_default_language_when_the_browser_offers_none_we_have(world, client):
    assert heading(client, **{"Accept-Language": "de-DE"}) == "Connexion"
    assert heading(client) == "Connexion"


def test_language_chosen_on_the_device_wins(world, client):
    from .conftest import csrf_token

    token = csrf_token(client)
    client.post("/language", data={"lang": "en", "csrf_token": token, "next": "/login"})

    assert heading(client, **{"Accept-Language": "fr"}) == "Sign in"


def test_french_book_page_formats_numbers_and_plurals(world, login):
    from .conftest import customer

    world.pull(
        [
            customer("C1", "Ana", "Un"),
            ("measure_value", {"customer": "C1", "measure": "churn", "value": 0.42}),
            ("settings", {"legal_entity": "LE1", "card_measures": ["churn"]}),
            ("client_book", {"id": "CB-A", "legal_entity": "LE1", "staff": "A1"}),
            ("membership", {"book": "CB-A", "customer": "C1"}),
        ]
    )
    session = login("A1")
    session.language = "fr"

    page = session.get("/book").get_data(as_text=True)

    assert "1 client dans votre portefeuille" in page
    assert re.search(r"42\s%", page)  # French puts a (narrow) space before %
