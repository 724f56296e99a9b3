"""Call lists, e-mail lists and their CSV exports, respecting consent (F21, F15)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from .conftest import customer, value
from .test_book import book, member


def consent(email, phone):
    return {"email": email, "phone": phone, "sms": None}


@pytest.fixture
def shop(world):
    """F21's C1 (e-mail yes), C2 (e-mail no, phone yes), C3 (unknown), in A1's book."""
    world.pull(
        [
            customer("C1", "Élodie", "Ñandú", consent=consent(True, False)),
            customer("C2", "Zoë", "Ørsted-Çelik", consent=consent(False, True)),
            customer("C3", "Anaïs", "L'Hôte", consent=consent(None, None)),
            customer(
                "C4", '=HYPERLINK("http://x")', "Formule", consent=consent(True, True)
            ),
            customer("C5", "Sans", "Adresse", email=None, consent=consent(True, True)),
            customer("C6", "Lucie", "Ailleurs", consent=consent(True, True)),
            value("C1", "aime", ["Sacs"]),
            value("C2", "aime", ["Sacs"]),
            value("C3", "aime", ["Sacs"]),
            book("CB-A", "A1"),
            book("CB-B", "B1"),
            *[member("CB-A", c) for c in ("C1", "C2", "C3", "C4", "C5")],
            member("CB-B", "C6"),
        ]
    )
    return world


def included(html: str) -> list[str]:
    table = html.split('class="trail contact-list"')[1].split("</table>")[0]
    return re.findall(r'<a href="/customers/[^"]+">([^<]+)</a>', table)


def excluded(html: str) -> dict[str, str]:
    if 'class="trail excluded"' not in html:
        return {}
    table = html.split('class="trail excluded"')[1].split("</table>")[0]
    rows = re.findall(r"<td>([^<]+)</td>\s*<td>([^<]+)</td>", table)
    return {name.replace("&#39;", "'"): reason for name, reason in rows}


def rows(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: accents in spreadsheets
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_f21_only_consenting_customers_are_offered_for_email(shop, login):
    page = login("A1").get("/book/contact/email?a.aime=Sacs").get_data(as_text=True)

    assert included(page) == ["Élodie Ñandú"]
    assert excluded(page) == {
        "Zoë Ørsted-Çelik": "did not consent",
        "Anaïs L'Hôte": "consent unknown",
    }
    assert "mailto:c1%40example.org" in page
    assert "c2@example.org" not in page


def test_the_call_list_follows_phone_consent(shop, login):
    page = login("A1").get("/book/contact/phone?a.aime=Sacs").get_data(as_text=True)

    assert included(page) == ["Zoë Ørsted-Çelik"]
    assert excluded(page) == {
        "Élodie Ñandú": "did not consent",
        "Anaïs L'Hôte": "consent unknown",
    }
    assert 'href="tel:+33600000000"' in page


def test_a_customer_without_an_address_is_left_out_with_the_reason(shop, login):
    page = login("A1").get("/book/contact/email").get_data(as_text=True)

    assert excluded(page)["Sans Adresse"] == "no e-mail address"
    assert "Lucie Ailleurs" not in page  # B1's customer, not in my book


def test_f21_export_for_emailing_holds_only_consenting_customers(shop, login):
    response = login("A1").get("/book/contact/email.csv?a.aime=Sacs")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "no-store" in response.headers["Cache-Control"]
    assert rows(response) == [
        ["Account", "First name", "Last name", "E-mail"],
        ["ACC-C1", "Élodie", "Ñandú", "c1@example.org"],
    ]


def test_f15_the_csv_opens_with_its_accents_and_no_formula(shop, login):
    response = login("A1").get("/book/contact/phone.csv")

    table = rows(response)
    assert table[0][0] == "Account"  # no BOM left in the first header
    names = {(r[1], r[2]) for r in table[1:]}
    assert ("Zoë", "Ørsted-Çelik") in names
    # A name a spreadsheet would run as a formula is kept as text; phones stay.
    assert ('\'=HYPERLINK("http://x")', "Formule") in names
    assert all(r[3] == "+33 6 00 00 00 00" for r in table[1:])


def test_the_csv_headers_follow_the_language(shop, login):
    session = login("A1")
    session.language = "fr"

    table = rows(session.get("/book/contact/email.csv"))

    assert table[0] == ["Compte", "Prénom", "Nom", "E-mail"]


def test_f21_consent_survives_a_pull_without_it_and_a_note(shop, login):
    without_consent = {
        "id": "C2",
        "legal_entity": "LE1",
        "account_number": "ACC-C2",
        "first_name": "Zoë",
        "last_name": "Ørsted-Çelik",
        "phone": "+33 6 11 11 11 11",
    }
    shop.pull([("customer", without_consent)])
    session = login("A1")
    session.post("/customers/C2/notes", data={"note-body": "Préfère le téléphone"})

    page = session.get("/book/contact/email?a.aime=Sacs").get_data(as_text=True)

    assert excluded(page)["Zoë Ørsted-Çelik"] == "did not consent"
    assert included(page) == ["Élodie Ñandú"]


def test_cards_link_only_the_channels_the_customer_consented_to(shop, login):
    page = login("A1").get("/book?q=zoe", htmx=True).get_data(as_text=True)

    assert 'href="tel:+33600000000"' in page
    assert "mailto:" not in page
    assert "no e-mail consent" in page


def test_the_list_actions_carry_the_filter(shop, login):
    page = login("A1").get("/book?a.aime=Sacs", htmx=True).get_data(as_text=True)

    assert 'href="/book/contact/email?a.aime=Sacs"' in page
    assert 'href="/book/contact/phone.csv?a.aime=Sacs"' in page


def test_the_store_book_has_lists_for_managers(shop, login):
    page = login("M1").get("/store-book/contact/email").get_data(as_text=True)

    assert set(included(page)) == {
        "Élodie Ñandú",
        "=HYPERLINK(&#34;http://x&#34;) Formule",
        "Lucie Ailleurs",
    }
    assert login("A1").get("/store-book/contact/email").status_code == 403


def test_an_unknown_channel_is_not_found(shop, login):
    assert login("A1").get("/book/contact/fax").status_code == 404


def test_exports_are_logged_without_addresses(shop, login, caplog):
    login("A1").get("/book/contact/email.csv")

    assert "A1 exported the e-mail list of 2 customers from their client book" in (
        caplog.text
    )
    assert "c1@example.org" not in caplog.text


def test_an_export_that_would_be_cut_short_is_refused(app, shop, login):
    app.config["LIST_LIMIT"] = 2

    response = login("A1").get("/book/contact/email.csv")

    assert response.status_code == 422
    assert "More than 2 customers match: narrow the filter" in response.get_data(
        as_text=True
    )
    assert "3 more customers match" in login("A1").get("/book/contact/email").get_data(
        as_text=True
    )


def test_a_phone_shaped_formula_is_kept_as_text():
    from storeserver.text import spreadsheet_safe

    assert spreadsheet_safe("+1-1") == "'+1-1"
    assert spreadsheet_safe("+1 1") == "'+1 1"
    assert spreadsheet_safe("+33 6 12 34 56 78") == "+33 6 12 34 56 78"
