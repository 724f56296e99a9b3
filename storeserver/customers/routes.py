"""The customer page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from ..permissions import Operation, requires
from .services import customer_detail

bp = Blueprint("customers", __name__)


@bp.get("/customers/<customer_id>")
@requires(Operation.VIEW_CUSTOMER)
def show(customer_id: str):
    """Contact details, consent, attributes, measures and books of one customer."""
    detail = customer_detail(current_user, customer_id)
    return render_template("customers/show.html", detail=detail)
