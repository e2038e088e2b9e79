"""Handler accounts: scrypt hashes only, constant-time checks, a file readable by its owner only."""

from __future__ import annotations

import io
import json
import stat

import pytest

from ticket_dq import cli
from ticket_dq.web import accounts


def test_accounts_file_holds_salted_hashes_and_verifies_only_the_right_password(tmp_path, monkeypatch, capsys):
    path = tmp_path / "acc.json"
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert cli.main(["accounts", "add", "li.na", "--team", "cs", "--file", str(path), "--password-stdin"]) == 0
    accounts.add(path, "wang.bd", "BD", "correct horse battery")
    text = path.read_text(encoding="utf-8")
    assert "correct horse" not in text
    hashes = [e["password"] for e in json.loads(text)["handlers"]]
    assert all(h.startswith("scrypt$") for h in hashes) and hashes[0] != hashes[1]  # salted
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = accounts.load(path)
    assert accounts.authenticate(loaded, "li.na", "correct horse battery").team == "CS"
    assert accounts.authenticate(loaded, "li.na", "wrong") is None
    assert accounts.authenticate(loaded, "nobody", "correct horse battery") is None
    capsys.readouterr()
    assert cli.main(["accounts", "list", "--file", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["li.na\tCS", "wang.bd\tBD"]


def test_bad_accounts_are_refused(tmp_path):
    path = tmp_path / "acc.json"
    with pytest.raises(accounts.AccountsError, match="unknown team"):
        accounts.add(path, "x", "NOPE", "password1")
    path.write_text(json.dumps({"handlers": [{"name": "x", "team": "CS", "password": "plain-text"}]}))
    with pytest.raises(accounts.AccountsError, match="not a scrypt hash"):
        accounts.load(path)
    with pytest.raises(accounts.AccountsError, match="no accounts file"):
        accounts.load(tmp_path / "missing.json")


def test_serve_refuses_to_start_without_accounts(monkeypatch, capsys):
    monkeypatch.delenv("TICKET_DQ_ACCOUNTS", raising=False)
    assert cli.main(["serve"]) == 2
    assert "needs handler accounts" in capsys.readouterr().out
