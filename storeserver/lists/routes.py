"""Call and e-mail lists of a filtered book, on screen and as CSV."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from .. import current_store
from ..customers import filters as customer_filters
from ..customers.services import reference
from ..errors import InvalidInput
from ..permissions import Operation, requires
from . import services

bp = Blueprint("lists", __name__)


def _build(scope: str, channel: str):
    if channel not in services.CHANNELS:
        abort(404)
    store = current_store()
    ref = reference(current_user.legal_entity_id)
    filters = customer_filters.parse(request.args, ref)
    owner_filter = [o for o in request.args.getlist("owner") if o]
    if scope == "book":
        owner_filter = []
    result = services.contact_list(
        current_user, store, scope, channel, filters, owner_filter
    )
    pairs = list(filters.to_args().items(multi=True))
    pairs += [("owner", owner) for owner in owner_filter]
    return result, urlencode(pairs)


def _page(scope: str, channel: str):
    result, query = _build(scope, channel)
    back = url_for("book.index" if scope == "book" else "store_book.index")
    csv_url = url_for(f"lists.{scope}_csv", channel=channel)
    addresses = [result.address(c) for c in result.included]
    write_to_all = None
    if channel == "email" and 0 < len(addresses) <= 50:
        write_to_all = "mailto:?bcc=" + ",".join(quote(a, safe="@") for a in addresses)
    return render_template(
        "lists/contact.html",
        result=result,
        scope=scope,
        back=back + (f"?{query}" if query else ""),
        csv_url=csv_url + (f"?{query}" if query else ""),
        write_to_all=write_to_all,
        reasons=services.REASONS,
    )


def _csv(scope: str, channel: str):
    result, _query = _build(scope, channel)
    if result.beyond_limit:
        # A file cut short would look whole: refuse it and say why.
        raise InvalidInput(
            _(
                "More than %(num)d customers match: narrow the filter to export them.",
                num=current_app.config["LIST_LIMIT"],
            )
        )
    services.log_export(current_user, scope, result)
    address = _("E-mail") if channel == "email" else _("Phone")
    text = services.to_csv(
        result, [_("Account"), _("First name"), _("Last name"), address]
    )
    name = "email-list.csv" if channel == "email" else "call-list.csv"
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/book/contact/<channel>")
@requires(Operation.VIEW_MY_BOOK)
def book_list(channel):
    """Who in my filtered book may be called or e-mailed, and who is left out."""
    return _page("book", channel)


@bp.get("/book/contact/<channel>.csv")
@requires(Operation.VIEW_MY_BOOK)
def book_csv(channel):
    """My filtered book's call or e-mail list as CSV (UTF-8 with BOM)."""
    return _csv("book", channel)


@bp.get("/store-book/contact/<channel>")
@requires(Operation.VIEW_STORE_BOOK)
def store_list(channel):
    """Who in the filtered store book may be called or e-mailed."""
    return _page("store", channel)


@bp.get("/store-book/contact/<channel>.csv")
@requires(Operation.VIEW_STORE_BOOK)
def store_csv(channel):
    """The filtered store book's call or e-mail list as CSV (UTF-8 with BOM)."""
    return _csv("store", channel)
