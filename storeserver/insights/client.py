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
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import requests
from flask import current_app

from .. import secretstore
from ..timeutil import parse_instant

logger = logging.getLogger(__name__)


class InsightsError(Exception):
    """The integration failed; `step` names where (shown to store IT)."""

    def __init__(self, step: str, message: str):
        self.step = step
        super().__init__(message)


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


def token(conn: Connection) -> tuple[str, secretstore.Secret]:
    """An access token for the service, and the secret it was obtained with."""
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

    try:
        secret = secretstore.resolve(conn.secret_name)
    except secretstore.SecretError as exc:
        raise InsightsError(exc.step, str(exc)) from exc
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
    return access.token, secret


def fetch(conn: Connection, accounts: list[str], timeout: float) -> Answer:
    """The card measures of these accounts, in one call."""
    access, secret = token(conn)
    body = {
        "account_field": conn.account_field,
        "accounts": accounts,
        "measures": list(conn.fields.values()),
    }
    try:
        response = requests.post(
            conn.url,
            json=body,
            headers={"Authorization": f"Bearer {access}"},
            timeout=timeout,
        )
    except requests.Timeout as exc:
        raise InsightsError(
            "unreachable", f"the analytics service did not answer within {timeout} s"
        ) from exc
    except requests.RequestException as exc:
        raise InsightsError(
            "unreachable", f"the analytics service at {conn.endpoint} is unreachable"
        ) from exc
    if response.status_code in (401, 403):
        raise InsightsError(
            "access_denied",
            f"the analytics service refused application {conn.application_id} "
            f"(HTTP {response.status_code})",
        )
    answer = _json(response)
    error = answer.get("error") if isinstance(answer, dict) else None
    unknown = []
    if isinstance(error, dict) and error.get("code") == "unknown_measure":
        unknown = error.get("measures") or []
    elif response.status_code == 200 and isinstance(answer, dict):
        unknown = answer.get("unknown_measures") or []
    if unknown:
        ours = {f: m for m, f in conn.fields.items()}
        named = ", ".join(str(ours.get(f, f)) for f in unknown)
        raise InsightsError(
            "unknown_measure", f"the analytics service does not know: {named}"
        )
    if response.status_code != 200:
        raise InsightsError(
            "unreachable", f"the analytics service answered HTTP {response.status_code}"
        )
    return Answer(_values(conn, answer), secret.expires_on)


def _json(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


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
        try:
            as_of = parse_instant(str(item["as_of"])) if item.get("as_of") else None
        except ValueError:
            as_of = None
        measured = {
            ours[f]: _raw(v)
            for f, v in item["measures"].items()
            if f in ours and v is not None
        }
        values[str(item.get("account"))] = (measured, as_of)
    return values


def _raw(value) -> str:
    # Stored like the nightly values: numbers as float text, texts as they are.
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(float(value))
    return str(value)


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__
