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


def _wait_for(proc, needle: str, deadline_s: float = 240) -> list[str]:
    seen = []
    end = time.monotonic() + deadline_s
    for line in proc.stderr:
        seen.append(line)
        if needle in line:
            return seen
        assert time.monotonic() < end, f"{needle!r} never appeared:\n{''.join(seen[-20:])}"
    raise AssertionError(f"process ended before {needle!r}:\n{''.join(seen[-20:])}")


def _claimed_slots(env: dict, monkeypatch) -> set[str]:
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:
        return {s.run_id for s in instance.event_log_storage.get_concurrency_info("duckdb").claimed_slots}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_run_killed_with_sigkill_mid_run_does_not_make_the_next_run_hang(landing, tmp_path, monkeypatch):
    reference = instance_env(tmp_path, landing, "reference")
    done = materialize(reference)
    assert done.returncode == 0, done.stderr[-3000:]

    crashed = instance_env(tmp_path, landing, "crashed")
    proc = popen_materialize(crashed)
    # A comparison step has started: the run holds the pool's only slot when it dies.
    _wait_for(proc, "cand__schedule_integrity - STEP_START")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _claimed_slots(crashed, monkeypatch), "the dead run should still hold the duckdb slot"

    rerun = materialize(crashed, timeout=240)  # before the fix: loops on the held slot for ever
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "process gone, marked FAILURE, concurrency slots freed" in rerun.stderr
    assert not _claimed_slots(crashed, monkeypatch)
    assert warehouse_tables(crashed) == warehouse_tables(reference)


def test_a_run_waiting_for_another_sleeps_and_ends_on_sigterm(landing, tmp_path):
    env = instance_env(tmp_path, landing, "busy")
    first = popen_materialize(env)
    _wait_for(first, "STEP_START")
    second = popen_materialize(env)
    _wait_for(second, "waiting for the run of")
    cpu_before = _cpu_seconds(second.pid)
    time.sleep(2.0)
    assert _cpu_seconds(second.pid) - cpu_before < 0.2  # asleep, not polling at 100 % CPU
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) != 0
    first.stderr.read()
    assert first.wait(timeout=240) == 0
