"""`ticket-dq accounts add|list`: the handler accounts of the triage page (ticket_dq/web/accounts.py).

The file holds scrypt hashes only and belongs outside the repository (``--file`` or
``$TICKET_DQ_ACCOUNTS``); it is written readable by its owner only.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("accounts", help="handler accounts of the triage page (`ticket-dq serve`)")
    asub = p.add_subparsers(dest="accounts_command", required=True)
    ap = asub.add_parser("add", help="add or replace a handler (password asked without echo)")
    ap.add_argument("name")
    ap.add_argument("--team", required=True, help="RD, PM, BD, OPS, SALES, CS")
    ap.add_argument("--file", default=None, help="accounts file (default: $TICKET_DQ_ACCOUNTS)")
    ap.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    ap.set_defaults(func=run_add)
    lp = asub.add_parser("list", help="names and teams (never the hashes)")
    lp.add_argument("--file", default=None)
    lp.set_defaults(func=run_list)


def _file(args) -> Path | None:
    from ticket_dq import settings
    raw = args.file or settings.env("TICKET_DQ_ACCOUNTS")
    return Path(raw) if raw else None


def run_add(args) -> int:
    from ticket_dq.web import accounts

    path = _file(args)
    if path is None:
        print("give the accounts file: --file FILE or $TICKET_DQ_ACCOUNTS")
        return 2
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("the passwords differ")
            return 2
    if len(password) < 8:
        print("a password needs at least 8 characters")
        return 2
    try:
        accounts.add(path, args.name, args.team, password)
    except accounts.AccountsError as exc:
        print(exc)
        return 2
    print(f"{args.name} ({args.team.upper()}) saved in {path}")
    return 0


def run_list(args) -> int:
    from ticket_dq.web import accounts

    path = _file(args)
    if path is None:
        print("give the accounts file: --file FILE or $TICKET_DQ_ACCOUNTS")
        return 2
    try:
        for acc in accounts.load(path).values():
            print(f"{acc.name}\t{acc.team}")
    except accounts.AccountsError as exc:
        print(exc)
        return 2
    return 0
