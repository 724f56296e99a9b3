"""HQ customer files in the encodings spreadsheets write (F15)."""

from __future__ import annotations

import codecs
import unicodedata

import pytest
import sqlalchemy as sa

from storeserver.cli import main
from storeserver.customers.models import Customer
from storeserver.extensions import db

HEADER = "id,account_number,first_name,last_name,email,email_consent\n"
ROWS = (
    "F1,ACC-F1,Élodie,Ñandú,elodie@example.org,oui\n"
    "F2,ACC-F2,Zoë,Ørsted-Çelik,zoe@example.org,non\n"
    "F3,ACC-F3,Anaïs,L'Hôte,anais@example.org,\n"
)
NAMES = {("Élodie", "Ñandú"), ("Zoë", "Ørsted-Çelik"), ("Anaïs", "L'Hôte")}
# A first column whose first row starts with a non-ASCII letter: "Élodie" first.
FIRST_NAME_FIRST = (
    "first_name,id,account_number,last_name\n"
    "Élodie,F1,ACC-F1,Ñandú\nZoë,F2,ACC-F2,Ørsted-Çelik\nAnaïs,F3,ACC-F3,L'Hôte\n"
)


def stored(app) -> set[tuple[str, str]]:
    with app.app_context():
        return {
            (c.first_name, c.last_name)
            for c in db.session.scalars(
                sa.select(Customer).where(Customer.id.in_(["F1", "F2", "F3"]))
            )
        }


def run(runner, path):
    return runner.invoke(main, ["import", "customers", str(path)])


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        (lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), "utf-8-sig"),
        (lambda t: t.encode("utf-8"), "utf-8"),
        (lambda t: t.encode("cp1252"), "windows-1252"),
        (lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"), "utf-16"),
        (lambda t: t.replace(",", ";").encode("utf-8"), "utf-8"),
    ],
    ids=["utf8-bom", "utf8", "windows-1252", "utf16le-bom", "semicolons"],
)
def test_f15_every_encoding_gives_the_intended_names(
    app, world, runner, tmp_path, encoding, expected
):
    path = tmp_path / "customers.csv"
    path.write_bytes(encoding(HEADER + ROWS))

    result = run(runner, path)

    assert result.exit_code == 0, result.output
    assert f"read as {expected}" in result.output
    assert stored(app) == NAMES
    with app.app_context():
        zoe = db.session.get(Customer, "F2")
        assert unicodedata.is_normalized("NFC", zoe.last_name)
        assert zoe.consent_email is False
        assert db.session.get(Customer, "F1").consent_email is True
        assert db.session.get(Customer, "F3").consent_email is None


def test_f15_the_first_header_carries_no_bom_and_elodie_is_kept(
    app, world, runner, tmp_path
):
    path = tmp_path / "customers.csv"
    path.write_bytes(codecs.BOM_UTF8 + FIRST_NAME_FIRST.encode("utf-8"))

    result = run(runner, path)

    assert result.exit_code == 0, result.output
    assert stored(app) == NAMES


def test_decomposed_accents_are_stored_composed(app, world, runner, tmp_path):
    path = tmp_path / "customers.csv"
    decomposed = unicodedata.normalize("NFD", HEADER + ROWS)
    path.write_bytes(decomposed.encode("utf-8"))

    assert run(runner, path).exit_code == 0
    assert stored(app) == NAMES


def test_f15_an_undecodable_file_is_refused_with_its_line_and_nothing_imported(
    app, world, runner, tmp_path
):
    path = tmp_path / "customers.csv"
    # Line 3 holds a byte that is neither UTF-8 nor Windows-1252.
    path.write_bytes((HEADER + ROWS).encode("utf-8").replace(b"Zo\xc3\xab", b"Zo\x81"))

    result = run(runner, path)

    assert result.exit_code == 1
    assert "nothing imported" in result.output
    assert "line 3" in result.output
    assert stored(app) == set()


def test_a_bad_row_refuses_the_whole_file(app, world, runner, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + ROWS + "F4,,Sans,Compte,x@example.org,oui\n", "utf-8")

    result = run(runner, path)

    assert result.exit_code == 1
    assert 'line 5: "account_number" is empty' in result.output
    assert stored(app) == set()


def test_a_consent_that_is_not_yes_or_no_is_refused(app, world, runner, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "F1,ACC-F1,Élodie,Ñandú,e@example.org,peut-être\n")

    result = run(runner, path)

    assert result.exit_code == 1
    assert "email_consent" in result.output and "line 2" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HEADER + ROWS + "F1,ACC-F1b,Élodie,Bis,e@example.org,oui\n", "also on line 2"),
        (
            "id,account_number,last_name,emial_consent\nF1,A,B,oui\n",
            "unknown columns: emial_consent",
        ),
        ("id,account_number,last_name\nF1,A," + "x" * 101 + "\n", "longer than 100"),
        ("id,account_number,last_name\nF1,A,B\x00C\n", "NUL character"),
        (
            'id,account_number,last_name\nF1,A,"' + "x" * 200_000 + '"\n',
            "not readable CSV",
        ),
        (
            "id,account_number,last_name\nX1,ACC-X1,Pirate\n",
            "belongs to another company",
        ),
        (
            "id,account_number,last_name,address_books\nF1,A,B,AB9\n",
            "address book AB9 is not one of this company's",
        ),
    ],
    ids=[
        "duplicate",
        "unknown-column",
        "too-long",
        "nul",
        "huge-cell",
        "other-company",
        "other-book",
    ],
)
def test_files_that_would_do_harm_are_refused_whole(
    app, world, runner, tmp_path, content, message
):
    world.pull(
        [
            (
                "customer",
                {
                    "id": "X1",
                    "legal_entity": "LE2",
                    "account_number": "ACC-X1",
                    "last_name": "Société",
                    "address_books": ["AB9"],
                },
            )
        ]
    )
    path = tmp_path / "customers.csv"
    path.write_text(content, "utf-8")

    result = run(runner, path)

    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "nothing imported" in result.output
    assert stored(app) == set()
    with app.app_context():
        assert db.session.get(Customer, "X1").last_name == "Société"
