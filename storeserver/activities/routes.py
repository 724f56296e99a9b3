"""Activities on the customer page, the calendar, and the calendar file."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import current_store
from ..book.models import Membership
from ..book.services import find_book
from ..customers.models import Customer
from ..customers.services import reference
from ..errors import InvalidInput
from ..extensions import db
from ..fragments import vary_on_htmx, wants_fragment
from ..permissions import Operation, has, requires
from ..text import safe_path
from . import calendar, ical, services
from .forms import ActivityForm

bp = Blueprint("activities", __name__)
bp.after_request(vary_on_htmx)


def type_choices(keep: str | None = None) -> list:
    """Offered activity types with their label; `keep` adds a retired one."""
    ref = reference(current_user.legal_entity_id)
    language = get_locale().language
    chosen = [t for t in ref.activity_types.values() if t.active or t.id == keep]
    return [(t, t.label.get(language) or t.label.get("en") or t.code) for t in chosen]


def _form_page(form, customer, activity=None, status=200, customers=None):
    context = {
        "form": form,
        "customer": customer,
        "activity": activity,
        "customers": customers,
        "next": request.values.get("next", ""),
        # A new activity's form sent from the customer page goes back into
        # that page, as one of its sections.
        "embedded": wants_fragment() and activity is None and customer is not None,
    }
    template = "activities/_form.html" if wants_fragment() else "activities/form.html"
    body = render_template(template, **context)
    if wants_fragment():
        body += render_template("_messages.html", oob=True)
    return body, status


def _done(customer_id: str | None, next_url: str | None):
    """Where the associate goes after saving: back where they came from."""
    target = safe_path(next_url)
    if target is None and customer_id:
        target = url_for("customers.show", customer_id=customer_id) + "#activities"
    target = target or url_for("activities.calendar_view")
    if request.htmx:
        return "", 200, {"HX-Location": target}
    return redirect(target, 303)


@bp.get("/customers/<customer_id>/activities/new")
@requires(Operation.VIEW_CUSTOMER)
def new(customer_id: str):
    """The form to log or plan an activity with a customer."""
    customer = services.customer_of(current_user, customer_id)
    form = ActivityForm(formdata=None)
    form.day.data = _date_arg() or calendar.today_for(current_store())
    form.type.data = request.args.get("type")
    return _form_page(form.prepare(type_choices()), customer)


def _date_arg() -> date | None:
    try:
        return date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        return None


@bp.post("/customers/<customer_id>/activities")
@requires(Operation.VIEW_CUSTOMER)
def create(customer_id: str):
    """Log or plan an activity with a customer."""
    customer = services.customer_of(current_user, customer_id)
    form = ActivityForm().prepare(type_choices())
    if not form.validate():
        return _form_page(form, customer, status=422)
    try:
        services.create_activity(
            current_user, current_store(), customer.id, form.to_input()
        )
    except InvalidInput as invalid:
        form.form_errors.append(str(invalid.message))
        return _form_page(form, customer, status=422)

    flash(_("Activity saved."), "success")
    return _done(customer.id, request.form.get("next"))


@bp.get("/activities/<int:activity_id>/edit")
@requires(Operation.VIEW_CUSTOMER)
def edit(activity_id: int):
    """The form to change an activity one logged."""
    activity = services.get_activity(current_user, activity_id)
    data = services.local_input(activity, current_store())
    form = ActivityForm(formdata=None, data=data.__dict__)
    form.all_day.data = data.all_day
    form.type.data = data.type_id
    form.version.data = str(activity.version)
    form.prepare(type_choices(keep=activity.type_id))
    return _form_page(form, activity.customer, activity)


@bp.post("/activities/<int:activity_id>")
@requires(Operation.VIEW_CUSTOMER)
def update(activity_id: int):
    """Save the changes to an activity."""
    activity = services.get_activity(current_user, activity_id)
    form = ActivityForm().prepare(type_choices(keep=activity.type_id))
    if not form.validate():
        return _form_page(form, activity.customer, activity, status=422)
    try:
        version = int(form.version.data or 0)
    except ValueError:
        version = 0
    try:
        services.update_activity(
            current_user, current_store(), activity.id, form.to_input(), version
        )
    except InvalidInput as invalid:
        form.form_errors.append(str(invalid.message))
        return _form_page(form, activity.customer, activity, status=422)

    flash(_("Activity saved."), "success")
    return _done(activity.customer_id, request.form.get("next"))


@bp.post("/activities/<int:activity_id>/status")
@requires(Operation.VIEW_CUSTOMER)
def status(activity_id: int):
    """Mark an activity done or cancelled (or planned again)."""
    activity = services.set_status(
        current_user, activity_id, request.form.get("status", "")
    )
    if wants_fragment():
        return render_template(
            "activities/_item.html",
            activity=activity,
            show_customer=request.form.get("show_customer") == "1",
            store=current_store(),
        )
    return _done(activity.customer_id, request.form.get("next"))


# -- the calendar --------------------------------------------------------------


def _calendar_context(args) -> dict:
    store = current_store()
    view = args.get("view") if args.get("view") in calendar.VIEWS else "week"
    try:
        anchor = date.fromisoformat(args.get("date", ""))
        if not services.FIRST_YEAR <= anchor.year <= services.LAST_YEAR:
            raise ValueError(anchor)
    except ValueError:
        anchor = calendar.today_for(store)
    scope = "store" if args.get("scope") == "store" else "mine"
    span = calendar.period(view, anchor)
    return {
        "span": span,
        "scope": scope,
        "by_day": calendar.items(current_user, store, span, scope),
        "today": calendar.today_for(store),
        "store": store,
        "may_see_store": has(current_user, Operation.VIEW_STORE_BOOK),
    }


@bp.get("/calendar")
@requires(Operation.VIEW_CUSTOMER)
def calendar_view():
    """My activities, or the store's, by day, week or month, in local time."""
    context = _calendar_context(request.args)
    if wants_fragment():
        return render_template("calendar/_calendar.html", **context)
    return render_template("calendar/index.html", **context)


@bp.route("/calendar/new", methods=["GET", "POST"])
@requires(Operation.VIEW_CUSTOMER)
def calendar_new():
    """Plan an activity from the calendar, choosing a customer of my book."""
    book = find_book(current_user)
    customers = (
        db.session.scalars(
            db.select(Customer)
            .join(Membership, Membership.customer_id == Customer.id)
            .where(Membership.book_id == book.id, Customer.active)
            .order_by(Customer.sort_name)
        ).all()
        if book
        else []
    )
    form = ActivityForm(formdata=request.form if request.method == "POST" else None)
    form.prepare(type_choices(), customers)
    if request.method == "GET":
        form.day.data = _date_arg() or calendar.today_for(current_store())
        return _form_page(form, None, customers=customers)
    if not form.validate():
        return _form_page(form, None, status=422, customers=customers)
    if form.customer.data not in {c.id for c in customers}:
        form.form_errors.append(_("Choose a customer of your client book."))
        return _form_page(form, None, status=422, customers=customers)
    try:
        activity = services.create_activity(
            current_user, current_store(), form.customer.data, form.to_input()
        )
    except InvalidInput as invalid:
        form.form_errors.append(str(invalid.message))
        return _form_page(form, None, status=422, customers=customers)

    flash(_("Activity saved."), "success")
    back = safe_path(request.form.get("next")) or url_for(
        "activities.calendar_view", date=form.day.data.isoformat()
    )
    return _done(activity.customer_id, back)


@bp.get("/calendar/appointments.ics")
@requires(Operation.VIEW_CUSTOMER)
def calendar_file():
    """My activities as an iCalendar file for a phone or desktop calendar."""
    body = ical.appointments_ics(current_user, current_store(), get_locale().language)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="appointments.ics"'},
    )
