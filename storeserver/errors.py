"""Domain errors, and the one place that turns errors into pages or fragments.

Services raise these small errors; the handlers below render a full page for a
normal request and a small fragment for an htmx one (swapped into the message
region), with a status a person and a script can both act on.
"""

from __future__ import annotations

import logging

from flask import Flask, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule said no; `message` is what the associate reads."""

    status = 422

    def __init__(self, message=None):
        super().__init__(str(message or self.default_message()))
        self.message = message or self.default_message()

    def default_message(self):
        return _l("That could not be done.")


class NotAllowed(DomainError):
    status = 403

    def __init__(self, operation=None, message=None):
        self.operation = operation
        super().__init__(message)

    def default_message(self):
        return _l("Your login does not allow this.")


class NotSignedIn(DomainError):
    status = 401

    def default_message(self):
        return _l("Please sign in.")


class NotFound(DomainError):
    status = 404

    def default_message(self):
        return _l("Not found.")


class AlreadyInAnotherBook(DomainError):
    status = 409

    def __init__(self, customer_name: str, holder_name: str):
        self.customer_name = customer_name
        self.holder_name = holder_name
        super().__init__(
            _l(
                "%(customer)s is already in the client book of %(holder)s.",
                customer=customer_name,
                holder=holder_name,
            )
        )


class InvalidInput(DomainError):
    status = 422


def _same_site_referrer() -> str | None:
    """The referring page's path, when it is a page of this server."""
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url):
        path = "/" + referrer[len(request.host_url) :]
        if path.isprintable():
            return path
    return None


def _render(status: int, message, title=None):
    # Why: a lazy message (flask_babel's LazyString) counts as safe HTML in
    # Jinja, and its arguments may come from the request or from HQ: turn it
    # into a plain string so that the template escapes it.
    message = str(message)
    title = str(title) if title is not None else None
    if getattr(request, "htmx", False):
        body = render_template("errors/_message.html", message=message, status=status)
        # Error fragments go to the message region, whatever the target was.
        return body, status, {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
    page = render_template(
        "errors/error.html",
        message=message,
        status=status,
        title=title,
        back=_same_site_referrer(),
    )
    return page, status


def register(app: Flask) -> None:
    """Attach the error handlers to the app."""

    @app.errorhandler(NotSignedIn)
    def not_signed_in(error):
        # After signing in, come back to the page: for a form sent after the
        # session ended, the page it was sent from, not the form's target.
        back = request.full_path.rstrip("?")
        if request.method != "GET":
            back = _same_site_referrer() or url_for("book.home")
        target = url_for("auth.login", next=back)
        from .auth.routes import _idle_message, signed_out_for_idleness

        if signed_out_for_idleness():
            flash(_idle_message(), "info")
        if getattr(request, "htmx", False):
            return "", 200, {"HX-Redirect": target}
        return redirect(target)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        from .extensions import db

        db.session.rollback()
        title = _l("Not found") if error.status == 404 else None
        return _render(error.status, error.message, title)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _render(
            400,
            _l("This form has expired. Reload the page and try again."),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.response is not None:
            return error.response  # a page made for this refusal (sign-in throttle)
        messages = {
            400: _l("The request could not be understood."),
            403: _l("Your login does not allow this."),
            404: _l("This page does not exist."),
            405: _l("This action is not available here."),
        }
        titles = {404: _l("Page not found"), 405: _l("Not available")}
        return _render(
            error.code or 500,
            messages.get(error.code, error.name),
            titles.get(error.code),
        )

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        from .extensions import db

        db.session.rollback()
        logger.exception("unexpected error on %s %s", request.method, request.path)
        return _render(500, _l("Something went wrong. Nothing was saved."))
