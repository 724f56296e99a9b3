"""Sign in, sign out, and the language switch."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import current_store
from ..extensions import login_manager
from ..org.models import Staff
from ..permissions import Operation, public, requires
from ..text import safe_path
from .forms import LoginForm
from .services import (
    SESSION_KEY,
    LoginRefused,
    authenticate,
    close_session,
    open_session,
    signed_in_staff,
)

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_staff(staff_id: str) -> Staff | None:
    """The signed-in staff member, while their sign-in session is open."""
    return signed_in_staff(session.get(SESSION_KEY), staff_id)


def _safe_next(target: str | None) -> str:
    """Only a path on this server: never send a login on to another site."""
    return safe_path(target) or url_for("book.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Show the login form and sign the associate in."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))

    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            staff = authenticate(
                form.staff_id.data, form.password.data, current_store()
            )
        except LoginRefused as refused:
            form.password.errors.append(str(refused.message))
            status = 401
        else:
            # A fresh cookie for a fresh sign-in: nothing of the previous
            # visitor's session on this device carries over.
            session.clear()
            session[SESSION_KEY] = open_session(staff).id
            login_user(staff)
            return redirect(_safe_next(request.args.get("next")))
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@requires(Operation.SIGNED_IN)
def logout():
    """Sign the associate out."""
    close_session(session.get(SESSION_KEY), current_user.id)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
@public
def language():
    """Remember the language chosen on this device."""
    chosen = request.form.get("lang")
    target = _safe_next(request.form.get("next"))
    response = redirect(target)
    if chosen in current_app.config["LANGUAGES"]:
        response.set_cookie(
            "lang", chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
        )
    return response
