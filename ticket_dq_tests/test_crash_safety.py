"""A `ticket-dq materialize` process killed (SIGKILL) at any point leaves a warehouse that the next run
completes exactly: it ends with the same dq.issues and dq.notifications as a run that was never
interrupted, so no issue is resolved, reopened or notified twice because of the crash.

The scenario: a simulated landing area is materialized; then one partner delivers its next snapshot,
which the comparisons evaluate incrementally (only that partner's part). That second run is done once
uninterrupted, and once killed again and again at named points (``lib/pause_points``): inside the
transaction that rewrites a current schedule, inside the one that writes a candidate table and its
incremental state, inside the one that writes dq.issues, and right after dq.issues committed (before
routing). Each kill is followed by a rerun that is itself killed at the next point; the last rerun
runs to the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

CLI = str(Path(sys.executable).parent / "ticket-dq")
NOW = "2026-03-09 21:05:00"
# The snapshot held back from the first run and delivered before the second.
LATE_SNAPSHOT = ("partner_schedule", "FH", "2026-03-09", "FH_schedule_20260309_2000")
KILL_POINTS = (
    "partner_current:written",  # cur.partner_schedule rewritten, cur.partner_current_file not yet committed
    "cand.schedule_discrepancy:written",  # candidates and incremental state written, not committed
    "dq.issues:written",  # dq.issues replaced, not committed
    "dq.issues:committed",  # dq.issues committed, notifications not yet routed
)
COMPARED = {
    "dq.issues": "SELECT * EXCLUDE (evidence), CAST(evidence AS VARCHAR) FROM dq.issues ORDER BY issue_id",
    "dq.notifications": "SELECT * FROM dq.notifications ORDER BY notification_id",
    "incremental_state": "SELECT * FROM meta.incremental_state ORDER BY target",
    **{f"cand.{t}": f"SELECT * EXCLUDE (evidence), CAST(evidence AS VARCHAR) FROM cand.{t} ORDER BY ALL"
       for t in ("schedule_discrepancy", "schedule_integrity", "order_show", "feed_health")},
}


def _env(root: Path, pause_at: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKET_DQ_")}
    env.update(TICKET_DQ_LANDING=str(root.parent / "landing"), TICKET_DQ_WAREHOUSE=str(root / "ticket_dq.duckdb"),
               TICKET_DQ_OUTBOX=str(root / "outbox"), TICKET_DQ_NOW=NOW, DAGSTER_HOME=str(root / "dagster_home"))
    (root / "dagster_home").mkdir(parents=True, exist_ok=True)
    if pause_at:
        env.update(TICKET_DQ_PAUSE_AT=pause_at, TICKET_DQ_PAUSE_FILE=str(root / "paused"))
    return env


def _materialize(root: Path) -> None:
    done = subprocess.run([CLI, "materialize", "--quiet"], env=_env(root), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _materialize_and_kill_at(root: Path, point: str) -> None:
    """Start a run, wait until it stands at ``point``, and SIGKILL it there."""
    marker = root / "paused"
    marker.unlink(missing_ok=True)
    proc = subprocess.Popen([CLI, "materialize", "--quiet"], env=_env(root, point),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not marker.exists():
        assert proc.poll() is None, f"the run ended (rc {proc.returncode}) without reaching {point}"
        assert time.monotonic() < deadline, f"the run did not reach {point}"
        time.sleep(0.2)
    assert marker.read_text(encoding="utf-8") == point
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL


def _state(root: Path) -> dict:
    with duckdb.connect(str(root / "ticket_dq.duckdb"), read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in COMPARED.items()}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """The landing area without the late snapshot, materialized once: the warehouse both second runs start from."""
    tmp = tmp_path_factory.mktemp("crash")
    landing = tmp / "landing"
    subprocess.run([CLI, "simulate", "demo", "--out", str(landing), "--cinemas", "8", "--snapshots-per-day", "3",
                    "--crawls-per-day", "2"], check=True, capture_output=True, env=_env(tmp / "first"))
    feed, source, day, stem = LATE_SNAPSHOT
    folder = landing / feed / source / day
    held = tmp / "held"
    held.mkdir()
    for name in (f"{stem}.csv", f"_manifest_{stem}.json"):
        shutil.move(folder / name, held / name)
    _materialize(tmp / "first")
    for name in (f"{stem}.csv", f"_manifest_{stem}.json"):  # data file first, manifest last
        shutil.copy(held / name, folder / name)
    return tmp


def _second_run_root(first_run: Path, name: str) -> Path:
    root = first_run / name
    shutil.copytree(first_run / "first", root, ignore=shutil.ignore_patterns("dagster_home"))
    return root


def test_a_run_killed_at_every_commit_point_is_completed_by_the_next_run_exactly(first_run):
    before = _state(first_run / "first")
    clean = _second_run_root(first_run, "clean")
    _materialize(clean)
    expected = _state(clean)
    # The late snapshot changed what is detected, so the comparison below has something to get wrong.
    assert expected["dq.issues"] != before["dq.issues"]
    assert any(row[5] == "RESOLVED" for row in expected["dq.issues"])  # status
    assert expected["dq.notifications"]

    crashed = _second_run_root(first_run, "crashed")
    for point in KILL_POINTS:
        _materialize_and_kill_at(crashed, point)
    _materialize(crashed)
    got = _state(crashed)
    for name in COMPARED:
        assert got[name] == expected[name], f"{name} differs after the crashes"
    # The messages themselves went out once per notification: the outbox's files match as well.
    assert sorted(p.name for p in (crashed / "outbox").rglob("*") if p.is_file()) == \
        sorted(p.name for p in (clean / "outbox").rglob("*") if p.is_file())
