"""The triage page as handlers meet it: `ticket-dq serve` in its own process, driven by Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ticket_dq.web import accounts

REPO = Path(__file__).resolve().parents[2]
PASSWORDS = {"li.na": "cs-handler-pass", "wang.bd": "bd-handler-pass"}
TEAMS = {"li.na": "CS", "wang.bd": "BD"}


@pytest.fixture
def accounts_file(tmp_path) -> Path:
    path = tmp_path / "secrets" / "accounts.json"
    for name, pw in PASSWORDS.items():
        accounts.add(path, name, TEAMS[name], pw)
    return path


@contextlib.contextmanager
def serve(accounts_path: Path, log: Path, env: dict[str, str] | None = None, timeout_s: float = 60.0):
    """`ticket-dq serve` on a free loopback port; yields its base URL; stops it at the end."""
    from ticket_dq_tests.browser import free_port

    port = free_port()
    exe = Path(sys.executable).with_name("ticket-dq")
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--accounts", str(accounts_path)],
                                cwd=REPO, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            assert proc.poll() is None, f"ticket-dq serve exited: {log.read_text(errors='replace')[-2000:]}"
            try:
                with urllib.request.urlopen(f"{url}/login", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, f"ticket-dq serve not up after {timeout_s}s"
                time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def sign_in(page, url: str, name: str, password: str | None = None) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name] if password is None else password)
    page.click("button[type=submit]")


def screenshot(page, name: str, tmp_path: Path) -> Path:
    """Save a screenshot; with TICKET_DQ_SCREENSHOTS set, also copy it there (docs/img for the README)."""
    path = tmp_path / name
    page.screenshot(path=str(path))
    target = os.environ.get("TICKET_DQ_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)
    return path
