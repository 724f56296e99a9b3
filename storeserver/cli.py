"""The `storeserver` command: serve, db, sync, insights, staff, demo."""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from . import create_app, upgrade_database


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=True)
def main():
    """Run and look after this store's clienteling server."""


def register(app) -> None:
    """Put the store's commands on the app (so `flask --app storeserver` has them)."""
    for command in (serve, sync, insights, import_group, demo, staff):
        app.cli.add_command(command)


@click.command()
@click.option("--host", default=None, help="Address to listen on (default HOST).")
@click.option("--port", type=int, default=None, help="Port (default PORT).")
@with_appcontext
def serve(host, port):
    """Serve the app with waitress, the production WSGI server."""
    import waitress

    app = current_app._get_current_object()
    upgrade_database(app)
    host = host or app.config["HOST"]
    port = port or app.config["PORT"]
    _print_logins()
    if app.config["SCHEDULER_ENABLED"]:
        from . import current_store
        from .sync import schedule

        store = current_store()
        schedule.start(app, store.time_zone if store else "UTC")
    click.echo(f"storeserver for store {app.config['STORE_ID']}: http://{host}:{port}/")
    # Objects alive after start-up never need collecting; freezing them and
    # collecting less often keeps the collector out of page latency.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    waitress.serve(app, host=host, port=port, threads=app.config["THREADS"], ident=None)


def _print_logins() -> None:
    from .demo import DEMO_PASSWORD, demo_logins
    from .extensions import db
    from .org.models import Staff

    store_id = current_app.config["STORE_ID"]
    demo_ids = {
        login["id"]: login for login in demo_logins() if store_id in login["stores"]
    }
    held = db.session.scalars(sa.select(Staff.id).where(Staff.id.in_(demo_ids))).all()
    if not held:
        return
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for staff_id in sorted(held):
        login = demo_ids[staff_id]
        click.echo(f"  {staff_id}  {login['name']:<24} {login['rights']}")


@click.group()
def sync():
    """Exchange data with HQ."""


@sync.command("pull")
@with_appcontext
def sync_pull():
    """Apply the pending HQ feeds for this store and print what they did."""
    from .sync.connectors import HQRefused, HQUnavailable
    from .sync.feed import FeedError
    from .sync.lock import SyncBusy
    from .sync.services import pull

    started = time.perf_counter()

    def progress(count: int) -> None:
        click.echo(f"  ... {count:,} records", err=True)

    try:
        results = pull(progress=progress)
    except FeedError as exc:
        click.echo(f"HQ pull refused, nothing changed: {exc}", err=True)
        sys.exit(1)
    except (HQUnavailable, HQRefused) as exc:
        click.echo(f"HQ pull failed, nothing changed: {exc}", err=True)
        sys.exit(1)
    except SyncBusy as exc:
        click.echo(f"HQ pull not started: {exc}", err=True)
        sys.exit(2)

    if not results:
        click.echo("No feed for this store in the HQ folder.")
    for result in results:
        if not result.applied:
            click.echo(f"{result.source}: skipped, {result.skipped_reason}")
            continue
        click.echo(
            f"{result.source}: {result.kind} feed applied, watermark {result.watermark}"
        )
        for name, count in sorted(result.counts.items()):
            click.echo(f"  {name:<28} {count:>8,}")
    click.echo(f"Elapsed: {time.perf_counter() - started:.2f} s")


@sync.command("push")
@with_appcontext
def sync_push():
    """Send the queued changes to HQ and print what HQ made of them."""
    from .sync.lock import SyncBusy
    from .sync.services import push

    try:
        result = push()
    except SyncBusy as exc:
        click.echo(f"HQ push not started: {exc}", err=True)
        sys.exit(2)
    rate = result.sent / result.seconds if result.seconds else 0
    click.echo(
        f"{result.sent:,} sent, {result.parked:,} parked, {result.left:,} still queued "
        f"in {result.batches} batches, {result.seconds:.2f} s ({rate:,.0f} changes/s)"
    )
    if result.error:
        click.echo(f"HQ push stopped: {result.error}", err=True)
        sys.exit(1)


@sync.command("status")
@with_appcontext
def sync_status():
    """Print the last pull and push, the watermark, the outbox and the lock."""
    from .extensions import db
    from .sync.models import OutboxRow, SyncLock, SyncRun
    from .sync.pull import stored_watermark

    click.echo(f"watermark: {stored_watermark() or '-'}")
    for kind in ("pull", "push"):
        run = db.session.scalars(
            sa.select(SyncRun)
            .where(SyncRun.kind == kind)
            .order_by(SyncRun.started_at.desc())
            .limit(1)
        ).first()
        if run is None:
            click.echo(f"last {kind}: never")
            continue
        took = (
            (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0
        )
        click.echo(
            f"last {kind}: {run.started_at:%Y-%m-%d %H:%M:%S} UTC, {run.result}, "
            f"{took:.1f} s, {run.counts or {}}"
            + (f", {run.error}" if run.error else "")
        )
    counts = dict(
        db.session.execute(
            sa.select(OutboxRow.status, sa.func.count()).group_by(OutboxRow.status)
        ).all()
    )
    click.echo(
        "outbox: "
        + ", ".join(f"{counts.get(s, 0):,} {s}" for s in ("queued", "parked", "sent"))
    )
    for row in db.session.scalars(
        sa.select(OutboxRow).where(OutboxRow.status == "parked").limit(20)
    ):
        click.echo(f"  parked {row.uid} {row.kind}: {row.last_error}")
    lock = db.session.get(SyncLock, "sync")
    if lock and lock.holder:
        click.echo(
            f"lock: {lock.holder}, since {lock.acquired_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"expires {lock.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    else:
        click.echo("lock: free")


@click.group()
def demo():
    """The demo store."""


@demo.command("feed")
@click.option("--customers", type=int, default=5000, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None)
@with_appcontext
def demo_feed(customers, out):
    """Write the demo HQ feeds into the HQ feed folder."""
    from .demo import write_demo_feeds

    started = time.perf_counter()
    out = out or Path(current_app.config["HQ_FEED_DIR"])
    paths = write_demo_feeds(out, customers=customers)
    for path in paths:
        click.echo(f"wrote {path}")
    click.echo(f"Elapsed: {time.perf_counter() - started:.2f} s")


@demo.command("setup")
@click.pass_context
@with_appcontext
def demo_setup(ctx):
    """Write and pull the demo feed when the database holds no store yet."""
    from .extensions import db
    from .org.models import Store

    if db.session.scalar(sa.select(sa.func.count()).select_from(Store)):
        click.echo("The database already holds a store; demo setup skipped.")
        return
    ctx.invoke(demo_feed)
    ctx.invoke(sync_pull)


@click.group()
def insights():
    """The analytics measures on the cards."""


@insights.command("validate")
@click.option(
    "--legal-entity", default=None, help="Legal entity (default: this store's)."
)
@with_appcontext
def insights_validate(legal_entity):
    """Read the secret, get a token, make one call; switch off on failure."""
    from flask_babel import force_locale

    from . import current_store
    from .insights.services import validate

    if legal_entity is None:
        store = current_store()
        if store is None:
            click.echo("This store is not known yet: run `storeserver sync pull`.")
            sys.exit(1)
        legal_entity = store.legal_entity_id
    result = validate(legal_entity)
    if result.ok:
        expiry = result.secret_expires_on
        click.echo(
            f"Analytics integration of {legal_entity}: secret read, token granted, "
            "the service answered. Cards show the measures."
        )
        if expiry:
            click.echo(f"The secret expires on {expiry:%Y-%m-%d}.")
        return
    with force_locale("en"):
        label = result.step_label
    click.echo(f"Analytics validation of {legal_entity} failed: {label}.", err=True)
    if result.detail:
        click.echo(f"  {result.detail}", err=True)
    if result.step in ("not_configured", "not_connected"):
        click.echo("Cards show the nightly values HQ sends.", err=True)
    elif result.step == "disabled":
        click.echo("Cards show attributes in the measure slots.", err=True)
    elif result.step != "unknown_legal_entity":
        click.echo(
            "The integration is switched off: cards show attributes in the measure "
            "slots until a validation succeeds.",
            err=True,
        )
    sys.exit(1)


@click.group("import")
def import_group():
    """Files HQ hands over outside the feed."""


@import_group.command("customers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_customers(path):
    """Apply an HQ customer file (CSV, any of the usual encodings), all or nothing."""
    from . import current_store
    from .sync.customer_file import import_file
    from .sync.feed import FeedError

    store = current_store()
    if store is None:
        click.echo("This store is not known yet: run `storeserver sync pull`.")
        sys.exit(1)
    try:
        counts, encoding = import_file(path, store.legal_entity_id)
    except FeedError as exc:
        click.echo(f"{path.name} refused, nothing imported: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{path.name}: read as {encoding}")
    for name, count in sorted(counts.items()):
        click.echo(f"  {name:<28} {count:>8,}")


@click.group()
def staff():
    """Staff from HQ."""


@staff.command("list")
@with_appcontext
def staff_list():
    """List the staff of this store's legal entity and their operations."""
    from .extensions import db
    from .org.models import Staff

    for member in db.session.scalars(sa.select(Staff).order_by(Staff.id)):
        state = "" if member.login_enabled else " (login disabled)"
        ops = ",".join(member.operations or [])
        click.echo(f"{member.id:<8} {member.name:<28} {ops}{state}")


if __name__ == "__main__":
    main()
