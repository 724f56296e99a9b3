"""The customer page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from .. import current_store
from ..activities.calendar import today_for
from ..activities.forms import ActivityForm
from ..activities.routes import type_choices
from ..activities.services import customer_activities
from ..notes.forms import NoteForm
from ..notes.services import customer_notes
from ..permissions import Operation, requires
from .services import customer_detail

bp = Blueprint("customers", __name__)


@bp.get("/customers/<customer_id>")
@requires(Operation.VIEW_CUSTOMER)
def show(customer_id: str):
    """Contact, consent, attributes, measures, books, notes and activities."""
    detail = customer_detail(current_user, customer_id)

    activity_form = ActivityForm(formdata=None).prepare(type_choices())
    activity_form.day.data = today_for(current_store())
    return render_template(
        "customers/show.html",
        detail=detail,
        notes=customer_notes(current_user, customer_id),
        note_form=NoteForm(formdata=None, prefix="note").fresh(),
        activities=customer_activities(current_user, customer_id),
        form=activity_form,
        customer=detail.customer,
        store=current_store(),
    )
