"""A `ticket-dq materialize` killed with SIGKILL must not stop the product: the next run reclaims the
dead run's `duckdb` pool slot and ends with the tables an uninterrupted run gives; a run that waits for
another one sleeps (no busy loop) and still ends on SIGTERM."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import dagster as dg
import pytest

from ticket_dq_tests.reliability.procs import (instance_env, materialize, popen_materialize, simulate,
                                               warehouse_tables)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crash") / "landing"
    simulate(root)
    return root


def _until(what: str, proc, check, deadline_s: float = 240):
    end = time.monotonic() + deadline_s
    while not check():
        assert proc.poll() is None, f"process ended before {what}"
        assert time.monotonic() < end, f"no {what} within {deadline_s}s"
        time.sleep(0.2)


def _claimed_slots(env: dict, monkeypatch) -> list:
    """(run_id, step_key) of the duckdb pool's claimed slots, read from the instance on disk."""
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:
        return [(s.run_id, s.step_key) for s in instance.event_log_storage.get_concurrency_info("duckdb").claimed_slots]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_run_killed_with_sigkill_mid_run_does_not_make_the_next_run_hang(landing, tmp_path, monkeypatch):
    reference = instance_env(tmp_path, landing, "reference")
    done = materialize(reference)
    assert done.returncode == 0, done.stderr[-3000:]

    crashed = instance_env(tmp_path, landing, "crashed")
    proc = popen_materialize(crashed, tmp_path / "crashed.log")
    # A comparison step holds the pool's only slot when the run dies.
    _until("comparison step holding the slot", proc,
           lambda: any(step.startswith("cand__") for _, step in _claimed_slots(crashed, monkeypatch)))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _claimed_slots(crashed, monkeypatch), "the dead run should still hold the duckdb slot"

    rerun = materialize(crashed, timeout=240)  # before the fix: loops on the held slot for ever
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "process gone, marked FAILURE, concurrency slots freed" in rerun.stderr
    assert not _claimed_slots(crashed, monkeypatch)
    assert warehouse_tables(crashed) == warehouse_tables(reference)


def test_a_run_waiting_for_another_sleeps_and_ends_on_sigterm(landing, tmp_path, monkeypatch):
    env = instance_env(tmp_path, landing, "busy")
    # The first run stops mid-way and stays there, holding the warehouse: however fast a run is, the second
    # one must still be waiting when the signal comes.
    marker = tmp_path / "first_paused"
    first = popen_materialize({**env, "TICKET_DQ_PAUSE_AT": "partner_current:written",
                               "TICKET_DQ_PAUSE_FILE": str(marker)}, tmp_path / "first.log")
    _until("pause of the first run", first, marker.exists)
    second = popen_materialize(env, tmp_path / "second.log")
    _until("wait message", second, lambda: "waiting for the run of" in (tmp_path / "second.log").read_text())
    cpu_before = _cpu_seconds(second.pid)
    time.sleep(2.0)
    assert _cpu_seconds(second.pid) - cpu_before < 0.2  # asleep, not polling at 100 % CPU
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) != 0
    assert "succeeded" not in (tmp_path / "second.log").read_text()
    assert first.poll() is None  # the first is untouched by the second's end
    first.kill()
    first.wait(timeout=60)
