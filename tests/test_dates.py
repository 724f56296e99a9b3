"""Important dates: upcoming birthdays and anniversaries (F07, F08, 29 February)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from storeserver.customers.dates import next_occurrence

from .conftest import customer, value


@pytest.mark.parametrize(
    ("stored", "today", "expected", "years"),
    [
        ("2001-12-25", "2026-12-20", "2026-12-25", 25),
        ("1970-01-02", "2026-12-20", "2027-01-02", 57),
        ("1985-12-19", "2026-12-20", "2027-12-19", 42),
        ("--12-20", "2026-12-20", "2026-12-20", None),
        ("--02-29", "2027-02-01", "2027-02-28", None),
        ("--02-29", "2028-02-01", "2028-02-29", None),
        ("1992-02-29", "2027-02-28", "2027-02-28", 35),
        ("1992-02-29", "2027-03-01", "2028-02-29", 36),
    ],
)
def test_next_occurrence(stored, today, expected, years):
    on, counted = next_occurrence(stored, date.fromisoformat(today))

    assert on.isoformat() == expected
    assert counted == years


DATE_ATTRIBUTES = [
    (
        "attribute",
        {
            "id": "naissance",
            "group": "AG1",
            "label": {"en": "Birth date", "fr": "Date de naissance"},
            "type": "date",
            "display_order": 6,
        },
    ),
    (
        "attribute",
        {
            "id": "mariage",
            "group": "AG1",
            "label": {"en": "Wedding", "fr": "Mariage"},
            "type": "date",
            "display_order": 7,
        },
    ),
]


def names(html: str) -> list[str]:
    return re.findall(
        r'<h3 id="name-[^"]+" class="name">\s*(?:<a [^>]+>)?([^<]+)', html
    )


@pytest.fixture
def year_end(world, clock, login):
    """Field case F07: today 2026-12-20 in Paris."""
    clock("2026-12-20T10:00:00Z")
    world.pull(
        DATE_ATTRIBUTES
        + [
            customer("CA", "Anne", "Mariée"),
            customer("CB", "Bruno", "Janvier"),
            customer("CC", "Chloé", "Trente"),
            customer("CD", "Denis", "Trente-et-un"),
            customer("CE", "Emma", "Hier"),
            customer("CF", "Fanny", "Partie"),
            value("CA", "mariage", "2001-12-25"),
            value("CB", "naissance", "1970-01-02"),
            value("CC", "naissance", "1990-01-19"),
            value("CD", "naissance", "1990-01-20"),
            value("CE", "naissance", "1985-12-19"),
            value("CF", "naissance", "1980-12-31"),
            ("client_book", {"id": "CB-A", "legal_entity": "LE1", "staff": "A1"}),
        ]
        + [
            ("membership", {"book": "CB-A", "customer": c})
            for c in ("CA", "CB", "CC", "CD", "CE", "CF")
        ]
    )
    session = login("A1")
    session.post("/book/remove", {"customer": "CF"})  # removed from the book
    return session


def test_upcoming_within_30_days_across_year_end(year_end):
    page = year_end.get("/book?upcoming=30", htmx=True).get_data(as_text=True)

    assert names(page) == ["Anne Mariée", "Bruno Janvier", "Chloé Trente"]
    days = re.findall(r'<li data-days="(\d+)">', page)
    assert days == ["5", "13", "30"]
    assert "in 5 days · 25 years" in " ".join(page.split())
    assert "in 13 days · 57 years" in " ".join(page.split())


def test_upcoming_combines_with_other_filters(year_end):
    page = year_end.get("/book?upcoming=30&q=bruno", htmx=True).get_data(as_text=True)

    assert names(page) == ["Bruno Janvier"]


def test_upcoming_filter_in_the_url_and_refused_when_absurd(year_end):
    page = year_end.get("/book?upcoming=30", htmx=True)
    absurd = year_end.get("/book?upcoming=999", htmx=True)

    assert page.headers["HX-Push-Url"] == "/book?upcoming=30"
    assert absurd.status_code == 422
    assert "from 0 to 366" in absurd.get_data(as_text=True)


def test_29_february_is_observed_on_28_february_in_common_years(world, clock, login):
    clock("2027-02-27T10:00:00Z")
    world.pull(
        [
            customer("CL", "Léa", "Bissextile"),
            value("CL", "anniversaire", "--02-29"),
            ("client_book", {"id": "CB-A", "legal_entity": "LE1", "staff": "A1"}),
            ("membership", {"book": "CB-A", "customer": "CL"}),
        ]
    )
    session = login("A1")

    page = session.get("/book?upcoming=1", htmx=True).get_data(as_text=True)
    home = session.get("/").get_data(as_text=True)

    assert names(page) == ["Léa Bissextile"]
    assert '<li data-days="1">' in page
    assert "Léa Bissextile" in home and "tomorrow" in home


@pytest.mark.parametrize(
    ("zone", "now", "birthday", "expected"),
    [
        # Field case F08: the store's day is already tomorrow in UTC terms.
        ("Europe/Vienna", "2024-09-04T22:00:00Z", "--09-05", "today"),
        ("Europe/Vienna", "2024-09-05T22:00:00Z", "--09-05", None),
        ("Pacific/Auckland", "2026-06-23T12:00:00Z", "--06-24", "today"),
    ],
)
def test_this_weeks_dates_follow_the_stores_local_day(
    world, clock, login, zone, now, birthday, expected
):
    clock(now)
    world.pull(
        [
            (
                "store",
                {
                    "id": "S1",
                    "legal_entity": "LE1",
                    "name": "Boutique",
                    "time_zone": zone,
                    "address_books": ["AB1"],
                },
            ),
            customer("CV", "Vera", "Fete"),
            value("CV", "anniversaire", birthday),
            ("client_book", {"id": "CB-A", "legal_entity": "LE1", "staff": "A1"}),
            ("membership", {"book": "CB-A", "customer": "CV"}),
        ]
    )
    session = login("A1")

    home = session.get("/").get_data(as_text=True)

    panel = home.split('id="dates-title"')[1].split("</section>")[0]
    if expected is None:
        # The next one is a year away: not this week.
        assert "Vera Fete" not in panel
    else:
        assert "Vera Fete" in panel
        assert '<li data-days="0">' in panel
