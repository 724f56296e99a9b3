"""The customer page."""

from __future__ import annotations

from .conftest import customer, value


def test_customer_page_shows_contact_consent_attributes_measures_and_book(world, login):
    world.pull(
        [
            customer(
                "C1",
                "Lucie",
                "Fictive",
                consent={"email": True, "phone": False, "sms": None},
            ),
            value("C1", "aime", ["Sacs", "Bijoux"]),
            value("C1", "anniversaire", "--02-29"),
            value("C1", "remarque", "Pas de parfum"),
            (
                "measure_value",
                {
                    "customer": "C1",
                    "measure": "churn",
                    "value": 0.07,
                    "as_of": "2026-01-01T03:00:00Z",
                },
            ),
            ("client_book", {"id": "CB-B", "legal_entity": "LE1", "staff": "B1"}),
            ("membership", {"book": "CB-B", "customer": "C1"}),
        ]
    )
    session = login("A1")

    page = session.get("/customers/C1").get_data(as_text=True)

    assert "Lucie Fictive" in page
    assert "c1@example.org" in page
    assert 'class="consent-yes"' in page
    assert 'class="consent-no"' in page
    assert 'class="consent-unknown"' in page
    assert "Sacs, Bijoux" in page
    assert "29 February" in page
    assert "Pas de parfum" in page
    assert "7%" in page
    assert "In the book of Marc Exemple" in page


def test_customer_page_of_unknown_customer_is_404(world, login):
    session = login("A1")

    response = session.get("/customers/NOPE")

    assert response.status_code == 404
    assert "not known in this store" in response.get_data(as_text=True)


def test_customer_of_another_legal_entity_is_not_shown(world, login):
    world.pull([customer("Z1", "Zed", "Autre", le="LE2", books=("AB9",))])
    session = login("A1")

    response = session.get("/customers/Z1")

    assert response.status_code == 404
    assert "Zed" not in response.get_data(as_text=True)


def test_customer_page_in_french(world, login):
    world.pull([customer("C1", "Lucie", "Fictive"), value("C1", "aime", ["Sacs"])])
    session = login("A1")
    session.language = "fr"

    page = session.get("/customers/C1").get_data(as_text=True)

    assert '<html lang="fr">' in page
    assert "Aime" in page
