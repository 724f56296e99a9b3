"""Sign in, sign out, and the language switch."""

from __future__ import annotations

import logging
import re

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer

from .. import current_store
from ..extensions import db, limiter, login_manager
from ..org.models import Staff
from ..permissions import Operation, public, requires
from ..text import safe_path
from .forms import LoginForm
from .services import (
    SESSION_KEY,
    LoginRefused,
    authenticate,
    close_session,
    idle_minutes,
    keep_alive,
    open_session,
    recent_associates,
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


RECENT_COOKIE = "recent"
_STAFF_ID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


def _typed_staff_id() -> str:
    return "staff:" + (request.form.get("staff_id") or "").strip().upper()[:40]


def _failed(response) -> bool:
    return response.status_code == 401


def _too_many(limit):
    form = LoginForm()
    minutes = max(1, round((limit.reset_at - _now_ts()) / 60))
    form.password.errors = [
        _(
            "Too many failed sign-ins: wait %(num)d minutes, or ask your manager.",
            num=minutes,
        )
    ]
    typed = _typed_staff_id().removeprefix("staff:")
    # What was typed is named only when it is a staff id: it may be a
    # password typed in the wrong field.
    who = typed if typed and db.session.get(Staff, typed) else "an unknown staff id"
    logger.warning(
        "sign-in throttled for %s from %s after repeated failures (%s)",
        who,
        request.remote_addr,
        limit.limit,
    )
    return make_response(_login_page(form, 429))


def _now_ts() -> float:
    import time

    return time.time()


def _recent_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="recent-on-device")


def _recent() -> list[str]:
    """The ids this server signed into this device's cookie; nothing forged."""
    try:
        ids = _recent_signer().loads(request.cookies.get(RECENT_COOKIE, ""))
    except BadSignature:
        return []
    if not isinstance(ids, list):
        return []
    return [s for s in ids if isinstance(s, str) and _STAFF_ID.match(s)]


def _login_page(form, status):
    recent = recent_associates(_recent(), current_store())
    if request.method == "GET" and request.args.get("staff") in {s.id for s in recent}:
        form.staff_id.data = request.args["staff"]
    return render_template("auth/login.html", form=form, recent=recent), status


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_STAFF"],
    key_func=_typed_staff_id,
    methods=["POST"],
    deduct_when=_failed,
    on_breach=_too_many,
    scope="login-staff",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_DEVICE"],
    methods=["POST"],
    deduct_when=_failed,
    on_breach=_too_many,
    scope="login-device",
)
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
            response = redirect(_safe_next(request.args.get("next")))
            recent = [staff.id] + [s for s in _recent() if s != staff.id]
            response.set_cookie(
                RECENT_COOKIE,
                _recent_signer().dumps(
                    recent[: int(current_app.config["RECENT_ON_DEVICE"])]
                ),
                max_age=90 * 24 * 3600,
                samesite="Lax",
                httponly=True,
            )
            return response
    elif form.is_submitted():
        status = 422
    return _login_page(form, status)


@bp.post("/logout")
@requires(Operation.SIGNED_IN)
def logout():
    """Sign the associate out (the screen's idle timer says reason=idle)."""
    idle = request.form.get("reason") == "idle"
    close_session(
        session.get(SESSION_KEY), current_user.id, "idle" if idle else "signed out"
    )
    logout_user()
    session.clear()
    if idle:
        flash(_idle_message(), "info")
    else:
        flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/switch")
@requires(Operation.SIGNED_IN)
def switch():
    """Hand the tablet over: sign out and show the sign-in for the next associate."""
    close_session(session.get(SESSION_KEY), current_user.id, "switched")
    logout_user()
    session.clear()
    flash(_("Signed out. Next associate: sign in."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/session/keep-alive")
@requires(Operation.SIGNED_IN)
def stay():
    """The associate is still there: restart the idle time."""
    keep_alive(session.get(SESSION_KEY))
    return "", 204


def _idle_message() -> str:
    minutes = idle_minutes()
    if isinstance(minutes, int):
        return _("You were signed out after %(num)d minutes without use.", num=minutes)
    return _("You were signed out after a while without use.")


def signed_out_for_idleness() -> bool:
    return bool(g.get("signed_out_idle"))


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
