"""Talking to the customer-analytics service: a token, then one batched call.

The token comes from azure-identity (a client secret credential for the
integration's application, its secret read through the store's one secret
resolver). The call is `POST {endpoint}/instances/{environment}/measures`
with the accounts of the customers on screen; docs/insights.md describes it.
Errors are InsightsError with the step that failed; no message carries a
secret or a token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import requests
from flask import current_app

from .. import secretstore
from ..timeutil import parse_instant

logger = logging.getLogger(__name__)

# An answer for one page of cards is small; anything bigger is not one.
MAX_ANSWER_BYTES = 5 * 1024 * 1024


class InsightsError(secretstore.SecretError):
    """The integration failed; `step` names where (shown to store IT).

    Reading the secret is the first step, so its errors are of the same kind.
    """


@dataclass(frozen=True)
class Connection:
    """Everything needed to reach one legal entity's analytics service."""

    legal_entity_id: str
    endpoint: str
    environment: str
    application_id: str
    tenant: str
    secret_name: str
    account_field: str
    # Our measure id -> the service's field, in card order.
    fields: dict = field(default_factory=dict)
    authority: str | None = None
    scope: str | None = None

    @property
    def token_scope(self) -> str:
        if self.scope:
            return self.scope
        parts = urlsplit(self.endpoint)
        return f"{parts.scheme}://{parts.netloc}/.default"

    @property
    def url(self) -> str:
        return f"{self.endpoint.rstrip('/')}/instances/{self.environment}/measures"


@dataclass(frozen=True)
class Answer:
    """Values by account: {account: ({measure id: raw value}, as_of)}."""

    values: dict
    secret_expires_on: datetime | None = None


_credentials: dict[tuple, object] = {}
_credentials_lock = threading.Lock()


def _credential(conn: Connection, secret: secretstore.Secret):
    # One credential per application and secret value: azure-identity keeps
    # its token in memory until it is about to expire.
    digest = hashlib.sha256(secret.value.encode()).hexdigest()
    key = (conn.tenant, conn.application_id, conn.authority, digest)
    with _credentials_lock:
        found = _credentials.get(key)
        if found is None:
            found = _build_credential(conn, secret.value)
            _credentials[key] = found
        return found


def _build_credential(conn: Connection, secret_value: str):
    factory = current_app.extensions.get("insights_credential_factory")
    if factory is not None:
        return factory(conn, secret_value)
    from azure.identity import ClientSecretCredential

    options = {}
    if conn.authority:
        options["authority"] = conn.authority
    transport = secretstore.azure_transport()
    if transport is not None:
        options["transport"] = transport
    return ClientSecretCredential(
        conn.tenant, conn.application_id, secret_value, **options
    )


def forget() -> None:
    """Drop cached credentials (after a rotation, or in tests)."""
    with _credentials_lock:
        _credentials.clear()


def secret_name(conn: Connection) -> str:
    """Where the resolver looks: the vault name, or INSIGHTS_SECRET_<NAME>.

    A plain name from HQ never reaches an arbitrary config key or environment
    variable (the store's own secret key, say): it is looked up only under the
    INSIGHTS_SECRET_ prefix, in the instance config or as
    STORESERVER_INSIGHTS_SECRET_<NAME> in the environment.
    """
    if conn.secret_name.startswith("vault://"):
        return conn.secret_name
    return f"INSIGHTS_SECRET_{conn.secret_name}"


def token(conn: Connection) -> tuple[str, secretstore.Secret]:
    """An access token for the service, and the secret it was obtained with."""
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

    allowed = current_app.config["INSIGHTS_AUTHORITIES"]
    if conn.authority and _host(conn.authority) not in allowed:
        raise InsightsError(
            "incomplete",
            f"the authority {_host(conn.authority)} is not one this store trusts "
            "(INSIGHTS_AUTHORITIES)",
        )
    try:
        secret = secretstore.resolve(secret_name(conn))
    except secretstore.SecretError as exc:
        raise InsightsError(exc.step, str(exc)) from exc
    if not secret.value:
        raise InsightsError("not_found", f"secret {conn.secret_name} is empty")
    try:
        access = _credential(conn, secret).get_token(conn.token_scope)
    except ClientAuthenticationError as exc:
        raise InsightsError(
            "token_refused",
            f"the identity platform refused a token to application "
            f"{conn.application_id}: {_first_line(exc)}",
        ) from exc
    except ServiceRequestError as exc:
        raise InsightsError(
            "unreachable", "the identity platform could not be reached"
        ) from exc
    except ValueError as exc:
        # azure-identity refuses malformed settings before any request.
        raise InsightsError(
            "incomplete", f"the identity settings are not valid: {_first_line(exc)}"
        ) from exc
    return access.token, secret


def _host(authority: str) -> str:
    return urlsplit(authority if "://" in authority else f"https://{authority}").netloc


def fetch(conn: Connection, accounts: list[str], timeout: float) -> Answer:
    """The card measures of these accounts, in one call of at most `timeout` s.

    The whole answer must arrive within the time, not each read: a service
    that drips its answer is as unavailable as one that says nothing.
    """
    deadline = time.monotonic() + timeout
    access, secret = token(conn)
    body = {
        "account_field": conn.account_field,
        "accounts": accounts,
        "measures": list(conn.fields.values()),
    }
    try:
        with requests.post(
            conn.url,
            json=body,
            headers={"Authorization": f"Bearer {access}"},
            timeout=max(0.1, deadline - time.monotonic()),
            stream=True,
        ) as response:
            status = response.status_code
            content = _read(response, deadline, timeout)
    except requests.Timeout as exc:
        raise _too_slow(timeout) from exc
    except requests.RequestException as exc:
        raise InsightsError(
            "unreachable", f"the analytics service at {conn.endpoint} is unreachable"
        ) from exc
    if status in (401, 403):
        raise InsightsError(
            "access_denied",
            f"the analytics service refused application {conn.application_id} "
            f"(HTTP {status})",
        )
    try:
        answer = json.loads(content) if content else None
    except ValueError:
        answer = None
    unknown = _unknown(answer, status)
    if unknown:
        ours = {f: m for m, f in conn.fields.items()}
        named = ", ".join(str(ours.get(f, f)) for f in unknown)
        raise InsightsError(
            "unknown_measure", f"the analytics service does not know: {named}"
        )
    if status != 200:
        raise InsightsError(
            "unreachable", f"the analytics service answered HTTP {status}"
        )
    return Answer(_values(conn, answer), secret.expires_on)


def _read(response: requests.Response, deadline: float, timeout: float) -> bytes:
    chunks = []
    size = 0
    # read1 returns what has arrived, so the deadline is checked as bytes come.
    while chunk := response.raw.read1(64 * 1024, decode_content=True):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise InsightsError(
                "bad_answer", "the analytics service's answer is too big"
            )
        if time.monotonic() > deadline:
            raise _too_slow(timeout)
    return b"".join(chunks)


def _too_slow(timeout: float) -> InsightsError:
    return InsightsError(
        "unreachable", f"the analytics service did not answer within {timeout:g} s"
    )


def _unknown(answer, status: int) -> list[str]:
    if not isinstance(answer, dict):
        return []
    error = answer.get("error")
    if isinstance(error, dict) and error.get("code") == "unknown_measure":
        named = error.get("measures")
    elif status == 200:
        named = answer.get("unknown_measures")
    else:
        return []
    if isinstance(named, str):
        named = [named]
    if not isinstance(named, list):
        return []
    return [str(n) for n in named if isinstance(n, str | int | float)]


def _values(conn: Connection, answer) -> dict:
    if not isinstance(answer, dict) or not isinstance(answer.get("values"), list):
        raise InsightsError(
            "bad_answer", "the analytics service's answer has no values"
        )
    ours = {f: m for m, f in conn.fields.items()}
    values = {}
    for item in answer["values"]:
        if not isinstance(item, dict) or not isinstance(item.get("measures"), dict):
            continue
        account = item.get("account")
        if not isinstance(account, str):
            continue
        measured = {}
        for name, value in item["measures"].items():
            raw = _raw(value)
            if name in ours and raw is not None:
                measured[ours[name]] = raw
        values[account] = (measured, _as_of(item.get("as_of")))
    return values


def _as_of(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        found = parse_instant(value)
    except (ValueError, OverflowError):
        return None
    return found if 1970 <= found.year <= 2999 else None


def _raw(value) -> str | None:
    """A value stored like the nightly ones: numbers as float text, texts as sent."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None
        return repr(number) if math.isfinite(number) else None
    return str(value)[:400]


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__
