"""Store IT's page: sync at a glance, and the reference cache flush."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
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

from .. import cache, current_store, secretstore
from ..customers import export
from ..extensions import db
from ..insights import services as insights
from ..permissions import Operation, requires
from ..sync import schedule
from ..sync import services as sync_services
from ..sync.models import OutboxRow, SyncLock, SyncRun
from ..sync.pull import stored_watermark

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("")
@requires(Operation.STORE_ADMIN)
def index():
    """The last HQ pulls, the watermark, the outbox, and the cache."""
    runs = db.session.scalars(
        sa.select(SyncRun).order_by(SyncRun.started_at.desc()).limit(20)
    ).all()
    outbox = dict(
        db.session.execute(
            sa.select(OutboxRow.status, sa.func.count()).group_by(OutboxRow.status)
        ).all()
    )
    parked = db.session.scalars(
        sa.select(OutboxRow)
        .where(OutboxRow.status == "parked")
        .order_by(OutboxRow.id)
        .limit(100)
    ).all()
    return render_template(
        "admin/index.html",
        runs=runs,
        outbox=outbox,
        parked=parked,
        watermark=stored_watermark(),
        generation=cache.generation(),
        next_runs=schedule.next_runs(current_app),
        lock=db.session.get(SyncLock, "sync"),
        insights=insights.status(current_store().legal_entity_id),
        expiring=secretstore.expiring(int(current_app.config["SECRET_WARN_DAYS"])),
    )


@bp.post("/insights/validate")
@requires(Operation.STORE_ADMIN)
def validate_insights():
    """Check the analytics integration end to end; it is switched off on failure."""
    result = insights.validate(current_store().legal_entity_id, current_user)
    if result.ok:
        flash(
            _(
                "Analytics integration checked: secret read, token granted, the "
                "service answered. Cards show the measures."
            ),
            "success",
        )
    elif result.step in insights.NOTHING_TO_CHECK:
        flash(_("Nothing to check: %(reason)s.", reason=result.step_label), "error")
    else:
        flash(
            _(
                "The check failed: %(step)s (%(detail)s). The integration is switched "
                "off: cards show attributes in the measure slots until a check "
                "succeeds.",
                step=result.step_label,
                detail=result.detail,
            ),
            "error",
        )
    return redirect(url_for("admin.index"), 303)


@bp.post("/outbox/retry")
@requires(Operation.STORE_ADMIN)
def retry():
    """Queue the changes HQ rejected again, once HQ has fixed the cause."""
    count = sync_services.retry_parked(current_user)
    flash(
        ngettext(
            "%(num)d change queued again for HQ.",
            "%(num)d changes queued again for HQ.",
            count,
        ),
        "success",
    )
    return redirect(url_for("admin.index"), 303)


@bp.post("/cache/flush")
@requires(Operation.STORE_ADMIN)
def flush():
    """Drop cached reference data (activity types, attributes) at once."""
    cache.flush(current_user)
    flash(_("Reference data reloaded: HQ's latest changes now show."), "success")
    if request.htmx:
        return render_template("_messages.html")
    return redirect(url_for("admin.index"), 303)


@bp.get("/customers")
@requires(Operation.STORE_ADMIN)
def customers():
    """Find a customer whose data was asked for, by id, account number or name."""
    q = request.args.get("q", "")
    return render_template(
        "admin/customers.html", q=q, found=export.find(current_user, q)
    )


@bp.get("/customers/<customer_id>/data")
@requires(Operation.STORE_ADMIN)
def customer_data(customer_id):
    """Everything held on one customer, readable."""
    data = export.customer_data(current_user, customer_id)
    return render_template("admin/customer_data.html", data=data)


@bp.get("/customers/<customer_id>/data.json")
@requires(Operation.STORE_ADMIN)
def customer_data_json(customer_id):
    """Everything held on one customer, as JSON to hand over."""
    data = export.customer_data(current_user, customer_id)
    name = "customer-" + re.sub(r"[^A-Za-z0-9_-]", "_", data["customer"]["id"])
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.json"',
            "Cache-Control": "no-store",
        },
    )
