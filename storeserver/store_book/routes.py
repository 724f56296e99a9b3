"""The store book: every associate's customers, selection and reassignment."""

from __future__ import annotations

import uuid
from datetime import date
from urllib.parse import parse_qsl, urlencode

from flask import (
    Blueprint,
    Response,
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
from ..auth.services import current_session_id
from ..customers import filters as customer_filters
from ..customers.services import reference
from ..errors import InvalidInput
from ..fragments import page_arg, vary_on_htmx, wants_fragment
from ..permissions import Operation, has, requires
from . import services, trail

bp = Blueprint("store_book", __name__, url_prefix="/store-book")
bp.after_request(vary_on_htmx)


def _query_string(filters, owner_filter: list[str]) -> str:
    pairs = list(filters.to_args().items(multi=True))
    pairs += [("owner", owner) for owner in owner_filter]
    return urlencode(pairs)


def _back(raw: str | None) -> MultiDict:
    """The store book's filter, carried through a form as a query string."""
    return MultiDict(parse_qsl(raw or ""))


def _context(args, with_owners: bool = True) -> dict:
    store = current_store()
    ref = reference(store.legal_entity_id)
    filters = customer_filters.parse(args, ref)
    owner_filter = [o for o in args.getlist("owner") if o]
    page = services.store_book_page(
        current_user,
        store,
        filters,
        owner_filter,
        page_arg(args),
        current_session_id(),
        with_owners,
    )
    return {
        "page": page,
        "filters": filters,
        "query": _query_string(filters, owner_filter),
        "filter_url": url_for("store_book.index"),
    }


@bp.get("")
@requires(Operation.VIEW_STORE_BOOK)
def index():
    """The store book: cards with their owners, filters, the selection."""
    # The owner filter is not part of the fragment: only the page counts owners.
    context = _context(request.args, with_owners=not wants_fragment())
    if not wants_fragment():
        return render_template("store_book/index.html", **context)

    page = context["page"]
    canonical = context["query"]
    if page.page > 1:
        canonical += ("&" if canonical else "") + f"page={page.page}"
    url = url_for("store_book.index") + (f"?{canonical}" if canonical else "")
    body = render_template("store_book/_card_list.html", **context)
    body += _stale_regions(context)
    return body, 200, {"HX-Push-Url": url}


def _stale_regions(context) -> str:
    """The regions a new filter or selection makes stale, out of band.

    The selection bar's "select all N matching" follows the filter on screen;
    an open confirmation is closed, since its count may no longer hold.
    """
    if not has(current_user, Operation.REASSIGN):
        return ""
    return render_template(
        "store_book/_selection.html", oob=True, **context
    ) + render_template("store_book/_reassign_confirm.html", count=0, oob=True)


# -- selection --------------------------------------------------------------------


@bp.post("/selection")
@requires(Operation.REASSIGN)
def selection():
    """Tick or untick customers, select all matching the filter, or clear."""
    store = current_store()
    key = current_session_id()
    action = request.form.get("action", "set")
    back = _back(request.form.get("back"))

    if action == "all":
        ref = reference(store.legal_entity_id)
        filters = customer_filters.parse(back, ref)
        owner_filter = [o for o in back.getlist("owner") if o]
        services.select_all_matching(current_user, store, key, filters, owner_filter)
    elif action == "clear":
        services.clear_selection(current_user, key)
    elif action == "set":
        services.set_selection(
            current_user,
            store,
            key,
            request.form.getlist("page_ids"),
            request.form.getlist("customer"),
        )
    else:
        raise InvalidInput(_("This action is not available here."))

    if not wants_fragment():
        return redirect(_store_book_url(back), 303)
    context = _context(back, with_owners=False)
    body = render_template("store_book/_selection.html", **context)
    body += render_template("store_book/_reassign_confirm.html", count=0, oob=True)
    if action in ("all", "clear"):
        # The ticks on the page change too.
        body += render_template("store_book/_card_list.html", oob=True, **context)
    return body


def _store_book_url(args: MultiDict) -> str:
    target = url_for("store_book.index")
    if args:
        target += "?" + urlencode(list(args.items(multi=True)))
    return target


# -- reassigning ------------------------------------------------------------------


@bp.get("/reassign")
@requires(Operation.REASSIGN)
def reassign():
    """Confirm the reassignment: the exact count and the associate to receive them."""
    store = current_store()
    ids = services.selected_ids(store, current_session_id())
    context = {
        "count": len(ids),
        "digest": services.digest(ids),
        "batch_id": uuid.uuid4().hex,
        "targets": services.eligible_targets(store),
        "back": request.args.get("back", ""),
    }
    if not ids:
        flash(_("Select the customers to reassign first."), "info")
    if wants_fragment():
        return render_template(
            "store_book/_reassign_confirm.html", **context
        ) + render_template("_messages.html", oob=True)
    return render_template("store_book/reassign.html", **context)


@bp.post("/reassign")
@requires(Operation.REASSIGN)
def reassign_post():
    """Move the selected customers to the chosen associate's client book."""
    store = current_store()
    outcome = services.reassign(
        current_user,
        store,
        current_session_id(),
        request.form.get("target"),
        request.form.get("digest", ""),
        request.form.get("batch", ""),
    )

    if outcome.already_done:
        flash(_("This reassignment was already done; nothing more moved."), "info")
    elif not outcome.moved:
        flash(
            _(
                "Nothing moved: these customers were already in the client book "
                "of %(name)s.",
                name=outcome.target.name,
            ),
            "info",
        )
    else:
        flash(
            ngettext(
                "%(num)d customer moved to the client book of %(name)s.",
                "%(num)d customers moved to the client book of %(name)s.",
                len(outcome.moved),
                name=outcome.target.name,
            ),
            "success",
        )
    if outcome.moved and outcome.unchanged:
        flash(
            ngettext(
                "%(num)d customer was already in that client book.",
                "%(num)d customers were already in that client book.",
                len(outcome.unchanged),
            ),
            "info",
        )
    back = _back(request.form.get("back"))
    if not wants_fragment():
        return redirect(_store_book_url(back), 303)

    context = _context(back)
    body = render_template("store_book/_card_list.html", **context)
    body += render_template("store_book/_selection.html", oob=True, **context)
    body += render_template("store_book/_owner_filter.html", oob=True, **context)
    body += render_template("store_book/_reassign_confirm.html", count=0, oob=True)
    body += render_template("_messages.html", oob=True)
    return body


# -- the audit trail --------------------------------------------------------------


def _trail_filter(args) -> trail.TrailFilter:
    def day(name):
        raw = (args.get(name) or "").strip()
        if not raw:
            return None
        try:
            day = date.fromisoformat(raw)
            if not 1900 <= day.year <= 2999:
                raise ValueError(raw)
        except ValueError as exc:
            raise InvalidInput(
                _("%(value)s is not a date (YYYY-MM-DD).", value=raw)
            ) from exc
        return day

    return trail.TrailFilter(
        associate=(args.get("associate") or "").strip(),
        date_from=day("from"),
        date_to=day("to"),
    )


@bp.get("/audit")
@requires(Operation.VIEW_STORE_BOOK)
def audit():
    """Who added, removed or reassigned which customer, when, from whom to whom."""
    store = current_store()
    wanted = _trail_filter(request.args)
    found = trail.trail_page(current_user, store, wanted, page_arg(request.args))
    query = urlencode(
        [(k, v) for k, v in request.args.items(multi=True) if k != "page" and v]
    )
    return render_template(
        "store_book/audit.html",
        trail=found,
        wanted=wanted,
        query=query,
        staff=services.store_staff(store),
    )


@bp.get("/audit.csv")
@requires(Operation.VIEW_STORE_BOOK)
def audit_csv():
    """The filtered audit trail as a CSV file (UTF-8 with BOM)."""
    labels = {
        "header": [
            _("When"),
            _("Action"),
            _("By"),
            _("Customer id"),
            _("Customer"),
            _("From"),
            _("To"),
            _("Batch"),
        ],
        "actions": {
            "book.add": _("Added"),
            "book.remove": _("Removed"),
            "book.reassign": _("Reassigned"),
        },
    }
    text = trail.trail_csv(
        current_user, current_store(), _trail_filter(request.args), labels
    )
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="book-changes.csv"'},
    )
