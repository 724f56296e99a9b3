"""Notes: shared in the legal entity, versioned, never logged (F18, F19)."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from storeserver.errors import NotFound
from storeserver.extensions import db
from storeserver.notes.models import Note
from storeserver.notes.services import customer_notes
from storeserver.org.models import Staff
from storeserver.sync.models import OutboxRow

from .conftest import customer


@pytest.fixture
def shop(world):
    world.pull([customer("C9", "Clara", "Neuf")])
    return world


def notes(app) -> list[Note]:
    with app.app_context():
        return db.session.scalars(sa.select(Note).order_by(Note.id)).all()


def outbox(app, kind) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count()).where(OutboxRow.kind == kind)
        )


def add(session, body, token=None, htmx=True):
    return session.post(
        "/customers/C9/notes",
        {"note-body": body, "note-token": token or uuid.uuid4().hex},
        htmx=htmx,
    )


def test_add_a_note_newest_first(shop, app, login):
    session = login("A1")

    add(session, "Taille 38")
    response = add(session, "Préfère le mardi")

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="notes"')
    texts = re.findall(r'<p class="note-body">([^<]+)</p>', body)
    assert texts == ["Préfère le mardi", "Taille 38"]
    assert outbox(app, "note.create") == 2


def test_a_double_submit_saves_one_note(shop, app, login):
    session = login("A1")
    token = uuid.uuid4().hex

    add(session, "Taille 38", token)
    add(session, "Taille 38", token)

    assert len(notes(app)) == 1
    assert outbox(app, "note.create") == 1


def test_an_empty_note_is_refused(shop, app, login):
    session = login("A1")

    response = add(session, "   ")

    assert response.status_code == 422
    assert notes(app) == []


def test_note_bodies_never_reach_the_log(shop, login, caplog):
    caplog.set_level("DEBUG", logger="storeserver")
    session = login("A1")
    add(session, "Secret: allergique au nickel")
    note_id = 1

    session.post(
        f"/notes/{note_id}", {"note-1-body": "Secret bis", "note-1-version": "1"}
    )

    assert "A1 added note 1 on customer C9" in caplog.text
    assert "A1 edited note 1" in caplog.text
    assert "Secret" not in caplog.text


def test_every_associate_of_the_legal_entity_reads_the_notes(shop, login):
    add(login("A1"), "Taille 38")

    page = login("R1").get("/customers/C9").get_data(as_text=True)

    assert "Taille 38" in page
    assert "Inès Essai" in page


def test_a_login_of_another_legal_entity_reads_no_note(shop, app, login):
    add(login("A1"), "Taille 38")

    with app.app_context():
        outsider = db.session.get(Staff, "X1")
        with pytest.raises(NotFound):
            customer_notes(outsider, "C9")


def test_only_the_author_edits_a_note(shop, app, login):
    add(login("A1"), "Taille 38")
    other = login("B1")

    response = other.post(
        "/notes/1", {"note-1-body": "Taille 40", "note-1-version": "1"}
    )

    assert response.status_code == 403
    assert notes(app)[0].body == "Taille 38"


def test_saving_over_a_newer_version_shows_both_texts_and_keeps_both(shop, app, login):
    """Field case F19: the shared tablet and the counter PC edit note N1 at v1."""
    add(login("A1"), "Taille 38")
    tablet = login("A1")
    counter = login("A1")
    tablet_form = tablet.get("/notes/1/edit", htmx=True).get_data(as_text=True)
    counter.get("/notes/1/edit", htmx=True)

    counter.post(
        "/notes/1",
        {"note-1-body": "Taille 38, préfère le mardi", "note-1-version": "1"},
    )
    conflict = tablet.post(
        "/notes/1", {"note-1-body": "Taille 40", "note-1-version": "1"}, htmx=True
    )

    body = conflict.get_data(as_text=True)
    assert 'name="note-1-version" type="hidden" value="1"' in tablet_form
    assert conflict.status_code == 409
    assert "Taille 38, préfère le mardi" in body
    assert "Taille 40" in body
    assert 'name="note-1-version" type="hidden" value="2"' in body
    [note] = notes(app)
    assert (note.body, note.version) == ("Taille 38, préfère le mardi", 2)

    merged = tablet.post(
        "/notes/1",
        {"note-1-body": "Taille 40, préfère le mardi", "note-1-version": "2"},
        htmx=True,
    )

    assert merged.status_code == 200
    [note] = notes(app)
    assert (note.body, note.version) == ("Taille 40, préfère le mardi", 3)
    assert outbox(app, "note.update") == 2  # v2 and v3, each sent up once


def test_note_edit_in_place_returns_the_note(shop, login):
    session = login("A1")
    add(session, "Taille 38")

    form = session.get("/notes/1/edit", htmx=True).get_data(as_text=True)
    saved = session.post(
        "/notes/1", {"note-1-body": "Taille 40", "note-1-version": "1"}, htmx=True
    )

    assert form.lstrip().startswith('<li id="note-1" class="note editing">')
    assert 'id="note-1-body"' in form
    back = session.get("/notes/1", htmx=True).get_data(as_text=True)
    assert back.lstrip().startswith('<li id="note-1" class="note">')
    assert (
        saved.get_data(as_text=True)
        .lstrip()
        .startswith('<li id="note-1" class="note">')
    )
    assert "Taille 40" in saved.get_data(as_text=True)


def test_a_note_over_the_limit_without_javascript_keeps_the_text(shop, app, login):
    session = login("A1")
    text = "Préfère le mardi.\r\n" * 280  # 5,320 characters once line ends are plain

    response = session.post(
        "/customers/C9/notes", {"note-body": text, "note-token": "t1"}
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "at most 5000 characters" in body
    assert "Préfère le mardi." in body
    assert notes(app) == []


def test_a_form_token_reused_by_another_associate_is_refused(shop, app, login):
    add(login("A1"), "Taille 38", token="same")

    response = add(login("B1"), "Autre texte", token="same")

    assert response.status_code == 422
    assert [n.body for n in notes(app)] == ["Taille 38"]
