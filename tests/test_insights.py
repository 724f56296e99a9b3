"""Analytics measures: HQ's settings, validation step by step, live values.

No network: Key Vault and the identity platform are played over HTTP for the
Azure SDKs (tests/azure_fakes.py), and the analytics service is a real HTTP
server on 127.0.0.1 started here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from storeserver import secretstore
from storeserver.cli import main
from storeserver.customers.models import Measure
from storeserver.extensions import db
from storeserver.insights import client, services
from storeserver.insights.models import InsightsSettings, InsightsState
from storeserver.org.models import ClientelingSettings
from storeserver.sync.feed import FeedError

from .azure_fakes import TENANT, FakeLogin, FakeVault, transport_factory
from .conftest import STORE_IT_OPS, customer, staff, value
from .test_book import book, member, slots

INSIGHTS_SECRET = "insights-app-secret-Vx81"
STORE_SECRET = "store-principal-secret-Qm27"
APP_TOKEN = "token-for-insights-app"
FIELDS = {"churn_probability", "next_best_action", "lifetime_value"}
MEASURES = {
    "churn": {
        "id": "churn",
        "label": {"en": "Churn", "fr": "Attrition"},
        "format": "percent",
        "field": "churn_probability",
    },
    "nba": {
        "id": "nba",
        "label": {"en": "Next best action", "fr": "Prochaine action"},
        "format": "text",
        "field": "next_best_action",
    },
    "clv": {
        "id": "clv",
        "label": {"en": "Lifetime value", "fr": "Valeur client"},
        "format": "number",
        "field": "lifetime_value",
    },
}


class Analytics:
    """The customer-analytics service, on 127.0.0.1, answering batched calls."""

    def __init__(self):
        self.values = {
            "ACC-C1": {
                "churn_probability": 0.9,
                "next_best_action": "Offrir un essayage",
                "lifetime_value": 5000,
            }
        }
        self.status = 200
        self.drip = 0.0
        self.calls: list[dict] = []
        self.release = threading.Event()
        self.release.set()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                service.calls.append({"path": self.path, "body": body})
                service.release.wait(10)
                status, answer = service.answer(self.headers, self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not service.drip:
                    self.wfile.write(data)
                    return
                try:  # a byte at a time: each read is quick, the whole is not
                    for byte in data:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(service.drip)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.block_on_close = False  # a dripping answer may still be going
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, args=(0.05,), daemon=True
        ).start()

    def answer(self, headers, path, body):
        if headers.get("Authorization") != f"Bearer {APP_TOKEN}":
            return 401, {"error": {"code": "unauthorized"}}
        if self.status != 200:
            return self.status, {"error": {"code": "failure"}}
        if not path.startswith("/instances/env-42/"):
            return 404, {"error": {"code": "no_such_instance"}}
        unknown = [m for m in body["measures"] if m not in FIELDS]
        if unknown:
            return 400, {"error": {"code": "unknown_measure", "measures": unknown}}
        values = [
            {
                "account": account,
                "measures": {m: self.values[account].get(m) for m in body["measures"]},
                "as_of": "2026-12-03T09:00:00Z",
            }
            for account in body["accounts"]
            if account in self.values
        ]
        return 200, {"values": values}

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Azure:
    """Key Vault and the identity platform, as the SDKs see them."""

    def __init__(self, app):
        self.vault = FakeVault({"insights-secret": INSIGHTS_SECRET})
        self.login = FakeLogin(
            {"store-principal": STORE_SECRET, "insights-app": INSIGHTS_SECRET}
        )
        app.config.update(
            AZURE_TENANT_ID=TENANT,
            AZURE_CLIENT_ID="store-principal",
            AZURE_CLIENT_SECRET=STORE_SECRET,
        )
        app.extensions["azure_transport"] = transport_factory(self.vault, self.login)


def _forget_everything():
    secretstore.forget()
    client.forget()
    services.forget_values()


@pytest.fixture
def analytics():
    service = Analytics()
    yield service
    service.stop()


@pytest.fixture
def azure(app):
    _forget_everything()
    yield Azure(app)
    _forget_everything()


def insights_record(analytics, measures=("churn", "nba"), **changes) -> tuple:
    data = {
        "legal_entity": "LE1",
        "enabled": True,
        "mode": "nightly",
        "application_id": "insights-app",
        "tenant": TENANT,
        "secret": "vault://store-vault/insights-secret",
        "environment": "env-42",
        "endpoint": analytics.url,
        "account_field": "crm_account",
        "measures": [
            {**MEASURES[m], "order": n} for n, m in enumerate(measures, start=1)
        ],
    }
    data.update(changes)
    return ("insights", data)


@pytest.fixture
def store(world, analytics, azure):
    """F04's customer C1 in A1's book, nightly measures, store IT, the settings."""
    world.pull(
        [
            staff("T1", "Tom", "Informatique", STORE_IT_OPS),
            customer("C1", "Ana", "Un"),
            customer("C2", "Béa", "Deux"),
            value("C1", "aime", ["Sacs"]),
            value("C1", "anniversaire", "--06-12"),
            value("C1", "marque", "Maison Test"),
            ("measure_value", {"customer": "C1", "measure": "churn", "value": 0.42}),
            (
                "measure_value",
                {
                    "customer": "C1",
                    "measure": "nba",
                    "value": "Inviter à l'avant-première",
                    "as_of": "2026-12-02T03:00:00Z",
                },
            ),
            ("measure_value", {"customer": "C1", "measure": "clv", "value": 1234.5}),
            book("CB-A", "A1"),
            member("CB-A", "C1"),
            member("CB-A", "C2"),
            insights_record(analytics),
        ]
    )
    return world


def card_of(login, staff_id="A1") -> str:
    return login(staff_id).get("/book?q=ana", htmx=True).get_data(as_text=True)


def validate_as_store_it(login) -> str:
    session = login("T1")
    response = session.post("/admin/insights/validate")
    assert response.status_code == 303
    return session.get(response.headers["Location"]).get_data(as_text=True)


# -- settings from HQ ------------------------------------------------------------------


def test_insights_settings_arrive_with_the_pull(app, store, analytics):
    store.pull([insights_record(analytics, measures=("nba", "churn"))])

    with app.app_context():
        settings = db.session.get(InsightsSettings, "LE1")
        assert settings.enabled and settings.mode == "nightly"
        assert settings.secret_name == "vault://store-vault/insights-secret"
        assert settings.account_field == "crm_account"
        assert settings.fields == {
            "nba": "next_best_action",
            "churn": "churn_probability",
        }
        # The card order follows "order", labels and formats are HQ's.
        assert db.session.get(ClientelingSettings, "LE1").card_measures == [
            "nba",
            "churn",
        ]
        assert db.session.get(Measure, "churn").label["fr"] == "Attrition"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "sometimes"}, '"mode" must be one of nightly, live'),
        ({"endpoint": "ftp://analytics"}, '"endpoint" must be an http(s) address'),
        ({"secret": "s3://bucket/key"}, '"secret" must be vault://'),
        ({"enabled": "yes"}, '"enabled" must be true or false'),
        (
            {"measures": [{**MEASURES[m], "order": 1} for m in ("churn", "nba")]},
            "distinct ids and orders",
        ),
        (
            {"measures": [{**MEASURES["churn"], "order": 1, "format": "stars"}]},
            "format 'stars' is not one of percent, number, text",
        ),
        (
            {
                "measures": [
                    {**MEASURES["churn"], "id": f"m{n}", "order": n} for n in range(4)
                ]
            },
            "at most three measures",
        ),
    ],
)
def test_bad_insights_settings_are_refused_and_change_nothing(
    app, store, analytics, changes, message
):
    record = insights_record(analytics, measures=("clv",))
    record[1].update(changes)

    with pytest.raises(FeedError) as refused:
        store.pull([record])

    assert message in str(refused.value)
    with app.app_context():
        assert db.session.get(InsightsSettings, "LE1").fields == {
            "churn": "churn_probability",
            "nba": "next_best_action",
        }
        assert db.session.get(ClientelingSettings, "LE1").card_measures == [
            "churn",
            "nba",
        ]


# -- the card's slots (F04) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("measures", "enabled", "expected"),
    [
        (("churn", "nba"), True, ["Churn", "Next best action", "Likes"]),  # (a)
        ((), True, ["Likes", "Birthday", "Brand"]),  # (b) none configured
        (("churn", "nba"), False, ["Likes", "Birthday", "Brand"]),  # (b) off at HQ
        (
            ("churn", "nba", "clv"),
            True,
            ["Churn", "Next best action", "Lifetime value"],
        ),
        (("churn",), True, ["Churn", "Likes", "Birthday"]),
    ],
    ids=["two", "none", "off-at-hq", "three", "one"],
)
def test_card_slots_follow_the_insights_settings(
    store, analytics, login, measures, enabled, expected
):
    store.pull([insights_record(analytics, measures=measures, enabled=enabled)])

    page = card_of(login)

    assert slots(page) == expected


def test_f04_two_measures_show_their_values_and_how_fresh(store, login):
    page = card_of(login)

    assert slots(page) == ["Churn", "Next best action", "Likes"]
    assert "42%" in page
    assert "Inviter à l&#39;avant-première" in page
    assert "Sacs" in page
    assert "2 Dec" in page  # the nightly value's date
    assert 'class="as-of live"' not in page


def test_f04_d_failing_validation_switches_the_measures_off(app, store, azure, login):
    azure.vault.secrets_held.clear()  # the secret was deleted from the vault

    page = validate_as_store_it(login)

    assert "The check failed: secret not found" in page
    assert "secret insights-secret was not found in vault store-vault" in page
    assert "switched off" in page
    assert "attributes (measures are off)" in page
    card = card_of(login)
    assert slots(card) == ["Likes", "Birthday", "Brand"]
    assert "Sacs" in card and "12 June" in card and "Maison Test" in card
    # The customer page says nothing stale either.
    customer_page = login("A1").get("/customers/C1")
    assert customer_page.status_code == 200
    assert "42%" not in customer_page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(InsightsState, "LE1").switched_off


# -- validation, step by step ----------------------------------------------------------


def _secret_missing(azure, analytics, store):
    azure.vault.secrets_held.clear()


def _vault_forbidden(azure, analytics, store):
    azure.vault.forbidden = True


def _vault_unreachable(azure, analytics, store):
    store.app.extensions["azure_transport"] = transport_factory(None, azure.login)


def _token_refused(azure, analytics, store):
    azure.vault.secrets_held["insights-secret"] = "an-old-rotated-secret"


def _service_denied(azure, analytics, store):
    analytics.status = 403


def _service_down(azure, analytics, store):
    store.pull([insights_record(analytics, endpoint="http://127.0.0.1:9")])


def _unknown_measure(azure, analytics, store):
    ghost = {**MEASURES["clv"], "field": "ghost_score", "order": 3}
    record = insights_record(analytics)
    record[1]["measures"].append(ghost)
    store.pull([record])


@pytest.mark.parametrize(
    ("breaks", "label", "detail"),
    [
        (_secret_missing, "secret not found", "was not found in vault store-vault"),
        (_vault_forbidden, "access denied", "may not read secrets in vault"),
        (_vault_unreachable, "service unreachable", "vault store-vault could not"),
        (_token_refused, "token refused", "AADSTS7000215"),
        (_service_denied, "access denied", "refused application insights-app"),
        (_service_down, "service unreachable", "is unreachable"),
        (_unknown_measure, "unknown measure", "does not know: clv"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_each_failing_step_has_its_own_message_and_switches_off(
    app, store, azure, analytics, login, runner, breaks, label, detail
):
    breaks(azure, analytics, store)

    page = validate_as_store_it(login)

    assert f"The check failed: {label} (" in page
    assert detail in page
    assert slots(card_of(login))[0] == "Likes"
    with app.app_context():
        state = db.session.get(InsightsState, "LE1")
        assert state.switched_off and state.message and detail in state.message

    _forget_everything()
    result = runner.invoke(main, ["insights", "validate"])
    assert result.exit_code == 1
    assert f"failed: {label}." in result.output
    assert detail in result.output
    assert "switched off" in result.output


def test_a_passing_check_switches_back_on_and_flags_an_expiring_secret(
    app, store, azure, login, runner
):
    azure.vault.secrets_held.clear()
    validate_as_store_it(login)
    assert slots(card_of(login))[0] == "Likes"

    azure.vault.secrets_held["insights-secret"] = INSIGHTS_SECRET
    secretstore.forget()
    page = validate_as_store_it(login)

    assert "Analytics integration checked" in page
    assert "The analytics secret expires on" in page  # five days left
    assert slots(card_of(login))[0] == "Churn"
    # The whole way went through the SDKs: the app's token was granted once.
    assert azure.login.tokens.count("token-for-insights-app") == 1

    result = runner.invoke(main, ["insights", "validate"])
    assert result.exit_code == 0, result.output
    assert "Cards show the measures" in result.output


def test_the_secret_may_be_a_config_key_instead_of_a_vault_name(
    app, store, analytics, azure, login
):
    app.config["INSIGHTS_SECRET_ANALYTICS"] = INSIGHTS_SECRET
    store.pull([insights_record(analytics, secret="ANALYTICS")])
    azure.vault.secrets_held.clear()  # the vault is not needed

    page = validate_as_store_it(login)

    assert "Analytics integration checked" in page
    assert INSIGHTS_SECRET not in page


def test_a_plain_secret_name_never_reaches_other_config_keys(
    app, store, analytics, login
):
    # HQ naming the store's own secret key gets nothing: plain names are only
    # looked up under INSIGHTS_SECRET_.
    store.pull([insights_record(analytics, secret="SECRET_KEY")])

    page = validate_as_store_it(login)

    assert "The check failed: secret not found" in page
    assert "INSIGHTS_SECRET_SECRET_KEY" in page
    assert app.config["SECRET_KEY"] not in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"secret": "Zx8Q~a.pasted-value_not-a-name"}, '"secret" must be vault://'),
        ({"tenant": "my tenant"}, '"tenant" must be a tenant id or domain'),
        ({"authority": "http://login.example"}, '"authority" must be an https'),
    ],
)
def test_settings_the_identity_platform_would_refuse_are_refused_at_the_pull(
    store, analytics, changes, message
):
    with pytest.raises(FeedError) as refused:
        store.pull([insights_record(analytics, **changes)])

    assert message in str(refused.value)


def test_an_authority_the_store_does_not_trust_fails_the_check(
    app, store, analytics, login
):
    store.pull([insights_record(analytics, authority="https://login.attacker.example")])

    page = validate_as_store_it(login)

    assert "The check failed: the settings from HQ are incomplete" in page
    assert "login.attacker.example is not one this store trusts" in page


def test_a_fixed_secret_is_seen_by_the_next_check_at_once(store, azure, login):
    azure.vault.secrets_held["insights-secret"] = "an-old-rotated-secret"
    assert "token refused" in validate_as_store_it(login)

    azure.vault.secrets_held["insights-secret"] = INSIGHTS_SECRET  # no cache flush

    assert "Analytics integration checked" in validate_as_store_it(login)


def test_a_revoked_secret_fails_the_next_check_despite_a_cached_token(
    store, azure, login
):
    assert "Analytics integration checked" in validate_as_store_it(login)

    azure.login.clients["insights-app"] = "a-new-secret-the-store-lacks"

    assert "The check failed: token refused" in validate_as_store_it(login)


def test_a_nightly_setup_without_a_service_is_not_switched_off(
    app, store, analytics, login
):
    store.pull(
        [
            (
                "insights",
                {
                    "legal_entity": "LE1",
                    "enabled": True,
                    "mode": "nightly",
                    "application_id": None,
                    "tenant": None,
                    "secret": None,
                    "environment": None,
                    "endpoint": None,
                },
            )
        ]
    )

    page = validate_as_store_it(login)

    assert "Nothing to check: nightly values only" in page
    assert slots(card_of(login))[0] == "Churn"
    from storeserver.sync import schedule

    schedule._run(app, "pull")
    assert slots(card_of(login))[0] == "Churn"


def test_a_measure_of_another_legal_entity_cannot_be_taken_over(store, analytics):
    record = insights_record(analytics, measures=("churn",))
    record[1]["legal_entity"] = "LE2"

    with pytest.raises(FeedError) as refused:
        store.pull([record])

    assert "measure churn belongs to legal entity LE1" in str(refused.value)


def test_the_card_follows_the_insights_measures_over_older_settings(
    store, analytics, login
):
    store.pull([("settings", {"legal_entity": "LE1", "card_measures": ["clv"]})])

    assert slots(card_of(login)) == ["Churn", "Next best action", "Likes"]


def test_an_unknown_legal_entity_is_named_by_the_cli(store, runner):
    result = runner.invoke(main, ["insights", "validate", "--legal-entity", "NOPE"])

    assert result.exit_code == 1
    assert "this legal entity is not known here" in result.output


def test_a_secret_far_from_expiry_is_not_flagged(store, azure, login):
    azure.vault.days_left = 200

    page = validate_as_store_it(login)

    assert "Analytics integration checked" in page
    assert "The analytics secret expires on" not in page
    assert "Secret expires" in page


def test_nothing_to_check_when_hq_switched_it_off(store, analytics, login, runner):
    store.pull([insights_record(analytics, enabled=False)])

    page = validate_as_store_it(login)

    assert "Nothing to check: the integration is switched off at HQ." in page
    result = runner.invoke(main, ["insights", "validate"])
    assert result.exit_code == 1
    assert "switched off at HQ" in result.output


def test_the_check_is_refused_to_an_associate(store, login):
    response = login("A1").post("/admin/insights/validate")

    assert response.status_code == 403


# -- live values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"values": [{"account": "ACC-C1", "measures": {"churn_probability": 10**400}}]},
        {
            "values": [
                {
                    "account": "ACC-C1",
                    "measures": {"churn_probability": 0.9},
                    "as_of": "9999-12-31T23:00:00-05:00",
                }
            ]
        },
        {"values": [], "unknown_measures": 5},
        {"values": [], "unknown_measures": [{"x": 1}]},
        {"values": [{"account": ["ACC-C1"], "measures": {"x": [1]}}]},
        {"values": "none"},
    ],
    ids=["huge-number", "far-date", "count", "objects", "odd-types", "no-list"],
)
def test_odd_answers_never_break_the_page_or_the_check(
    store, analytics, login, runner, answer
):
    store.pull([insights_record(analytics, mode="live")])
    analytics.answer = lambda headers, path, body: (200, answer)

    for url in ("/book", "/customers/C1", "/store-book"):
        staff_id = "M1" if url == "/store-book" else "A1"
        assert login(staff_id).get(url).status_code in (200, 403)
    assert login("A1").get("/book", htmx=True).status_code == 200
    page = validate_as_store_it(login)
    assert "Internal" not in page
    _forget_everything()
    result = runner.invoke(main, ["insights", "validate"])
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_service_dripping_its_answer_is_too_slow_for_the_check(
    app, store, analytics, login
):
    app.config["INSIGHTS_TIMEOUT_SECONDS"] = 0.5
    analytics.drip = 0.05  # about 150 bytes: some 7 s in all

    page = validate_as_store_it(login)

    assert "The check failed: service unreachable" in page
    assert "did not answer within 0.5 s" in page


@pytest.fixture
def live(store, analytics):
    store.pull([insights_record(analytics, mode="live")])
    return analytics


def test_live_mode_asks_once_for_the_whole_page_and_caches(live, login):
    session = login("A1")

    page = session.get("/book", htmx=True).get_data(as_text=True)

    assert "90%" in page and "Offrir un essayage" in page
    assert 'class="as-of live"' in page
    assert len(live.calls) == 1
    call = live.calls[0]
    assert call["path"] == "/instances/env-42/measures"
    assert sorted(call["body"]["accounts"]) == ["ACC-C1", "ACC-C2"]
    assert call["body"]["account_field"] == "crm_account"
    assert call["body"]["measures"] == ["churn_probability", "next_best_action"]

    again = session.get("/book", htmx=True).get_data(as_text=True)
    assert "90%" in again
    assert len(live.calls) == 1  # from the cache


def test_a_slow_service_leaves_the_page_on_nightly_values(app, live, login):
    app.config["INSIGHTS_BUDGET_SECONDS"] = 0.2
    live.release.clear()  # the service sits on every call
    session = login("A1")

    page = session.get("/book", htmx=True).get_data(as_text=True)

    assert len(live.calls) == 1  # it was asked...
    assert "42%" in page  # ...and the page did not wait for it
    assert 'class="as-of live"' not in page

    # The late answer still fills the cache: the next page is live.
    live.release.set()
    for _ in range(100):
        if not services._in_flight:
            break
        time.sleep(0.05)
    assert "90%" in session.get("/book", htmx=True).get_data(as_text=True)


def test_a_failing_service_falls_back_and_store_it_sees_it(live, login):
    live.status = 503
    session = login("A1")

    page = session.get("/book", htmx=True).get_data(as_text=True)

    assert "42%" in page
    assert "Last live fallback" in login("T1").get("/admin").get_data(as_text=True)
    # While it is down the service is not asked on every page.
    session.get("/book", htmx=True)
    assert len(live.calls) == 1


def test_the_customer_page_shows_live_values_too(live, login):
    page = login("A1").get("/customers/C1").get_data(as_text=True)

    assert "90%" in page
    assert "live" in page


# -- secrets stay secret ---------------------------------------------------------------


def test_no_secret_in_logs_pages_or_messages(
    app, store, azure, analytics, login, runner, caplog
):
    caplog.set_level(logging.DEBUG)
    seen = []
    store.pull([insights_record(analytics, mode="live")])
    seen.append(card_of(login))
    seen.append(validate_as_store_it(login))
    for breaks in (_token_refused, _vault_forbidden, _service_denied):
        breaks(azure, analytics, store)
        _forget_everything()
        seen.append(validate_as_store_it(login))
        seen.append(runner.invoke(main, ["insights", "validate"]).output)
    seen.append(login("T1").get("/admin").get_data(as_text=True))
    seen.append(login("A1").get("/customers/C1").get_data(as_text=True))

    everything = "\n".join(seen) + caplog.text
    assert "analytics validation for LE1" in caplog.text  # the log did speak
    for secret in (INSIGHTS_SECRET, STORE_SECRET, APP_TOKEN, "an-old-rotated-secret"):
        assert secret not in everything
    with app.app_context():
        for state in db.session.scalars(sa.select(InsightsState)):
            assert INSIGHTS_SECRET not in (state.message or "")


def test_the_nightly_job_checks_the_integration_after_the_pull(
    app, store, azure, login
):
    from storeserver.sync import schedule

    azure.vault.secrets_held.clear()  # the secret expired and was purged

    schedule._run(app, "pull")  # no HQ feed tonight: the check runs anyway

    assert slots(card_of(login))[0] == "Likes"
    with app.app_context():
        state = db.session.get(InsightsState, "LE1")
        assert state.switched_off and state.failed_step == "not_found"
        assert state.checked_by == "the system"
