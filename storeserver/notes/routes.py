"""Notes on the customer page: add, edit, and the conflict view."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..activities.services import customer_of
from ..errors import InvalidInput
from ..fragments import wants_fragment
from ..permissions import Operation, requires
from . import services
from .forms import NoteForm

bp = Blueprint("notes", __name__)


def _back_to(customer_id: str):
    return redirect(url_for("customers.show", customer_id=customer_id) + "#notes", 303)


@bp.post("/customers/<customer_id>/notes")
@requires(Operation.VIEW_CUSTOMER)
def create(customer_id: str):
    """Add a note to a customer."""
    customer = customer_of(current_user, customer_id)
    form = NoteForm(prefix="note")
    status = 200
    if form.validate():
        try:
            services.add_note(
                current_user, customer.id, form.body.data, form.token.data or ""
            )
        except InvalidInput as invalid:
            form.body.errors = [str(invalid.message)]
            status = 422
        else:
            flash(_("Note saved."), "success")
            form = NoteForm(formdata=None, prefix="note")
    else:
        status = 422

    notes = services.customer_notes(current_user, customer.id)
    if not wants_fragment():
        if status == 200:
            return _back_to(customer.id)
        # Keep what was typed, with the reason, on a page of its own.
        page = render_template(
            "notes/new.html", customer=customer, notes=notes, form=form.fresh()
        )
        return page, status
    body = render_template(
        "notes/_notes.html", customer=customer, notes=notes, form=form.fresh()
    )
    return body + render_template("_messages.html", oob=True), status


def _edit_form(note_id: int, **data) -> NoteForm:
    # Each note's form has its own prefix, so its fields' ids stay unique on a
    # page that also holds the form for a new note.
    return NoteForm(prefix=f"note-{note_id}", **data)


def _of(note):
    """The note's customer: a page of its own is titled with their name."""
    return customer_of(current_user, note.customer_id)


@bp.get("/notes/<int:note_id>")
@requires(Operation.VIEW_CUSTOMER)
def show(note_id: int):
    """One note (the edit form's Cancel puts it back in place)."""
    note = services.get_note(current_user, note_id)
    if wants_fragment():
        return render_template("notes/_item.html", note=note)
    return _back_to(note.customer_id)


@bp.get("/notes/<int:note_id>/edit")
@requires(Operation.VIEW_CUSTOMER)
def edit(note_id: int):
    """The form to edit one's note, in place of the note."""
    note = services.note_to_edit(current_user, note_id)
    form = _edit_form(note.id, formdata=None, body=note.body, version=str(note.version))
    template = "notes/_edit.html" if wants_fragment() else "notes/edit.html"
    return render_template(template, note=note, form=form, customer=_of(note))


@bp.post("/notes/<int:note_id>")
@requires(Operation.VIEW_CUSTOMER)
def update(note_id: int):
    """Save an edited note, or show both texts when it changed meanwhile."""
    note = services.note_to_edit(current_user, note_id)
    form = _edit_form(note.id)
    try:
        based_on = int(form.version.data or 0)
    except ValueError:
        based_on = 0
    try:
        note = services.edit_note(current_user, note.id, form.body.data, based_on)
    except services.NoteConflict as conflict:
        merge = _edit_form(
            note.id,
            formdata=None,
            body=conflict.yours,
            version=str(conflict.note.version),
        )
        template = "notes/_conflict.html" if wants_fragment() else "notes/conflict.html"
        return (
            render_template(
                template,
                note=conflict.note,
                yours=conflict.yours,
                form=merge,
                customer=_of(conflict.note),
            ),
            409,
        )
    except InvalidInput as invalid:
        form.body.errors = [str(invalid.message)]
        template = "notes/_edit.html" if wants_fragment() else "notes/edit.html"
        return render_template(template, note=note, form=form, customer=_of(note)), 422

    if wants_fragment():
        return render_template("notes/_item.html", note=note)
    flash(_("Note saved."), "success")
    return _back_to(note.customer_id)
