"""The associate's client book: the list, filters, adding and removing."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import current_store
from ..activities import calendar
from ..customers import filters as book_filters
from ..customers.services import reference
from ..customers.text import search_terms
from ..errors import InvalidInput
from ..fragments import page_arg, vary_on_htmx, wants_fragment
from ..permissions import Operation, has, requires
from ..timeutil import local_today
from . import services
from .forms import SelectionForm

bp = Blueprint("book", __name__)
bp.after_request(vary_on_htmx)


@bp.get("/")
@requires(Operation.SIGNED_IN)
def home():
    """Today's agenda and this week's important dates, or what the login offers."""
    store = current_store()
    today = local_today(store.time_zone)
    agenda = []
    if has(current_user, Operation.VIEW_CUSTOMER):
        span = calendar.period("day", today)
        agenda = calendar.items(current_user, store, span).get(today, [])
    dates = []
    if has(current_user, Operation.VIEW_MY_BOOK):
        dates = services.dates_this_week(current_user, today)
    return render_template(
        "book/home.html", agenda=agenda, dates=dates, today=today, store=store
    )


@bp.get("/book")
@requires(Operation.VIEW_MY_BOOK)
def index():
    """The client book: cards, filter panel, pages."""
    return _render_book(request.args, fragment=wants_fragment())


def _render_book(args, fragment: bool, status: int = 200, extra: str = ""):
    ref = reference(current_user.legal_entity_id)
    filters = book_filters.parse(args, ref)
    store = current_store()
    today = local_today(store.time_zone) if store else None
    page = services.book_page(current_user, filters, page_arg(args), today)
    context = {
        "page": page,
        "filters": filters,
        "query": urlencode(list(filters.to_args().items(multi=True))),
        "filter_url": url_for("book.index"),
    }
    if fragment:
        body = render_template("book/_card_list.html", **context) + extra
        # The address bar shows the filter in its one canonical form (no
        # empty fields), so bookmarks and the back button stay clean.
        canonical = context["query"]
        if page.page > 1:
            canonical += ("&" if canonical else "") + f"page={page.page}"
        url = url_for("book.index") + (f"?{canonical}" if canonical else "")
        return body, status, {"HX-Push-Url": url}
    return render_template("book/index.html", **context), status


# -- adding ---------------------------------------------------------------------


@bp.get("/book/add")
@requires(Operation.ADD_TO_BOOK)
def add():
    """Search any customer of the legal entity to add to the client book."""
    q = (request.args.get("q") or "").strip()
    return _add_results(q, fragment=wants_fragment())


def _add_results(q: str, fragment: bool, status: int = 200):
    context = {
        "q": q,
        "searched": bool(search_terms(q)),
        "candidates": services.search_to_add(current_user, q),
        "form": SelectionForm(q=q),
        "limit": current_app.config["ADD_SEARCH_LIMIT"],
    }
    if fragment:
        body = render_template("book/_add_results.html", **context)
        return body + render_template("_messages.html", oob=True), status
    return render_template("book/add.html", **context), status


@bp.post("/book/add")
@requires(Operation.ADD_TO_BOOK)
def add_post():
    """Add the ticked customers to the client book."""
    form = SelectionForm()
    q = (form.q.data or "").strip()
    try:
        outcome = services.add_customers(current_user, form.customer.data or [])
    except InvalidInput as invalid:
        # Keep the search and its results on screen with the message, with
        # or without JavaScript.
        flash(str(invalid.message), "error")
        return _add_results(q, fragment=wants_fragment(), status=invalid.status)

    if outcome.added:
        flash(
            ngettext(
                "%(num)d customer added to your client book.",
                "%(num)d customers added to your client book.",
                len(outcome.added),
            ),
            "success",
        )
    if outcome.already:
        flash(
            ngettext(
                "%(num)d customer was already in your client book.",
                "%(num)d customers were already in your client book.",
                len(outcome.already),
            ),
            "info",
        )
    for refusal in outcome.refused:
        flash(str(refusal.message), "error")
    status = (
        409 if outcome.refused and not outcome.added and not outcome.already else 200
    )

    if wants_fragment():
        return _add_results(q, fragment=True, status=status)
    return redirect(url_for("book.add", q=q) if q else url_for("book.index"), 303)


# -- removing -------------------------------------------------------------------


def _back_args(raw: str | None) -> MultiDict:
    """The book's filter carried through the confirmation as a query string."""
    return MultiDict(parse_qsl(raw or "", keep_blank_values=False))


@bp.get("/book/remove")
@requires(Operation.REMOVE_FROM_BOOK)
def remove():
    """Ask to confirm removing the ticked customers."""
    ids = request.args.getlist("customer")
    customers = services.members_to_remove(current_user, ids)
    back = request.args.get("back", "")
    form = SelectionForm(back=back)
    context = {"customers": customers, "form": form, "back": back}
    if not customers:
        if ids:
            flash(_("None of the ticked customers is in your client book."), "info")
        else:
            flash(_("Tick the customers to remove first."), "info")
    if wants_fragment():
        return render_template(
            "book/_remove_confirm.html", **context
        ) + render_template("_messages.html", oob=True)
    return render_template("book/remove.html", **context)


@bp.post("/book/remove")
@requires(Operation.REMOVE_FROM_BOOK)
def remove_post():
    """Remove the confirmed customers from the client book."""
    form = SelectionForm()
    removed = services.remove_customers(current_user, form.customer.data or [])
    if removed:
        flash(
            ngettext(
                "%(num)d customer removed from your client book.",
                "%(num)d customers removed from your client book.",
                len(removed),
            ),
            "success",
        )
    else:
        flash(_("Those customers were no longer in your client book."), "info")

    back = _back_args(form.back.data)
    if wants_fragment():
        extra = render_template("book/_remove_confirm.html", customers=[], oob=True)
        extra += render_template("_messages.html", oob=True)
        return _render_book(back, fragment=True, extra=extra)
    target = url_for("book.index")
    if back:
        target += "?" + urlencode(list(back.items(multi=True)))
    return redirect(target, 303)
