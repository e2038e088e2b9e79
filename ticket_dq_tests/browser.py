"""A real browser and a real Dagster webserver for the tests that look at pages.

Chromium is Debian's (`make test` installs it when missing); Playwright drives it through its
`executable_path`, so no browser is downloaded. The flags keep Chromium off the network it would
otherwise try to reach at start-up (this machine's network is closed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is missing: `make test` installs Debian's chromium (or: apt-get install chromium)"
    return path


@contextlib.contextmanager
def chromium() -> Browser:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def http_process(argv: list[str], probe_path: str, port: int, env: dict[str, str], log: Path, name: str,
                 timeout_s: float = 90.0):
    """Start a server process on ``port``, wait until ``probe_path`` answers, yield its base URL.

    Started as a process-group leader so the whole group (e.g. webserver + code server) stops at the end.
    """
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            assert proc.poll() is None, f"{name} exited: {log.read_text(errors='replace')[-2000:]}"
            try:
                with urllib.request.urlopen(f"{url}{probe_path}", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, f"{name} not up after {timeout_s}s"
                time.sleep(0.3)
        yield url
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen, timeout_s: float = 20.0) -> None:
    """SIGTERM the process group ``proc`` leads, SIGKILL it if it is still there after ``timeout_s``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def dagster_webserver(env: dict[str, str], log: Path, timeout_s: float = 90.0):
    """`dagster-webserver` on the repo's workspace.yaml, on a free loopback port; yields its base URL."""
    port = free_port()
    exe = Path(sys.executable).with_name("dagster-webserver")
    with http_process([str(exe), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"], "/server_info", port,
                      env, log, "dagster-webserver", timeout_s) as url:
        yield url
