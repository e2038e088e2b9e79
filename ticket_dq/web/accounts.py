"""Handler accounts for the triage page: name, team and a salted scrypt hash of the password.

The accounts file lives outside the repository (its path comes from ``--accounts`` or
``$TICKET_DQ_ACCOUNTS``) and holds no password, only hashes, as JSON::

    {"handlers": [{"name": "li.na", "team": "CS", "password": "scrypt$16384$8$1$<salt hex>$<hash hex>"}]}

``ticket-dq accounts add NAME --team CS --file F`` writes an entry (password read without echo, or
from stdin). Hashing is the standard library's ``hashlib.scrypt`` (memory-hard), compared in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ticket_dq.lib import contract

# scrypt cost: n=2**14, r=8, p=1 (the interactive-login parameters of the scrypt paper; ~16 MiB).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
_DKLEN = 32


@dataclass(frozen=True)
class Account:
    name: str
    team: str
    password_hash: str


class AccountsError(ValueError):
    """The accounts file is missing or malformed."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=_DKLEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, want = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want) // 2, maxmem=128 * int(n) * int(r) * 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), want)


# Checked when the name is unknown too, so a wrong name and a wrong password take the same time.
_DUMMY_HASH = hash_password("not a password", salt=b"\0" * 16)


def load(path: Path) -> dict[str, Account]:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccountsError(f"no accounts file at {path} (create one with `ticket-dq accounts add`)") from None
    except ValueError as exc:
        raise AccountsError(f"accounts file {path} is not valid JSON: {exc}") from None
    out = {}
    for i, entry in enumerate(data.get("handlers", []) if isinstance(data, dict) else []):
        try:
            acc = Account(str(entry["name"]), str(entry["team"]).upper(), str(entry["password"]))
        except (KeyError, TypeError):
            raise AccountsError(f"accounts file {path}: entry {i} needs name, team and password") from None
        if acc.team not in contract.TEAMS:
            raise AccountsError(f"accounts file {path}: {acc.name} has unknown team {acc.team!r}")
        if not acc.password_hash.startswith("scrypt$"):
            raise AccountsError(f"accounts file {path}: {acc.name}'s password is not a scrypt hash")
        out[acc.name] = acc
    return out


def authenticate(accounts: dict[str, Account], name: str, password: str) -> Account | None:
    acc = accounts.get(name)
    ok = verify_password(acc.password_hash if acc else _DUMMY_HASH, password)
    return acc if acc and ok else None


def add(path: Path, name: str, team: str, password: str) -> None:
    """Add or replace one account; the file is rewritten atomically and readable by its owner only."""
    team = team.upper()
    if team not in contract.TEAMS:
        raise AccountsError(f"unknown team {team!r}; one of {', '.join(contract.TEAMS)}")
    if not name or any(c in name for c in ",\r\n"):
        raise AccountsError("a handler name must be non-empty and hold no comma or line break")
    path = Path(path)
    entries = []
    if path.exists():
        load(path)  # refuse to rewrite a malformed file
        entries = [e for e in json.loads(path.read_text(encoding="utf-8"))["handlers"] if e["name"] != name]
    entries.append({"name": name, "team": team, "password": hash_password(password)})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"handlers": entries}, fh, ensure_ascii=False, indent=2)
    os.replace(tmp, path)
