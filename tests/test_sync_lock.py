"""The sync lock held by several processes at once: never two holders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

# A contender takes the lock again and again for a while, holds it a moment
# each time, and reports when it held it and how often it was refused.
CONTENDER = textwrap.dedent(
    """
    import json, sys, time
    from storeserver import create_app
    from storeserver.sync.lock import SyncBusy, sync_lock

    app = create_app({"TESTING": True})
    held, refused = [], 0
    with app.app_context():
        print("ready", flush=True)
        sys.stdin.readline()
        end = time.time() + float(sys.argv[1])
        while time.time() < end:
            try:
                with sync_lock("push"):
                    start = time.time()
                    time.sleep(0.01)
                    held.append((start, time.time()))
            except SyncBusy:
                refused += 1
    print(json.dumps({"held": held, "refused": refused}), flush=True)
    """
)

PROCESSES = 4
SECONDS = 2.0


def test_processes_competing_for_the_lock_hold_it_one_at_a_time(app):
    env = {
        **os.environ,
        "STORESERVER_INSTANCE_PATH": app.instance_path,
        "STORESERVER_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "STORESERVER_STORE_ID": "S1",
    }
    contenders = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER, str(SECONDS)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    # Every process is started before any takes the lock, so that they compete.
    for contender in contenders:
        assert contender.stdout.readline().strip() == "ready"
    for contender in contenders:
        contender.stdin.write("go\n")
        contender.stdin.flush()
    reports = [json.loads(c.communicate(timeout=120)[0]) for c in contenders]

    assert [c.returncode for c in contenders] == [0] * PROCESSES
    held = sorted(
        (start, end, number)
        for number, report in enumerate(reports)
        for start, end in report["held"]
    )
    overlaps = [
        (first, second)
        for first, second in zip(held, held[1:], strict=False)
        if second[0] < first[1]
    ]
    assert overlaps == []
    assert len({number for _start, _end, number in held}) > 1  # they took turns
    assert sum(report["refused"] for report in reports) > 0  # and they competed
