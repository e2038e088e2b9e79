"""Crash safety of `ticket-dq materialize`: one run per warehouse at a time, and no slot kept by the dead.

Two faults this module removes:

- A run killed with SIGKILL (OOM, machine restart, ``kill -9``) stays STARTED in the Dagster
  instance and keeps the ``duckdb`` pool slot it had claimed; with a pool of 1 every later run
  then waits for ever. Before starting, ``reclaim_dead_runs`` marks runs whose process is gone as
  failed and frees their slots (and any slot still held by a run that already ended). A run's
  process is known from the ``ticket_dq/process`` tag every run started here carries: host, boot,
  pid and the pid's start time, so a reused pid or a rebooted machine is never taken for alive.
- Dagster's in-run wait for a pool slot polls without sleeping (100 % CPU, and a signal arriving
  in that loop is not acted on promptly). Runs of this command never get there: they wait for each
  other on an advisory file lock beside the warehouse (``flock``), which sleeps in the kernel, ends
  on SIGTERM/SIGINT like any blocking call, and is released by the kernel when its holder dies,
  whatever the cause.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg

PROCESS_TAG = "ticket_dq/process"
# Runs that have not ended. A run in any other status has nothing left to release but slots.
_UNFINISHED = (dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
               dg.DagsterRunStatus.CANCELING)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> str | None:
    """The process's start time (clock ticks since boot, /proc/<pid>/stat field 22); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    return stat.rsplit(")", 1)[1].split()[19]


def process_identity(pid: int | None = None) -> str:
    """``host|boot_id|pid|start_ticks`` of a process (default: this one)."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}|{_boot_id()}|{pid}|{_start_ticks(pid) or ''}"


def process_alive(identity: str) -> bool | None:
    """True/False for a process of this machine; None when the identity names another host (unknown)."""
    try:
        host, boot, pid, ticks = identity.split("|")
        pid_n = int(pid)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    if boot != _boot_id():
        return False  # the machine restarted since: every process of that boot is gone
    return _start_ticks(pid_n) == ticks and bool(ticks)


def reclaim_dead_runs(instance: dg.DagsterInstance, pools: tuple[str, ...] = ("duckdb",)) -> list[str]:
    """Mark unfinished runs whose process is gone as failed and free every slot they hold; free slots
    of runs that already ended. Returns one line per action, for the caller to print."""
    done: list[str] = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=list(_UNFINISHED))):
        run = record.dagster_run
        identity = run.tags.get(PROCESS_TAG)
        if identity is None or process_alive(identity) is not False:
            continue
        instance.report_run_failed(
            run, message=f"run marked failed by ticket-dq: its process ({identity}) is gone (killed or crashed)")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        done.append(f"run {run.run_id}: process gone, marked FAILURE, concurrency slots freed")
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for pool in pools:
            holders = {slot.run_id for slot in storage.get_concurrency_info(pool).claimed_slots}
            for run_id in sorted(holders):
                run = instance.get_run_by_id(run_id)
                if run is None or run.is_finished:
                    storage.free_concurrency_slots_for_run(run_id)
                    done.append(f"run {run_id}: ended, its {pool} slot freed")
                elif run.tags.get(PROCESS_TAG) is None:
                    done.append(f"run {run_id} holds the {pool} slot and has no {PROCESS_TAG} tag: if it is "
                                f"dead, free it with `dagster run delete {run_id}`")
    return done


def _stop_waiting(signum, _frame) -> None:
    raise SystemExit(128 + signum)


def _wait_for_lock(fh) -> None:
    """Block on the lock; SIGTERM ends the wait (and the process) even when this process was started with
    SIGTERM ignored (an ignored signal is inherited across exec: a parent that ignores it passes that on)."""
    if threading.current_thread() is not threading.main_thread():
        fcntl.flock(fh, fcntl.LOCK_EX)
        return
    previous = signal.signal(signal.SIGTERM, _stop_waiting)
    try:
        fcntl.flock(fh, fcntl.LOCK_EX)
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def exclusive_run(warehouse: Path, instance: dg.DagsterInstance) -> Iterator[dict[str, str]]:
    """Hold the warehouse's run lock (waiting, asleep, for another holder), reclaim dead runs, and
    yield the tags the run must carry so a later run can tell whether its process is alive."""
    lock_path = Path(f"{warehouse}.run.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            print(f"waiting for the run of {holder} on this warehouse to end", file=sys.stderr, flush=True)
            _wait_for_lock(fh)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        try:
            for line in reclaim_dead_runs(instance):
                print(line, file=sys.stderr, flush=True)
            yield {PROCESS_TAG: process_identity()}
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
