"""The analytics integration: is it on, validating it, and live values for cards.

Cards show measures while HQ enables the integration and the store's last
validation did not fail. A failed validation switches it off here (cards
show attributes in the measure slots) until a validation succeeds. In live
mode a page asks the service for its customers in one call, under a strict
time budget: when the service is slow or down the nightly values are shown.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from cachelib import SimpleCache
from flask import current_app
from flask_babel import lazy_gettext as _l

from .. import secretstore
from ..cache import bump_generation
from ..customers.models import Customer
from ..extensions import db
from ..permissions import Operation, ensure
from ..timeutil import utcnow
from . import client
from .client import Connection, InsightsError
from .models import InsightsSettings, InsightsState

logger = logging.getLogger(__name__)

# What store IT reads for each step that can fail.
STEPS = {
    "not_configured": _l("HQ has sent no analytics settings"),
    "not_connected": _l("nightly values only: there is no service to check"),
    "unknown_legal_entity": _l("this legal entity is not known here"),
    "store_config": _l("the store's Azure settings are missing"),
    "disabled": _l("the integration is switched off at HQ"),
    "incomplete": _l("the settings from HQ are incomplete"),
    "bad_name": _l("the secret name is malformed"),
    "not_found": _l("secret not found"),
    "access_denied": _l("access denied"),
    "token_refused": _l("token refused"),
    "unreachable": _l("service unreachable"),
    "unknown_measure": _l("unknown measure"),
    "bad_answer": _l("the service's answer was not understood"),
}
# Steps after which the store switches the integration off.
NOTHING_TO_CHECK = {
    "not_configured",
    "not_connected",
    "disabled",
    "unknown_legal_entity",
}
SWITCHING_OFF = set(STEPS) - NOTHING_TO_CHECK
REQUIRED = {
    "endpoint": "endpoint",
    "environment": "environment",
    "application_id": "application_id",
    "tenant": "tenant",
    "secret_name": "secret",
}


@dataclass(frozen=True)
class Validation:
    ok: bool
    step: str | None = None
    detail: str = ""
    secret_expires_on: datetime | None = None

    @property
    def step_label(self) -> str:
        return str(STEPS.get(self.step, self.step or ""))


def measures_on(settings: InsightsSettings | None, state: InsightsState | None) -> bool:
    """Whether cards show measures: HQ enabled them and no validation failed.

    With no analytics settings at all, the nightly values HQ sends are shown.
    """
    if settings is None:
        return True
    return bool(settings.enabled) and not (state is not None and state.switched_off)


def connection(settings: InsightsSettings) -> Connection:
    """The way to the service, or InsightsError("incomplete") naming what lacks."""
    missing = [
        feed for column, feed in REQUIRED.items() if not getattr(settings, column)
    ]
    if missing or not settings.fields:
        missing += [] if settings.fields else ["measures"]
        raise InsightsError(
            "incomplete", f"HQ's analytics settings lack: {', '.join(missing)}"
        )
    return Connection(
        legal_entity_id=settings.legal_entity_id,
        endpoint=settings.endpoint,
        environment=settings.environment,
        application_id=settings.application_id,
        tenant=settings.tenant,
        secret_name=settings.secret_name,
        account_field=settings.account_field or "account",
        fields=dict(settings.fields),
        authority=settings.authority,
        scope=settings.scope,
    )


def connected(settings: InsightsSettings) -> bool:
    """Whether HQ set up a way to the service at all (else nightly values only)."""
    return any(getattr(settings, column) for column in REQUIRED)


def live_connection(legal_entity_id: str) -> Connection | None:
    """The connection when cards should ask the service live, else None."""
    settings = db.session.get(InsightsSettings, legal_entity_id)
    state = db.session.get(InsightsState, legal_entity_id)
    if settings is None or settings.mode != "live" or not measures_on(settings, state):
        return None
    try:
        return connection(settings)
    except InsightsError:
        return None


# -- validation ----------------------------------------------------------------------


def validate(legal_entity_id: str, actor=None) -> Validation:
    """Read the secret, get a token and make one call; switch off on failure."""
    if actor is not None:
        ensure(actor, Operation.STORE_ADMIN)
    who = getattr(actor, "id", "the system")
    from ..org.models import LegalEntity

    if db.session.get(LegalEntity, legal_entity_id) is None:
        return Validation(False, "unknown_legal_entity")
    settings = db.session.get(InsightsSettings, legal_entity_id)
    if settings is None:
        return Validation(False, "not_configured")
    if not settings.enabled:
        return Validation(False, "disabled")
    if settings.mode == "nightly" and not connected(settings):
        return Validation(False, "not_connected")
    try:
        conn = connection(settings)
        # A check reads the secret and asks for a token afresh: a secret fixed
        # or revoked a minute ago must show now, not when the caches expire.
        secretstore.forget(client.secret_name(conn))
        client.forget()
        account = db.session.scalar(
            sa.select(Customer.account_number)
            .where(Customer.legal_entity_id == legal_entity_id, Customer.active)
            .order_by(Customer.id)
            .limit(1)
        )
        answer = client.fetch(
            conn,
            [account] if account else [],
            float(current_app.config["INSIGHTS_TIMEOUT_SECONDS"]),
        )
    except InsightsError as exc:
        result = Validation(False, exc.step, str(exc))
    except Exception as exc:  # whatever the SDKs or the service do, say so plainly
        logger.exception(
            "analytics validation for %s failed unexpectedly", legal_entity_id
        )
        result = Validation(False, "bad_answer", f"unexpected {type(exc).__name__}")
    else:
        result = Validation(True, secret_expires_on=answer.secret_expires_on)
    _record(legal_entity_id, result, who)
    return result


def validate_all() -> dict[str, Validation]:
    """Check every legal entity whose integration HQ enabled (the nightly job)."""
    enabled = db.session.scalars(
        sa.select(InsightsSettings.legal_entity_id).where(InsightsSettings.enabled)
    ).all()
    results = {}
    for le in enabled:
        try:
            results[le] = validate(le)
        except Exception:
            db.session.rollback()
            logger.exception("analytics check of %s failed", le)
    return results


def _record(legal_entity_id: str, result: Validation, who: str) -> None:
    state = db.session.get(InsightsState, legal_entity_id)
    if state is None:
        state = InsightsState(legal_entity_id=legal_entity_id, switched_off=False)
        db.session.add(state)
    was_off = bool(state.switched_off)
    state.checked_at = utcnow()
    state.checked_by = who
    if result.ok:
        state.switched_off = False
        state.failed_step = None
        state.message = None
        state.ok_at = state.checked_at
        expires = result.secret_expires_on
        state.secret_expires_on = expires.replace(tzinfo=None) if expires else None
        logger.info(
            "analytics validation for %s succeeded (by %s)", legal_entity_id, who
        )
    else:
        state.switched_off = result.step in SWITCHING_OFF
        state.failed_step = result.step
        state.message = result.detail
        logger.warning(
            "analytics validation for %s failed at %s: %s (by %s); integration "
            "switched off",
            legal_entity_id,
            result.step,
            result.detail,
            who,
        )
    if was_off != bool(state.switched_off):
        # Cards in every process change their slots.
        bump_generation()
    db.session.commit()
    forget_values()


def status(legal_entity_id: str) -> dict:
    """What store IT's page says of the integration: on or off, the last check,
    the secret's expiry (flagged within SECRET_WARN_DAYS), the last fallback."""
    settings = db.session.get(InsightsSettings, legal_entity_id)
    state = db.session.get(InsightsState, legal_entity_id)
    expires = state.secret_expires_on if state else None
    days_left = (expires - utcnow()).days if expires else None
    warn = int(current_app.config["SECRET_WARN_DAYS"])
    return {
        "settings": settings,
        "state": state,
        "on": measures_on(settings, state),
        "step": STEPS.get(state.failed_step) if state and state.failed_step else None,
        "expires": expires,
        "days_left": days_left,
        "expiring": days_left is not None and days_left < warn,
        "live_failure": last_live_failure(legal_entity_id),
    }


def state_of(legal_entity_id: str) -> InsightsState | None:
    return db.session.get(InsightsState, legal_entity_id)


def settings_of(legal_entity_id: str) -> InsightsSettings | None:
    return db.session.get(InsightsSettings, legal_entity_id)


# -- live values -----------------------------------------------------------------------

_values = SimpleCache(threshold=50_000)
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="insights")
_in_flight: set[str] = set()
_in_flight_lock = threading.Lock()
_last_failure: dict[str, tuple[datetime, str, str]] = {}


def forget_values() -> None:
    """Drop cached live values and failures (after a validation, or in tests)."""
    _values.clear()
    _last_failure.clear()


def last_live_failure(legal_entity_id: str) -> tuple[datetime, str, str] | None:
    """When this process last fell back to nightly values, the step and why."""
    return _last_failure.get(legal_entity_id)


def live_values(conn: Connection, accounts: dict[str, str]) -> dict:
    """Live values for customers {customer id: account}, as far as the budget allows.

    Returns {customer id: ({measure id: raw value}, as_of)} for the customers
    whose values are known; the caller shows nightly values for the others.
    The service is asked once for all missing customers; the answer is
    awaited at most INSIGHTS_BUDGET_SECONDS, and one arriving later still
    fills the cache for the next page.
    """
    config = current_app.config
    prefix = _prefix(conn)
    found = {}
    missing = []
    for customer_id, account in accounts.items():
        cached = _values.get(prefix + account)
        if cached is not None:
            found[customer_id] = cached
        else:
            missing.append(account)
    if not missing or _values.get(prefix + "#down"):
        return found

    with _in_flight_lock:
        if conn.legal_entity_id in _in_flight:
            return found  # a call is on its way; its answer fills the cache
        _in_flight.add(conn.legal_entity_id)
    app = current_app._get_current_object()
    future = _executor.submit(_ask, app, conn, missing)
    try:
        answer = future.result(timeout=float(config["INSIGHTS_BUDGET_SECONDS"]))
    except FutureTimeout:
        logger.info(
            "analytics service slower than the budget for %s: nightly values shown",
            conn.legal_entity_id,
        )
        return found
    except Exception:  # recorded by the worker; the page shows nightly values
        return found
    by_account = {account: cid for cid, account in accounts.items()}
    for account, values in answer.items():
        if account in by_account:
            found[by_account[account]] = values
    return found


def _prefix(conn: Connection) -> str:
    # Cached answers belong to one setup: new fields or a new endpoint ask anew.
    setup = repr((conn.endpoint, conn.environment, sorted(conn.fields.items())))
    return f"{conn.legal_entity_id}:{hashlib.sha256(setup.encode()).hexdigest()[:12]}:"


def _ask(app, conn: Connection, accounts: list[str]) -> dict:
    prefix = _prefix(conn)
    try:
        with app.app_context():
            config = app.config
            try:
                try:
                    answer = client.fetch(
                        conn, accounts, float(config["INSIGHTS_TIMEOUT_SECONDS"])
                    )
                except InsightsError:
                    raise
                except Exception as exc:
                    logger.exception("live measures: unexpected failure")
                    raise InsightsError(
                        "bad_answer", f"unexpected {type(exc).__name__}"
                    ) from exc
            except InsightsError as exc:
                _last_failure[conn.legal_entity_id] = (utcnow(), exc.step, str(exc))
                _values.set(
                    prefix + "#down",
                    True,
                    # cachelib keeps a timeout of 0 forever: at least a second.
                    timeout=max(1, int(config["INSIGHTS_RETRY_AFTER_SECONDS"])),
                )
                logger.warning(
                    "live measures for %s unavailable at %s: %s; nightly values shown",
                    conn.legal_entity_id,
                    exc.step,
                    exc,
                )
                raise
            ttl = int(config["INSIGHTS_CACHE_SECONDS"])
            fetched = utcnow()
            values = {}
            for account in accounts:
                measured, as_of = answer.values.get(account, ({}, None))
                values[account] = (measured, as_of or fetched)
                if ttl > 0:  # 0 means no cache (cachelib would keep it forever)
                    _values.set(prefix + account, values[account], timeout=ttl)
            return values
    finally:
        with _in_flight_lock:
            _in_flight.discard(conn.legal_entity_id)
