"""Deterministic demo data: one full HQ feed per store.

The files follow docs/hq-protocol.md (header, records in the entity order of
the protocol table, trailer with the record count) so that the folder
connector can load them like any feed HQ would drop.

Everything is derived from the seed: the same seed gives byte-identical files,
which keeps demos reproducible and lets tests compare whole files.

Usage::

    python -m storeserver.demo --out instance/hq/feed
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from faker import Faker
from werkzeug.security import SALT_CHARS

DEMO_PASSWORD = "demo1234"
DEMO_STORE = "PAR-01"

LEGAL_ENTITY = "FR01"
LEGAL_ENTITY_NAME = "Maison Exemple France"
NUMBER_SEQUENCE = "CB-FR01"
ATTRIBUTE_GROUP = "AG-CB"
FEED_FORMAT = 1

# Werkzeug's pbkdf2 hash format: "pbkdf2:<hash>:<iterations>$<salt>$<hex>".
_HASH_NAME = "sha256"
_HASH_ITERATIONS = 50_000
_SALT_LENGTH = 16

_WATERMARK_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

ADDRESS_BOOKS: dict[str, str] = {
    "AB-PAR": "Paris Opéra",
    "AB-LYO": "Lyon Bellecour",
    "AB-SHARED": "Clients grands comptes",
}

# store id -> (name, address books); both stores share the key-account book.
STORES: dict[str, tuple[str, tuple[str, ...]]] = {
    "PAR-01": ("Paris Opéra", ("AB-PAR", "AB-SHARED")),
    "LYO-01": ("Lyon Bellecour", ("AB-LYO", "AB-SHARED")),
}

_ASSOCIATE = ("712", "714", "715", "customer.view")
_READ_ONLY = ("712", "customer.view")
_ADD_ONLY = ("712", "714", "customer.view")
_MANAGER = ("712", "713", "714", "715", "716", "customer.view")
_STORE_IT = ("store.admin", "customer.view")


_PAR = ("AB-PAR",)
_LYO = ("AB-LYO",)

# Rights as printed at start-up.
_ADD_REMOVE = "associate: add and remove"
_NO_BOOK = "associate: add and remove, no book yet"
_ADD_NO_REMOVE = "associate: add, no remove"
_VIEW_ONLY = "associate, read only"
_MANAGES = "manager: store book and reassign"
_IT = "store IT"
_LOGIN_DISABLED = "login disabled"


@dataclass(frozen=True)
class _StaffSpec:
    """One demo staff member; fixed so that demo logins do not move with seed."""

    id: str
    first_name: str
    last_name: str
    address_books: tuple[str, ...]
    operations: tuple[str, ...]
    book_size: int  # customers in the staff's client book; 0 = no book
    rights: str

    @property
    def login_enabled(self) -> bool:
        """Whether the staff member may log in."""
        return self.rights != _LOGIN_DISABLED


_STAFF = tuple(
    _StaffSpec(*row)
    for row in (
        # Paris Opéra. S1001 is the one to demo with: the fullest book.
        ("S1001", "Inès", "Moreau", _PAR, _ASSOCIATE, 120, _ADD_REMOVE),
        ("S1002", "Julien", "Lefèvre", _PAR, _MANAGER, 0, _MANAGES),
        ("S1003", "Camille", "Girard", _PAR, _ASSOCIATE, 60, _ADD_REMOVE),
        ("S1004", "Mathis", "Roux", _PAR, _ASSOCIATE, 0, _NO_BOOK),
        ("S1005", "Léa", "Fontaine", _PAR, _READ_ONLY, 25, _VIEW_ONLY),
        ("S1006", "Hugo", "Mercier", _PAR, _ADD_ONLY, 40, _ADD_NO_REMOVE),
        ("S1007", "Sarah", "Benali", _PAR, _STORE_IT, 0, _IT),
        ("S1008", "Antoine", "Chevalier", _PAR, _ASSOCIATE, 30, _LOGIN_DISABLED),
        # Works in both stores: her book only holds customers both stores see.
        ("S1009", "Manon", "Perrin", _PAR + _LYO, _ASSOCIATE, 35, _ADD_REMOVE),
        # Lyon Bellecour
        ("S1010", "Claire", "Vasseur", _LYO, _MANAGER, 0, _MANAGES),
        ("S1011", "Théo", "Garnier", _LYO, _ASSOCIATE, 80, _ADD_REMOVE),
        ("S1012", "Chloé", "Lambert", _LYO, _ASSOCIATE, 50, _ADD_REMOVE),
        ("S1013", "Nicolas", "Faure", _LYO, _READ_ONLY, 0, _VIEW_ONLY),
        ("S1014", "Emma", "Rousseau", _LYO, _ADD_ONLY, 20, _ADD_NO_REMOVE),
        ("S1015", "Karim", "Haddad", _LYO, _STORE_IT, 0, _IT),
        ("S1016", "Zoé", "Marchand", _LYO, _ASSOCIATE, 0, _NO_BOOK),
    )
)

LIKES = (
    "Handbags",
    "Shoes",
    "Jewellery",
    "Watches",
    "Ready-to-wear",
    "Small leather goods",
    "Bags & belts",
)
BRANDS = (
    "Maison Aurèle",
    "Atelier Vautrin",
    "Céleste",
    "Brume",
    "Lys Noir",
    "Ferrand 1887",
)
# French labels for the liked categories: the value HQ stores stays the same
# in every language, only what the associate reads changes.
LIKES_FR = {
    "Handbags": "Sacs à main",
    "Shoes": "Chaussures",
    "Jewellery": "Bijoux",
    "Watches": "Montres",
    "Ready-to-wear": "Prêt-à-porter",
    "Small leather goods": "Petite maroquinerie",
    "Bags & belts": "Sacs & ceintures",
}
SIZES = tuple(str(size) for size in range(34, 47))

_GIFT_NOTES = (
    "Prefers gift wrapping in navy blue",
    "Always add a handwritten card",
    "Préfère les emballages sans ruban",
    "Deliver gifts to the office, not home",
    "Buys for her daughter's birthday every year",
    "Offrir de préférence des fleurs blanches",
    "Likes to be surprised: no price on the card",
    "Cadeau d'anniversaire pour son mari en mars",
)
_NEXT_BEST_ACTIONS = (
    "Invite to the preview",
    "Offer a fitting",
    "Call back",
    "Send the new lookbook",
    "Thank for the last purchase",
    "Suggest a repair or care service",
)
# A few accented first names so search and sorting meet them early on.
_ACCENTED_FIRST_NAMES = (
    "Élodie",
    "Zoë",
    "Anaïs",
    "Hélène",
    "Gaëlle",
    "Maëlys",
    "Noémie",
    "Chloé",
)
# Customer address books, weighted: most belong to one store only.
_CUSTOMER_BOOKS: tuple[tuple[str, ...], ...] = (
    ("AB-PAR",),
    ("AB-LYO",),
    ("AB-PAR", "AB-SHARED"),
    ("AB-LYO", "AB-SHARED"),
    ("AB-SHARED",),
    ("AB-PAR", "AB-LYO"),
)
_CUSTOMER_BOOK_WEIGHTS = (50, 30, 8, 5, 4, 3)
_CONSENT_VALUES = (True, False, None)
_NON_CUSTOMER_ROLES: tuple[tuple[list[str], tuple[str, ...]], ...] = (
    (["worker"], ("AB-PAR",)),
    (["vendor"], ("AB-LYO",)),
    (["worker"], ("AB-SHARED",)),
)


@dataclass
class _World:
    """Every record of the legal entity; feeds are per-store cuts of it."""

    head: list[tuple[str, dict[str, Any]]]  # legal entity .. address books
    staff: list[dict[str, Any]]
    config: list[tuple[str, dict[str, Any]]]  # attribute group .. settings
    customers: list[dict[str, Any]]
    attribute_values: list[dict[str, Any]]
    measure_values: list[dict[str, Any]]
    books: list[dict[str, Any]]
    memberships: list[dict[str, Any]]


def _parse_watermark(watermark: str) -> datetime:
    """Parse an ISO 8601 UTC instant written as ``YYYY-MM-DDTHH:MM:SSZ``."""
    try:
        parsed = datetime.strptime(watermark, _WATERMARK_FORMAT)
    except ValueError:
        raise ValueError(
            f"watermark {watermark!r} is not a UTC instant like 2026-12-03T02:00:00Z"
        ) from None
    return parsed.replace(tzinfo=UTC)


def _instant(moment: datetime) -> str:
    return moment.strftime(_WATERMARK_FORMAT)


def _ascii_slug(text: str) -> str:
    """Fold accents and drop anything an e-mail local part should not hold."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum() or ch in ".-")


def _email_local(first_name: str, last_name: str) -> str:
    return f"{_ascii_slug(first_name)}.{_ascii_slug(last_name)}"


def _password_hash(seed: int, staff_id: str) -> str:
    """Werkzeug-compatible pbkdf2 hash of the demo password.

    ``generate_password_hash`` draws a random salt, which would make the feed
    differ on every run; deriving the salt from the seed keeps the files
    byte-identical while ``check_password_hash`` still accepts them.
    """
    digest = hashlib.sha256(f"storeserver-demo:{seed}:{staff_id}".encode()).digest()
    salt = "".join(SALT_CHARS[byte % len(SALT_CHARS)] for byte in digest[:_SALT_LENGTH])
    hashed = hashlib.pbkdf2_hmac(
        _HASH_NAME, DEMO_PASSWORD.encode(), salt.encode(), _HASH_ITERATIONS
    ).hex()
    return f"pbkdf2:{_HASH_NAME}:{_HASH_ITERATIONS}${salt}${hashed}"


def _label(en: str, fr: str) -> dict[str, str]:
    return {"en": en, "fr": fr}


def _staff_stores(address_books: tuple[str, ...]) -> list[str]:
    """Return the stores a staff member works in: those sharing one of their books."""
    return [
        store
        for store, (_name, books) in STORES.items()
        if set(books) & set(address_books)
    ]


def _config_records() -> list[tuple[str, dict[str, Any]]]:
    """Attribute group, attributes, measures, activity types and settings."""
    le = LEGAL_ENTITY
    records: list[tuple[str, dict[str, Any]]] = [
        (
            "attribute_group",
            {"id": ATTRIBUTE_GROUP, "legal_entity": le, "name": "Client book"},
        ),
    ]
    attributes: list[dict[str, Any]] = [
        {
            "id": "likes",
            "label": _label("Likes", "Aime"),
            "type": "multi_choice",
            "refinable": True,
            "values": list(LIKES),
            "value_labels": {value: {"fr": LIKES_FR[value]} for value in LIKES},
        },
        {
            "id": "brand",
            "label": _label("Favourite brand", "Marque préférée"),
            "type": "single_choice",
            "refinable": True,
            "values": list(BRANDS),
        },
        {
            "id": "size",
            "label": _label("Size", "Taille"),
            "type": "single_choice",
            "refinable": True,
            "values": list(SIZES),
        },
        {
            "id": "birthday",
            "label": _label("Birthday", "Anniversaire"),
            "type": "yearless_date",
            "refinable": False,
        },
        {
            "id": "anniversary",
            "label": _label("Wedding anniversary", "Anniversaire de mariage"),
            "type": "date",
            "refinable": False,
        },
        {
            "id": "gift_note",
            "label": _label("Gift note", "Note cadeau"),
            "type": "text",
            "refinable": False,
        },
        {
            "id": "vip",
            "label": _label("VIP", "VIP"),
            "type": "boolean",
            "refinable": True,
        },
    ]
    for order, attribute in enumerate(attributes, start=1):
        data = {"id": attribute.pop("id"), "group": ATTRIBUTE_GROUP}
        data.update(attribute)
        data["display_order"] = order
        records.append(("attribute", data))
    records += [
        (
            "measure",
            {
                "id": "churn",
                "legal_entity": le,
                "label": _label("Churn probability", "Probabilité d'attrition"),
                "format": "percent",
            },
        ),
        (
            "measure",
            {
                "id": "nba",
                "legal_entity": le,
                "label": _label("Next best action", "Prochaine action conseillée"),
                "format": "text",
            },
        ),
    ]
    activity_types = (
        ("STORE_VISIT", "Store visit", "Visite en boutique", False, True),
        ("EMAIL", "E-mail", "E-mail", False, True),
        ("CALL", "Phone call", "Appel", False, True),
        ("APPOINTMENT", "Appointment", "Rendez-vous", True, True),
        # Retired: old activities keep their label, new ones cannot use it.
        ("FAX", "Fax", "Télécopie", False, False),
    )
    for code, en, fr, appointment, active in activity_types:
        records.append(
            (
                "activity_type",
                {
                    "id": f"AT-{code}",
                    "legal_entity": le,
                    "code": code,
                    "label": _label(en, fr),
                    "appointment": appointment,
                    "active": active,
                },
            )
        )
    records.append(
        (
            "settings",
            {
                "legal_entity": le,
                "enabled": True,
                "number_sequence": NUMBER_SEQUENCE,
                "attribute_group": ATTRIBUTE_GROUP,
                "exclusive": True,
                "card_measures": ["churn", "nba"],
            },
        )
    )
    return records


def _phone(rng: random.Random, locale: str) -> str:
    # Numbers from the ranges regulators set aside for fiction.
    if locale == "fr_FR":
        digits = f"{rng.randrange(10_000):04d}"
        return f"+33 6 39 98 {digits[:2]} {digits[2:]}"
    return f"+44 7700 900{rng.randrange(1000):03d}"


def _consent(rng: random.Random, has_email: bool, has_phone: bool) -> dict[str, Any]:
    def pick(known: bool) -> bool | None:
        # No channel means the consent is unknown rather than refused.
        if not known:
            return None
        return rng.choices(_CONSENT_VALUES, weights=(55, 25, 20))[0]

    return {"email": pick(has_email), "phone": pick(has_phone), "sms": pick(has_phone)}


def _customers(rng: random.Random, fake: Faker, count: int) -> list[dict[str, Any]]:
    """``count`` customers plus three HQ parties that are not customers."""
    total = count + 3
    first_pick = len(_ACCENTED_FIRST_NAMES) if total - 4 >= 8 else 0
    special = rng.sample(range(first_pick, total), 4)
    non_customers = dict(zip(special[:3], _NON_CUSTOMER_ROLES, strict=True))
    worker_customer = special[3]
    generators = {"fr_FR": fake["fr_FR"], "en_GB": fake["en_GB"]}
    seen_emails: dict[str, int] = {}
    parties: list[dict[str, Any]] = []
    for index in range(total):
        number = index + 1
        # The accented first names are French: keep a French phone number.
        locale = "fr_FR" if rng.random() < 0.8 or index < first_pick else "en_GB"
        generator = generators[locale]
        first_name = generator.first_name()
        last_name = generator.last_name()
        if index < first_pick:
            first_name = _ACCENTED_FIRST_NAMES[index]
        party: dict[str, Any] = {
            "id": f"C{number:06d}",
            "legal_entity": LEGAL_ENTITY,
            "account_number": f"FR-{number:06d}",
            "first_name": first_name,
            "last_name": last_name,
        }
        has_email = rng.random() < 0.92
        has_phone = rng.random() < 0.85
        if has_email:
            local = _email_local(first_name, last_name)
            # Homonyms get a number so that e-mails stay unique.
            seen = seen_emails.get(local, 0)
            seen_emails[local] = seen + 1
            if seen:
                local = f"{local}{seen + 1}"
            domain = rng.choice(("example.org", "example.com"))
            party["email"] = f"{local}@{domain}"
        if has_phone:
            party["phone"] = _phone(rng, locale)
        party["consent"] = _consent(rng, has_email, has_phone)
        party["active"] = rng.random() >= 0.02
        books = rng.choices(_CUSTOMER_BOOKS, weights=_CUSTOMER_BOOK_WEIGHTS)[0]
        party["address_books"] = list(books)
        if index in non_customers:
            roles, books = non_customers[index]
            party["roles"] = list(roles)
            party["address_books"] = list(books)
        elif index == worker_customer:
            party["roles"] = ["worker", "customer"]
        parties.append(party)
    return parties


def _is_customer(party: dict[str, Any]) -> bool:
    return "customer" in party.get("roles", ["customer"])


def _values(
    rng: random.Random,
    customers: list[dict[str, Any]],
    as_of: str,
    values_per_customer: int | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Attribute and measure values, each present for only part of customers.

    With ``values_per_customer``, every customer instead holds a value for
    that many attributes (the first ones by display order) and both measures.
    """
    if values_per_customer is not None:
        return _full_values(rng, customers, as_of, values_per_customer)
    attribute_values: list[dict[str, Any]] = []
    measure_values: list[dict[str, Any]] = []
    leap_year_start = datetime(2024, 1, 1)  # 2024 has a 29 February
    for customer in customers:
        cid = customer["id"]

        def add(attribute: str, value: object, cid: str = cid) -> None:
            attribute_values.append(
                {"customer": cid, "attribute": attribute, "value": value}
            )

        if rng.random() < 0.80:
            picked = set(rng.sample(LIKES, rng.randint(1, 3)))
            add("likes", [like for like in LIKES if like in picked])
        if rng.random() < 0.70:
            add("brand", rng.choice(BRANDS))
        if rng.random() < 0.60:
            add("size", rng.choice(SIZES))
        if rng.random() < 0.50:
            day = leap_year_start + timedelta(days=rng.randrange(366))
            add("birthday", day.strftime("--%m-%d"))
        if rng.random() < 0.20:
            day = datetime(1985, 1, 1) + timedelta(days=rng.randrange(40 * 365))
            add("anniversary", day.strftime("%Y-%m-%d"))
        if rng.random() < 0.15:
            add("gift_note", rng.choice(_GIFT_NOTES))
        vip_draw = rng.random()
        if vip_draw < 0.10:
            add("vip", True)
        elif vip_draw < 0.15:
            add("vip", False)
        if rng.random() < 0.85:
            churn = round(rng.betavariate(2, 5), 2)
            measure_values.append(
                {"customer": cid, "measure": "churn", "value": churn, "as_of": as_of}
            )
            measure_values.append(
                {
                    "customer": cid,
                    "measure": "nba",
                    "value": rng.choice(_NEXT_BEST_ACTIONS),
                    "as_of": as_of,
                }
            )
    return attribute_values, measure_values


def _full_values(
    rng: random.Random,
    customers: list[dict[str, Any]],
    as_of: str,
    count: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A value for each of the first ``count`` attributes and both measures."""

    def likes() -> list[str]:
        picked = set(rng.sample(LIKES, rng.randint(1, 3)))
        return [like for like in LIKES if like in picked]

    draws = {
        "likes": likes,
        "brand": lambda: rng.choice(BRANDS),
        "size": lambda: rng.choice(SIZES),
        "birthday": lambda: (
            datetime(2024, 1, 1) + timedelta(days=rng.randrange(366))
        ).strftime("--%m-%d"),
        "anniversary": lambda: (
            datetime(1985, 1, 1) + timedelta(days=rng.randrange(40 * 365))
        ).strftime("%Y-%m-%d"),
        "gift_note": lambda: rng.choice(_GIFT_NOTES),
        "vip": lambda: rng.random() < 0.10,
    }
    if not 0 <= count <= len(draws):
        raise ValueError(f"values_per_customer must be from 0 to {len(draws)}")
    attributes = list(draws)[:count]
    attribute_values: list[dict[str, Any]] = []
    measure_values: list[dict[str, Any]] = []
    for customer in customers:
        cid = customer["id"]
        for attribute in attributes:
            attribute_values.append(
                {"customer": cid, "attribute": attribute, "value": draws[attribute]()}
            )
        measure_values.append(
            {
                "customer": cid,
                "measure": "churn",
                "value": round(rng.betavariate(2, 5), 2),
                "as_of": as_of,
            }
        )
        measure_values.append(
            {
                "customer": cid,
                "measure": "nba",
                "value": rng.choice(_NEXT_BEST_ACTIONS),
                "as_of": as_of,
            }
        )
    return attribute_values, measure_values


def _books(
    rng: random.Random,
    customers: list[dict[str, Any]],
    watermark: datetime,
    lead_book_size: int | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Client books and their memberships; a customer sits in one book at most.

    ``lead_book_size`` replaces the size of the first associate's book (the
    one to demo with).
    """
    # Added during shop hours (08:00-18:00 UTC) on a day of the watermark's
    # year before the watermark's own day.
    first_day = datetime(watermark.year, 1, 1, tzinfo=UTC)
    days = (watermark - first_day).days
    if days < 1:
        first_day, days = first_day - timedelta(days=365), 365
    taken: set[str] = set()
    books: list[dict[str, Any]] = []
    memberships: list[dict[str, Any]] = []
    for spec in _STAFF:
        size = spec.book_size
        if spec is _STAFF[0] and lead_book_size is not None:
            size = lead_book_size
        if not size:
            continue
        # Members must be visible in every store the owner works in, so the
        # book is whole in each store's feed.
        store_books = [
            set(STORES[store][1]) for store in _staff_stores(spec.address_books)
        ]
        pool = [
            customer["id"]
            for customer in customers
            if customer["active"]
            and customer["id"] not in taken
            and all(books_ & set(customer["address_books"]) for books_ in store_books)
        ]
        members = sorted(rng.sample(pool, min(size, len(pool))))
        taken.update(members)
        book_id = f"CB-{len(books) + 1:06d}"
        books.append({"id": book_id, "legal_entity": LEGAL_ENTITY, "staff": spec.id})
        for member in members:
            added = first_day + timedelta(
                days=rng.randrange(days), minutes=rng.randrange(8 * 60, 18 * 60)
            )
            memberships.append(
                {
                    "book": book_id,
                    "customer": member,
                    "added_at": _instant(added),
                    "added_by": spec.id,
                }
            )
    return books, memberships


def _build_world(
    customers: int,
    seed: int,
    watermark: datetime,
    lead_book_size: int | None = None,
    values_per_customer: int | None = None,
) -> _World:
    rng = random.Random(seed)
    fake = Faker(["fr_FR", "en_GB"])
    fake.seed_instance(seed)

    staff = [
        {
            "id": spec.id,
            "legal_entity": LEGAL_ENTITY,
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "email": f"{_email_local(spec.first_name, spec.last_name)}@example.com",
            "password_hash": _password_hash(seed, spec.id),
            "login_enabled": spec.login_enabled,
            "address_books": list(spec.address_books),
            "operations": list(spec.operations),
        }
        for spec in _STAFF
    ]
    parties = _customers(rng, fake, customers)
    real_customers = [party for party in parties if _is_customer(party)]
    as_of_day = (watermark - timedelta(days=1)).date()
    as_of = f"{as_of_day.isoformat()}T23:00:00Z"
    attribute_values, measure_values = _values(
        rng, real_customers, as_of, values_per_customer
    )
    books, memberships = _books(rng, real_customers, watermark, lead_book_size)

    head: list[tuple[str, dict[str, Any]]] = [
        ("legal_entity", {"id": LEGAL_ENTITY, "name": LEGAL_ENTITY_NAME}),
        # The sequence hands out ids above every book the feed already holds.
        (
            "number_sequence",
            {
                "id": NUMBER_SEQUENCE,
                "legal_entity": LEGAL_ENTITY,
                "prefix": "CB-",
                "next": len(books) + 1,
                "width": 6,
            },
        ),
    ]
    # Every address book of the legal entity: customers and staff of one store
    # may also belong to the other store's book.
    head += [
        ("address_book", {"id": book, "legal_entity": LEGAL_ENTITY, "name": name})
        for book, name in ADDRESS_BOOKS.items()
    ]
    return _World(
        head,
        staff,
        _config_records(),
        parties,
        attribute_values,
        measure_values,
        books,
        memberships,
    )


def _store_records(world: _World, store: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield one store's full feed records, in the protocol's entity order."""
    name, store_books = STORES[store]
    yield from world.head
    yield (
        "store",
        {
            "id": store,
            "legal_entity": LEGAL_ENTITY,
            "name": name,
            "time_zone": "Europe/Paris",
            "default_locale": "fr",
            "address_books": list(store_books),
        },
    )
    # Every store holds the whole legal entity: a client book may take any
    # customer of the legal entity, whatever the store's address books.
    staff_ids = set()
    for member in world.staff:
        staff_ids.add(member["id"])
        yield "staff", member
    yield from world.config
    customer_ids = set()
    for party in world.customers:
        if _is_customer(party):
            customer_ids.add(party["id"])
        yield "customer", party
    for value in world.attribute_values:
        if value["customer"] in customer_ids:
            yield "attribute_value", value
    for value in world.measure_values:
        if value["customer"] in customer_ids:
            yield "measure_value", value
    book_ids = set()
    for book in world.books:
        if book["staff"] in staff_ids:
            book_ids.add(book["id"])
            yield "client_book", book
    for membership in world.memberships:
        if membership["book"] in book_ids and membership["customer"] in customer_ids:
            yield "membership", membership


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_demo_feeds(
    out_dir: Path,
    customers: int = 5000,
    seed: int = 20261203,
    watermark: str = "2026-12-03T02:00:00Z",
    *,
    lead_book_size: int | None = None,
    values_per_customer: int | None = None,
    stores: tuple[str, ...] | None = None,
) -> list[Path]:
    """Write one full HQ feed per demo store into ``out_dir``.

    ``customers`` customers are spread over the stores' address books (three
    more HQ parties that are workers or vendors come on top); each store's
    feed holds what its address books reach. The same arguments always give
    byte-identical files. Returns the paths written, one per store, named
    ``<STORE>-<watermark>-full.ndjson`` so they sort in the order HQ wrote them.

    For a store of flagship size: ``lead_book_size`` sets how many customers
    the first associate (S1001) holds, ``values_per_customer`` gives every
    customer that many attribute values and both measures, and ``stores``
    writes the feeds of some stores only.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    moment = _parse_watermark(watermark)
    world = _build_world(customers, seed, moment, lead_book_size, values_per_customer)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    compact = moment.strftime("%Y%m%dT%H%M%SZ")
    paths: list[Path] = []
    for store in stores or tuple(STORES):
        path = out_dir / f"{store}-{compact}-full.ndjson"
        # Write under a name the folder connector ignores, then rename, so a
        # sync running meanwhile never reads half a feed.
        partial = path.with_name(path.name + ".part")
        count = 0
        with partial.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(
                _dumps(
                    {
                        "type": "header",
                        "format": FEED_FORMAT,
                        "store": store,
                        "kind": "full",
                        "watermark": watermark,
                    }
                )
            )
            for entity, data in _store_records(world, store):
                handle.write(
                    _dumps(
                        {
                            "type": "record",
                            "entity": entity,
                            "op": "upsert",
                            "data": data,
                        }
                    )
                )
                count += 1
            handle.write(_dumps({"type": "trailer", "count": count}))
        os.replace(partial, path)
        paths.append(path)
    return paths


def demo_logins() -> list[dict[str, Any]]:
    """Describe each demo login for printing at start-up.

    Every entry has ``id``, ``name``, ``stores`` (store ids) and ``rights`` (a
    short English description). All logins share ``DEMO_PASSWORD``.
    """
    return [
        {
            "id": spec.id,
            "name": f"{spec.first_name} {spec.last_name}",
            "stores": _staff_stores(spec.address_books),
            "rights": spec.rights,
        }
        for spec in _STAFF
    ]


def main(argv: list[str] | None = None) -> None:
    """Command line: write the demo feeds and list the demo logins."""
    parser = argparse.ArgumentParser(description="Write deterministic demo HQ feeds.")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("instance/hq/feed"),
        help="folder to write the feeds into (default: %(default)s)",
    )
    parser.add_argument(
        "--customers",
        type=int,
        default=5000,
        help="number of customers (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=20261203, help="random seed (default: %(default)s)"
    )
    parser.add_argument(
        "--watermark",
        default="2026-12-03T02:00:00Z",
        help="feed watermark, a UTC instant (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    for path in write_demo_feeds(args.out, args.customers, args.seed, args.watermark):
        print(path)
    print(f"Demo logins (password {DEMO_PASSWORD!r}):")
    for login in demo_logins():
        stores = ", ".join(login["stores"])
        print(f"  {login['id']}  {login['name']:<20} {stores:<15} {login['rights']}")


if __name__ == "__main__":
    main()
