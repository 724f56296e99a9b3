"""HQ sync over HTTP against a real server on 127.0.0.1 playing HQ (F18, F21)."""

from __future__ import annotations

import json
import threading
import time

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from storeserver.customers.models import Customer
from storeserver.extensions import db
from storeserver.sync.connectors import HQUnavailable
from storeserver.sync.lock import SyncBusy, sync_lock
from storeserver.sync.models import OutboxRow
from storeserver.sync.outbox import enqueue
from storeserver.sync.pull import stored_watermark
from storeserver.sync.services import pull, push

from .conftest import base_records, customer, feed_lines

TOKEN = "hq-test-token"


class FakeHQ:
    """HQ's two endpoints, with the faults a real network brings."""

    def __init__(self):
        self.feeds: dict[str | None, list[str]] = {}
        self.received: dict[str, dict] = {}
        self.posts = 0
        self.reject: dict[str, str] = {}
        self.fail_with: int | None = None
        self.stall_seconds = 0.0
        self.lose_answers = 0
        self.cut_feed_after: int | None = None
        self.answer_strings = False
        self.trickle_seconds = 0.0
        self.seen_since: list[str | None] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response("no", 401)(environ, start_response)
        if self.fail_with:
            return Response("down for maintenance", self.fail_with)(
                environ, start_response
            )
        if self.stall_seconds:
            time.sleep(self.stall_seconds)
        if request.path.endswith("/feed"):
            return self.feed(request)(environ, start_response)
        return self.changes(request)(environ, start_response)

    def feed(self, request):
        since = request.args.get("since")
        self.seen_since.append(since)
        lines = self.feeds.get(since)
        if lines is None:
            return Response(status=204)
        if self.trickle_seconds:
            pause = self.trickle_seconds

            def slowly():
                for line in lines:
                    time.sleep(pause)
                    yield line

            return Response(slowly(), mimetype="application/x-ndjson")
        if self.cut_feed_after is not None:
            cut = self.cut_feed_after

            def partial():
                yield from lines[:cut]
                raise ConnectionError("HQ went away")

            return Response(partial(), mimetype="application/x-ndjson")
        return Response("".join(lines), mimetype="application/x-ndjson")

    def changes(self, request):
        self.posts += 1
        batch = request.get_json()["changes"]
        results = []
        for change in batch:
            uid = change["uid"]
            if uid in self.reject:
                results.append(
                    {"uid": uid, "status": "rejected", "error": self.reject[uid]}
                )
            elif uid in self.received:
                results.append({"uid": uid, "status": "duplicate"})
            else:
                self.received[uid] = change
                results.append({"uid": uid, "status": "accepted"})
        if self.lose_answers:
            # HQ has applied the batch, but the answer never reaches the store.
            self.lose_answers -= 1
            time.sleep(1.0)
        if self.answer_strings:
            results = [r["uid"] for r in results]
        return Response(json.dumps({"results": results}), mimetype="application/json")


@pytest.fixture
def fake_hq():
    hq = FakeHQ()
    server = make_server("127.0.0.1", 0, hq, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hq.url = f"http://127.0.0.1:{server.server_port}"
    yield hq
    server.shutdown()


@pytest.fixture
def app_config(fake_hq):
    return {
        "HQ_CONNECTOR": "http",
        "HQ_URL": fake_hq.url,
        "HQ_TOKEN": TOKEN,
        "HQ_READ_TIMEOUT": 0.5,
        "HQ_CONNECT_TIMEOUT": 0.5,
        "HQ_RETRIES": 2,
        "HQ_BACKOFF_SECONDS": 0,
        "PUSH_BATCH": 2,
    }


def names(app) -> dict[str, str]:
    with app.app_context():
        return dict(
            db.session.execute(sa.select(Customer.id, Customer.first_name)).all()
        )


def full(fake_hq, watermark="2026-12-01T02:00:00Z"):
    records = base_records() + [
        customer("C1", "Lucie", "Fictive", consent={"email": False, "phone": True}),
        customer("C2", "Marc", "Exemple"),
    ]
    fake_hq.feeds[None] = feed_lines(records, watermark=watermark)


def delta(fake_hq, since="2026-12-01T02:00:00Z", watermark="2026-12-02T02:00:00Z"):
    # C1 renamed without its consent field: the stored consent stays (F21).
    c1 = customer("C1", "Lucy", "Fictive")
    del c1[1]["consent"]
    fake_hq.feeds[since] = feed_lines([c1], kind="delta", watermark=watermark)


# -- pull ---------------------------------------------------------------------------


def test_full_then_delta_pull_over_http(app, fake_hq):
    full(fake_hq)
    delta(fake_hq)

    with app.app_context():
        first = pull()
        second = pull()
        third = pull()
        consent = db.session.get(Customer, "C1").consent_email
        watermark = stored_watermark()

    assert [r.kind for r in first] == ["full"]
    assert [r.kind for r in second] == ["delta"]
    assert third == []
    assert fake_hq.seen_since == [None, "2026-12-01T02:00:00Z", "2026-12-02T02:00:00Z"]
    assert names(app) == {"C1": "Lucy", "C2": "Marc"}
    assert consent is False
    assert watermark == "2026-12-02T02:00:00Z"


@pytest.mark.parametrize("fault", ["refused", "timeout", "503", "cut"])
def test_hq_down_during_a_pull_changes_nothing(app, fake_hq, fault):
    full(fake_hq)
    with app.app_context():
        pull()
    delta(fake_hq)
    if fault == "refused":
        app.config["HQ_URL"] = "http://127.0.0.1:9"  # nothing listens there
    elif fault == "timeout":
        fake_hq.stall_seconds = 1.0
    elif fault == "503":
        fake_hq.fail_with = 503
    else:
        fake_hq.cut_feed_after = 2

    with app.app_context(), pytest.raises(HQUnavailable):
        pull()

    with app.app_context():
        assert stored_watermark() == "2026-12-01T02:00:00Z"
    assert names(app) == {"C1": "Lucie", "C2": "Marc"}


def test_a_wrong_token_is_refused_without_retrying(app, fake_hq):
    from storeserver.sync.connectors import HQRefused

    full(fake_hq)
    app.config["HQ_TOKEN"] = "wrong"

    with app.app_context(), pytest.raises(HQRefused):
        pull()

    assert fake_hq.seen_since == []


# -- push ---------------------------------------------------------------------------


def queue(app, count: int) -> list[str]:
    with app.app_context():
        rows = [enqueue("note.create", {"n": n}) for n in range(count)]
        db.session.commit()
        return [row.uid for row in rows]


def statuses(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [
            (row.status, row.last_error)
            for row in db.session.scalars(sa.select(OutboxRow).order_by(OutboxRow.id))
        ]


def test_push_sends_in_order_and_parks_a_rejected_row(app, fake_hq):
    uids = queue(app, 5)
    fake_hq.reject[uids[1]] = "409 customer unknown at HQ"

    with app.app_context():
        result = push()

    assert (result.sent, result.parked, result.left) == (4, 1, 0)
    assert [s for s, _ in statuses(app)] == ["sent", "parked", "sent", "sent", "sent"]
    assert statuses(app)[1][1] == "409 customer unknown at HQ"
    assert list(fake_hq.received) == [uids[0], uids[2], uids[3], uids[4]]
    assert [c["seq"] for c in fake_hq.received.values()] == [1, 3, 4, 5]


@pytest.mark.parametrize("fault", ["refused", "timeout", "503"])
def test_hq_down_during_a_push_keeps_the_outbox(app, fake_hq, fault):
    queue(app, 3)
    if fault == "refused":
        app.config["HQ_URL"] = "http://127.0.0.1:9"
    elif fault == "timeout":
        fake_hq.stall_seconds = 1.0
    else:
        fake_hq.fail_with = 503

    with app.app_context():
        result = push()

    assert result.error
    assert [s for s, _ in statuses(app)] == ["queued", "queued", "queued"]


def test_a_lost_answer_then_a_retry_leaves_each_change_once_at_hq(app, fake_hq):
    """F18: HQ accepts a batch, the answer is lost, the store sends it again."""
    uids = queue(app, 4)
    fake_hq.lose_answers = 1

    with app.app_context():
        result = push()

    assert result.sent == 4
    assert sorted(fake_hq.received) == sorted(uids)
    assert fake_hq.posts == 3  # the first batch twice (lost answer), then the second


def test_parked_rows_can_be_queued_again(app, fake_hq):
    from storeserver.sync.services import retry_parked

    uids = queue(app, 2)
    fake_hq.reject[uids[0]] = "no"
    with app.app_context():
        push()
    del fake_hq.reject[uids[0]]

    with app.app_context():
        assert retry_parked() == 1
        result = push()

    assert result.sent == 1
    assert [s for s, _ in statuses(app)] == ["sent", "sent"]


# -- one run at a time ----------------------------------------------------------------


def test_a_second_run_is_refused_with_who_holds_the_lock(app, fake_hq):
    full(fake_hq)

    with app.app_context(), sync_lock("pull"), pytest.raises(SyncBusy) as busy:
        pull()

    assert "pull by pid" in str(busy.value)
    assert names(app) == {}


def test_the_cli_says_who_holds_the_lock(app, fake_hq, runner):
    from storeserver.cli import main

    with app.app_context(), sync_lock("pull"):
        result = runner.invoke(main, ["sync", "pull"])

    assert result.exit_code == 2
    assert "another sync run holds the lock: pull by pid" in result.output


def test_a_malformed_answer_keeps_the_rows_and_is_recorded(app, fake_hq):
    from storeserver.sync.models import SyncRun

    queue(app, 2)
    fake_hq.answer_strings = True

    with app.app_context():
        result = push()
        run = db.session.scalars(sa.select(SyncRun).where(SyncRun.kind == "push")).one()

    assert result.error == "HQ's answer could not be read"
    assert (run.result, run.error) == ("failed", "HQ's answer could not be read")
    assert [s for s, _ in statuses(app)] == ["queued", "queued"]


def test_a_slow_hq_is_said_to_be_slow(app, fake_hq):
    full(fake_hq)
    fake_hq.stall_seconds = 1.0

    with app.app_context(), pytest.raises(HQUnavailable) as slow:
        pull()

    assert "HQ did not answer in time (connect 0.5 s, read 0.5 s)" in str(slow.value)


def test_associates_keep_writing_while_a_slow_feed_downloads(app, fake_hq):
    full(fake_hq)
    fake_hq.trickle_seconds = 0.01  # about a second for the whole feed
    done = {}

    def background_pull():
        with app.app_context():
            done["results"] = pull()

    worker = threading.Thread(target=background_pull)
    worker.start()
    time.sleep(0.3)
    started = time.perf_counter()
    queue(app, 1)  # an associate's change, during the download
    waited = time.perf_counter() - started
    worker.join(timeout=30)

    assert waited < 2
    assert done["results"][0].applied
    assert names(app) == {"C1": "Lucie", "C2": "Marc"}


def test_a_lock_left_by_a_dead_process_is_taken_over(app, fake_hq):
    import socket

    from storeserver.sync.models import SyncLock
    from storeserver.timeutil import utcnow

    full(fake_hq)
    dead = subprocess_pid_that_ended()
    with app.app_context():
        db.session.add(
            SyncLock(
                name="sync",
                holder=f"pull by pid {dead} on {socket.gethostname()}",
                acquired_at=utcnow(),
                expires_at=utcnow().replace(year=2100),
            )
        )
        db.session.commit()
        results = pull()

    assert results[0].applied


def subprocess_pid_that_ended() -> int:
    import subprocess
    import sys

    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(child.stdout)
