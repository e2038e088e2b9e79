"""A real ``dagster dev`` (webserver + daemon + code server) on a fresh instance, for the real-time test
and bench/latency.py: fresh DAGSTER_HOME with the repo's dagster.yaml, temp landing area, warehouse and
file-channel outbox, a free loopback port, a replay clock, and the whole process group stopped at the end."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ticket_dq_tests.browser import free_port, stop_group

REPO = Path(__file__).resolve().parents[2]


@dataclass
class DevInstance:
    base: Path
    url: str = ""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def landing(self) -> Path:
        return self.base / "landing"

    @property
    def outbox(self) -> Path:
        return self.base / "outbox"

    @property
    def warehouse(self) -> Path:
        return self.base / "warehouse" / "ticket_dq.duckdb"

    @property
    def home(self) -> Path:
        return self.base / "dagster_home"

    def log_tail(self, n: int = 3000) -> str:
        log = self.base / "dagster_dev.log"
        return log.read_text(errors="replace")[-n:] if log.exists() else ""

    def instance(self):
        """A reader of the same instance storage (SQLite under DAGSTER_HOME) the daemon writes."""
        import dagster as dg

        return dg.DagsterInstance.from_config(str(self.home))


def wait_for(predicate, timeout_s: float, what: str, proc: subprocess.Popen | None = None,
             dev: DevInstance | None = None, poll_s: float = 0.25):
    """Poll ``predicate`` until it returns something truthy; fail with the dev log when it does not."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"dagster dev exited while waiting for {what}:\n{dev.log_tail() if dev else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout_s:.0f}s:\n{dev.log_tail() if dev else ''}")
        time.sleep(poll_s)


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/server_info", timeout=2):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def dagster_dev(base: Path, clock_spec: str, extra_env: dict[str, str] | None = None, timeout_s: float = 120.0):
    """Start ``dagster dev`` for a fresh instance under ``base``; yields a ``DevInstance`` once the
    webserver answers (the daemon starts beside it)."""
    dev = DevInstance(Path(base))
    for d in (dev.landing, dev.outbox, dev.warehouse.parent, dev.home):
        d.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", dev.home / "dagster.yaml")  # the repo's pool and queue settings
    port = free_port()
    dev.url = f"http://127.0.0.1:{port}"
    dev.env = {
        "DAGSTER_HOME": str(dev.home), "TICKET_DQ_LANDING": str(dev.landing),
        "TICKET_DQ_WAREHOUSE": str(dev.warehouse), "TICKET_DQ_OUTBOX": str(dev.outbox),
        "TICKET_DQ_CLOCK": clock_spec, **(extra_env or {}),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKET_DQ_", "DAGSTER_"))}
    env.update(dev.env)
    exe = Path(sys.executable).with_name("dagster")
    with open(dev.base / "dagster_dev.log", "wb") as out:
        proc = subprocess.Popen([str(exe), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: _up(dev.url), timeout_s, "webserver answer", proc, dev, poll_s=0.5)
        yield dev
    finally:
        stop_group(proc, timeout_s=30)
