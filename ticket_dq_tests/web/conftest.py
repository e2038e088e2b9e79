"""The triage page as handlers meet it: `ticket-dq serve` in its own process, driven by Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

import pytest

from ticket_dq.web import accounts
from ticket_dq_tests.browser import free_port, http_process

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
    """`ticket-dq serve` in its own process on a free loopback port; yields its base URL."""
    port = free_port()
    exe = Path(sys.executable).with_name("ticket-dq")
    with http_process([str(exe), "serve", "--port", str(port), "--accounts", str(accounts_path)], "/login", port,
                      env or {}, log, "ticket-dq serve", timeout_s) as url:
        yield url


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
