"""The schedule inside the one server process (APScheduler).

The pull runs nightly at the store's local PULL_AT, followed by a check of
the analytics integration; the push every PUSH_EVERY_MINUTES. Both take the
database lock, so a cron job or store IT's command line running at the same
moment is refused rather than overlapping.

The push runs in a thread of the server. The pull runs the command store IT
would type, `storeserver sync pull`, in a child process: applying a feed of
a flagship store is seconds of Python work, which in a thread would hold the
interpreter lock against the requests being served.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from .connectors import HQRefused, HQUnavailable
from .feed import FeedError
from .lock import SyncBusy

logger = logging.getLogger(__name__)


def _run(app: Flask, what: str) -> None:
    from . import services

    if what == "pull":
        _pull_in_child(app)
        with app.app_context():
            _check_insights()
        return
    with app.app_context():
        try:
            getattr(services, what)()
        except SyncBusy as exc:
            logger.info("scheduled %s skipped: %s", what, exc)
        except (HQUnavailable, HQRefused, FeedError) as exc:
            logger.warning("scheduled %s failed: %s", what, exc)
        except Exception:
            logger.exception("scheduled %s failed", what)


def _check_insights() -> None:
    # Each night, so that an expired or revoked secret switches the measures
    # off with a reason on the store IT page, not silently.
    from ..insights.services import validate_all

    try:
        validate_all()
    except Exception:
        logger.exception("scheduled analytics check failed")


def _pull_in_child(app: Flask) -> None:
    """Run `storeserver sync pull` with this server's instance folder and environment.

    The child reads the same configuration (instance config, environment),
    takes the same database lock and records its run like any pull; what it
    printed goes to this server's log.
    """
    env = {**os.environ, "STORESERVER_INSTANCE_PATH": app.instance_path}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "storeserver.cli", "sync", "pull"],
            env=env,
            capture_output=True,
            text=True,
            timeout=int(app.config["SYNC_LOCK_SECONDS"]),
            check=False,
        )
    except subprocess.TimeoutExpired:
        logger.warning(
            "scheduled pull stopped after %s s", app.config["SYNC_LOCK_SECONDS"]
        )
        return
    if done.returncode == 0:
        # The feeds applied or skipped and the time, without the counts.
        summary = [line for line in done.stdout.splitlines() if line[:1].strip()]
        logger.info("scheduled pull done: %s", "; ".join(summary))
        return
    said = done.stderr.strip().splitlines()
    reason = said[-1] if said else f"exit status {done.returncode}"
    if done.returncode == 2:
        logger.info("scheduled pull skipped: %s", reason)
    else:
        logger.warning("scheduled pull failed: %s", reason)


def start(app: Flask, zone: str) -> BackgroundScheduler:
    """Start the pull and push jobs; the scheduler is kept in app.extensions."""
    hour, minute = (int(part) for part in app.config["PULL_AT"].split(":"))
    scheduler = BackgroundScheduler(timezone=ZoneInfo(zone))
    scheduler.add_job(
        _run,
        CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(zone)),
        args=(app, "pull"),
        id="pull",
        name="HQ pull",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        _run,
        IntervalTrigger(minutes=int(app.config["PUSH_EVERY_MINUTES"])),
        args=(app, "push"),
        id="push",
        name="HQ push",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    logger.info(
        "scheduled the HQ pull daily at %s %s and the push every %s minutes",
        app.config["PULL_AT"],
        zone,
        app.config["PUSH_EVERY_MINUTES"],
    )
    return scheduler


def next_runs(app: Flask) -> dict:
    """When each job runs next, in this process (empty when none is scheduled)."""
    scheduler = app.extensions.get("scheduler")
    if scheduler is None:
        return {}
    return {job.id: job.next_run_time for job in scheduler.get_jobs()}
