"""The secret resolver, with Key Vault exercised through its SDK (no network).

The SDK's real pipeline runs (challenge authentication, retries, parsing);
only HTTP is played, by a requests adapter answering as Key Vault does.
"""

from __future__ import annotations

import logging
import time

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline.transport import RequestsTransport
from azure.keyvault.secrets import SecretClient

from storeserver import secretstore as secrets

from .azure_fakes import FakeVault

VALUE = "s3cr3t-token-value"


class FakeCredential:
    def __init__(self, refuse: bool = False):
        self.refuse = refuse

    def get_token(self, *scopes, **kwargs):
        if self.refuse:
            raise ClientAuthenticationError("AADSTS7000215: invalid client secret")
        return AccessToken("fake-access-token", int(time.time()) + 3600)


@pytest.fixture
def vault(app):
    """use_vault(secrets, forbidden=False, refuse=False) wires the fake vault."""
    secrets.forget()

    def use_vault(held, forbidden=False, refuse=False):
        def factory(vault_url):
            session = requests.Session()
            session.mount("https://", FakeVault(held, forbidden))
            return SecretClient(
                vault_url,
                FakeCredential(refuse),
                transport=RequestsTransport(session=session),
                retry_total=0,
            )

        app.extensions["secret_client_factory"] = factory

    yield use_vault
    secrets.forget()


def test_a_vault_secret_is_read_through_the_sdk(app, vault):
    vault({"hq-token": VALUE})

    with app.app_context():
        found = secrets.resolve("vault://store-vault/hq-token")

    assert found.value == VALUE
    assert secrets.expires_soon(found)  # five days left
    assert VALUE not in repr(found)


@pytest.mark.parametrize(
    ("setup", "step", "message"),
    [
        (
            {"held": {}},
            "not_found",
            "secret hq-token was not found in vault store-vault",
        ),
        (
            {"held": {"hq-token": VALUE}, "forbidden": True},
            "access_denied",
            "may not read",
        ),
        (
            {"held": {"hq-token": VALUE}, "refuse": True},
            "token_refused",
            "refused a token",
        ),
    ],
)
def test_each_failing_step_has_its_own_message(app, vault, setup, step, message):
    vault(**setup)

    with app.app_context(), pytest.raises(secrets.SecretError) as failed:
        secrets.resolve("vault://store-vault/hq-token")

    assert failed.value.step == step
    assert message in str(failed.value)
    assert VALUE not in str(failed.value)


def test_a_malformed_name_is_refused(app):
    with app.app_context(), pytest.raises(secrets.SecretError) as failed:
        secrets.resolve("vault://x/")

    assert failed.value.step == "bad_name"


def test_other_names_come_from_the_config_or_the_environment(app, monkeypatch):
    secrets.forget()
    app.config["ANALYTICS_SECRET"] = "from-config"
    monkeypatch.setenv("ANALYTICS_ENV_SECRET", "from-env")

    with app.app_context():
        assert secrets.resolve("ANALYTICS_SECRET").value == "from-config"
        assert secrets.resolve("ANALYTICS_ENV_SECRET").value == "from-env"
        with pytest.raises(secrets.SecretError):
            secrets.resolve("NOT_SET_ANYWHERE")


def test_values_are_cached_and_never_logged(app, vault, caplog):
    caplog.set_level(logging.DEBUG)
    vault({"hq-token": VALUE})

    with app.app_context():
        first = secrets.resolve("vault://store-vault/hq-token")
        vault({})  # the vault now has nothing: the cached value is used
        second = secrets.resolve("vault://store-vault/hq-token")

    assert first.value == second.value == VALUE
    assert "secret hq-token read from vault store-vault" in caplog.text
    assert VALUE not in caplog.text


def test_hq_token_can_live_in_key_vault(app, vault):
    from storeserver.sync.services import connector

    vault({"hq-token": VALUE})
    app.config.update(
        HQ_CONNECTOR="http",
        HQ_URL="http://127.0.0.1:9",
        HQ_TOKEN="vault://store-vault/hq-token",
    )

    with app.app_context():
        hq = connector()

    assert hq.session.headers["Authorization"] == f"Bearer {VALUE}"


def test_store_it_sees_a_vault_secret_close_to_its_expiry(app, vault, hq, login):
    from .conftest import STORE_IT_OPS, base_records, staff

    hq.pull(base_records() + [staff("T1", "Tom", "Informatique", STORE_IT_OPS)])
    vault({"hq-token": VALUE})  # five days left
    with app.app_context():
        secrets.resolve("vault://store-vault/hq-token")

    page = login("T1").get("/admin").get_data(as_text=True)

    assert "The secret vault://store-vault/hq-token expires on" in page
    assert VALUE not in page
