"""Azure played over HTTP for the SDKs: Key Vault and the identity platform.

The SDKs' real pipelines run (challenge authentication, token requests, MSAL,
retries, parsing); only HTTP is answered, by requests adapters mounted on one
session, so no test ever reaches the network.
"""

from __future__ import annotations

import io
import json
import time
from urllib.parse import parse_qs

import requests
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import BaseAdapter
from urllib3.response import HTTPResponse

TENANT = "tenant-id"
VAULT_HOST = "https://store-vault.vault.azure.net"
LOGIN_HOST = "https://login.microsoftonline.com"
CHALLENGE = (
    f'Bearer authorization="{LOGIN_HOST}/{TENANT}", resource="https://vault.azure.net"'
)


def answer(request, status: int, body: dict | None, **headers) -> requests.Response:
    """A response whose body azure-core reads through urllib3, as from a socket."""
    response = requests.Response()
    response.request = request
    response.url = request.url
    response.status_code = status
    response.headers.update(headers)
    content = b"" if body is None else json.dumps(body).encode()
    if body is not None:
        response.headers["Content-Type"] = "application/json"
    response.raw = HTTPResponse(
        body=io.BytesIO(content),
        status=status,
        headers=dict(response.headers),
        preload_content=False,
    )
    response._content = content
    return response


class FakeVault(BaseAdapter):
    """Answers GET /secrets/<name> like Key Vault: challenge first, then JSON."""

    def __init__(self, secrets_held: dict, forbidden: bool = False, days_left=5):
        super().__init__()
        self.secrets_held = secrets_held
        self.forbidden = forbidden
        self.days_left = days_left

    def send(self, request, **kwargs):
        if "Authorization" not in request.headers:
            return answer(request, 401, None, **{"WWW-Authenticate": CHALLENGE})
        name = request.path_url.split("/secrets/")[1].split("/")[0].split("?")[0]
        if self.forbidden:
            body = {"error": {"code": "Forbidden", "message": "no access policy"}}
            return answer(request, 403, body)
        if name not in self.secrets_held:
            body = {"error": {"code": "SecretNotFound", "message": "not found"}}
            return answer(request, 404, body)
        body = {
            "value": self.secrets_held[name],
            "id": f"{VAULT_HOST}/secrets/{name}/v1",
            "attributes": {
                "enabled": True,
                "exp": int(time.time()) + self.days_left * 86400,
            },
        }
        return answer(request, 200, body)

    def close(self):
        pass


class FakeLogin(BaseAdapter):
    """The identity platform: OpenID discovery, then client-credential tokens.

    A token is granted to a client whose secret is in `clients`; any other
    secret is refused as the platform refuses it (invalid_client).
    """

    def __init__(self, clients: dict[str, str]):
        super().__init__()
        self.clients = clients  # client id -> its secret
        self.tokens: list[str] = []
        self.seen: list[str] = []

    def send(self, request, **kwargs):
        self.seen.append(f"{request.method} {request.path_url.split('?')[0]}")
        if "openid-configuration" in request.url:
            base = f"{LOGIN_HOST}/{TENANT}"
            return answer(
                request,
                200,
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{base}/v2.0",
                },
            )
        if "/discovery/instance" in request.url:
            return answer(
                request,
                200,
                {
                    "tenant_discovery_endpoint": f"{LOGIN_HOST}/{TENANT}/v2.0/"
                    ".well-known/openid-configuration",
                    "api-version": "1.1",
                    "metadata": [
                        {
                            "preferred_network": "login.microsoftonline.com",
                            "preferred_cache": "login.windows.net",
                            "aliases": ["login.microsoftonline.com"],
                        }
                    ],
                },
            )
        if not request.path_url.split("?")[0].endswith("/oauth2/v2.0/token"):
            return answer(request, 404, {"error": "not_found"})
        sent = (
            request.body.decode() if isinstance(request.body, bytes) else request.body
        )
        form = {k: v[0] for k, v in parse_qs(sent or "").items()}
        client_id = form.get("client_id")
        if (
            client_id in self.clients
            and form.get("client_secret") == self.clients[client_id]
        ):
            token = f"token-for-{client_id}"
            self.tokens.append(token)
            return answer(
                request,
                200,
                {"token_type": "Bearer", "expires_in": 3600, "access_token": token},
            )
        return answer(
            request,
            401,
            {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            },
        )

    def close(self):
        pass


class Unplugged(BaseAdapter):
    """Any other https host: unreachable, as on a machine without a network."""

    def send(self, request, **kwargs):
        raise requests.ConnectionError(f"no network in tests: {request.url}")

    def close(self):
        pass


def transport_factory(vault: BaseAdapter | None, login: BaseAdapter):
    """What app.extensions["azure_transport"] takes: a fresh transport each call."""

    def factory():
        session = requests.Session()
        session.mount("https://", Unplugged())
        if vault is not None:
            session.mount(VAULT_HOST, vault)
        session.mount(LOGIN_HOST, login)
        return RequestsTransport(session=session)

    return factory
