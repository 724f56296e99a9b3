"""One resolver for every secret the store needs.

A name `vault://<vault>/<secret>` is read from Azure Key Vault through
azure-keyvault-secrets, with a service principal whose settings come from the
instance config or the environment; any other name is an instance config key
or an environment variable. Values are cached for SECRETS_TTL_SECONDS, and
never logged or shown: errors name the secret and the step that failed, not
the value.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cachelib import SimpleCache
from flask import current_app

logger = logging.getLogger(__name__)

VAULT_NAME = re.compile(r"^vault://([A-Za-z0-9-]{3,24})/([A-Za-z0-9-]{1,127})$")

_cache = SimpleCache(threshold=100)
# The expiry date of each vault secret this process has read (not the value).
_expiries: dict[str, datetime] = {}


class SecretError(Exception):
    """A secret could not be read; `step` says where it failed."""

    def __init__(self, step: str, message: str):
        self.step = step
        super().__init__(message)


@dataclass(frozen=True)
class Secret:
    name: str
    value: str
    expires_on: datetime | None = None

    def __repr__(self) -> str:  # never print the value by accident
        return f"Secret({self.name!r}, expires_on={self.expires_on!r})"


def resolve(name: str) -> Secret:
    """The secret for a name: from Key Vault, the instance config or the environment."""
    cached = _cache.get(name)
    if cached is not None:
        return cached
    found = _read_vault(name) if name.startswith("vault://") else _read_local(name)
    _cache.set(name, found, timeout=int(current_app.config["SECRETS_TTL_SECONDS"]))
    return found


def forget(name: str | None = None) -> None:
    """Drop cached secrets, or one (after a rotation, or in tests)."""
    if name is None:
        _cache.clear()
        _expiries.clear()
    else:
        _cache.delete(name)


def _read_local(name: str) -> Secret:
    value = current_app.config.get(name) or os.environ.get(name)
    if not value:
        raise SecretError(
            "not_found", f"secret {name} is neither in the instance config nor set"
        )
    return Secret(name, str(value))


def _read_vault(name: str) -> Secret:
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )

    match = VAULT_NAME.match(name)
    if not match:
        raise SecretError(
            "bad_name", f"{name} is not of the form vault://<vault name>/<secret name>"
        )
    vault, secret = match.groups()
    client = secret_client(f"https://{vault}.vault.azure.net")
    try:
        found = client.get_secret(secret)
    except ResourceNotFoundError as exc:
        raise SecretError(
            "not_found", f"secret {secret} was not found in vault {vault}"
        ) from exc
    except ClientAuthenticationError as exc:
        raise SecretError(
            "token_refused",
            f"the store's identity was refused a token to read vault {vault}",
        ) from exc
    except HttpResponseError as exc:
        if exc.status_code == 403:
            raise SecretError(
                "access_denied",
                f"the store's identity may not read secrets in vault {vault}",
            ) from exc
        raise SecretError(
            "unreachable", f"vault {vault} answered {exc.status_code}"
        ) from exc
    except ServiceRequestError as exc:
        raise SecretError("unreachable", f"vault {vault} could not be reached") from exc
    expires = found.properties.expires_on
    logger.info("secret %s read from vault %s", secret, vault)
    if expires:
        _expiries[name] = expires.astimezone(UTC)
    return Secret(name, found.value or "", expires.astimezone(UTC) if expires else None)


def expiring(days: int) -> list[tuple[str, datetime]]:
    """Vault secrets read by this process that expire within `days`, soonest first."""
    limit = datetime.now(UTC).timestamp() + days * 86400
    return sorted(
        ((name, at) for name, at in _expiries.items() if at.timestamp() < limit),
        key=lambda item: item[1],
    )


def secret_client(vault_url: str):
    """A SecretClient for the vault; tests and special setups replace the factory."""
    factory = current_app.extensions.get("secret_client_factory")
    if factory is not None:
        return factory(vault_url)
    from azure.identity import ClientSecretCredential
    from azure.keyvault.secrets import SecretClient

    config = current_app.config
    values = {
        key: config.get(key) or os.environ.get(key)
        for key in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")
    }
    if not all(values.values()):
        raise SecretError(
            "store_config",
            "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET must be set "
            "to read Key Vault",
        )
    options = {}
    transport = azure_transport()
    if transport is not None:
        options["transport"] = transport
    credential = ClientSecretCredential(
        values["AZURE_TENANT_ID"],
        values["AZURE_CLIENT_ID"],
        values["AZURE_CLIENT_SECRET"],
        **options,
    )
    return SecretClient(vault_url, credential, retry_total=2, **options)


def azure_transport():
    """The HTTP transport for Azure SDK clients: None for the SDK's own.

    Tests (and setups behind an unusual proxy) put a factory under
    app.extensions["azure_transport"]; the SDK's pipeline runs unchanged.
    """
    factory = current_app.extensions.get("azure_transport")
    return factory() if factory is not None else None


def expires_soon(found: Secret, days: int = 30) -> bool:
    """Whether a secret's expiry date is near (flagged to store IT)."""
    if found.expires_on is None:
        return False
    return (found.expires_on - datetime.now(UTC)).days < days
