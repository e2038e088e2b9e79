"""`ticket-dq serve`: the triage page for the people who handle issues (ticket_dq/web/).

Bound to loopback by default. Accounts come from ``--accounts`` or ``$TICKET_DQ_ACCOUNTS`` (a file
outside the repository; ``ticket-dq accounts add`` writes it). Sessions are signed with
``$TICKET_DQ_SERVE_SECRET`` when set, else with a random key per start (everyone signs in again after
a restart).
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("serve", help="the triage page for issue handlers (http://127.0.0.1:8321 by default)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    p.add_argument("--port", type=int, default=8321)
    p.add_argument("--accounts", default=None, help="handler accounts file (default: $TICKET_DQ_ACCOUNTS)")
    p.add_argument("--warehouse", default=None, help="DuckDB file (default: $TICKET_DQ_WAREHOUSE)")
    p.add_argument("--landing", default=None, help="landing area (default: $TICKET_DQ_LANDING)")
    p.add_argument("--demo-clock", action="store_true",
                   help="when TICKET_DQ_NOW is unset, use the clock of a simulated landing area (_truth/sim.json)")
    p.set_defaults(func=run)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args) -> int:
    import uvicorn

    from ticket_dq import settings
    from ticket_dq.commands.materialize import _demo_now
    from ticket_dq.web import accounts
    from ticket_dq.web.app import Config, create_app

    accounts_path = args.accounts or settings.env("TICKET_DQ_ACCOUNTS")
    if not accounts_path:
        print("ticket-dq serve needs handler accounts: --accounts FILE or $TICKET_DQ_ACCOUNTS "
              "(create with `ticket-dq accounts add NAME --team CS --file FILE`)")
        return 2
    if args.demo_clock and not settings.env("TICKET_DQ_NOW"):
        demo_now = _demo_now()
        if demo_now:
            settings.use_now(demo_now)
    config = Config(landing=Path(args.landing) if args.landing else settings.landing_root(),
                    warehouse=Path(args.warehouse) if args.warehouse else settings.warehouse_path(),
                    accounts=Path(accounts_path), clock=settings.now)
    secret = settings.env("TICKET_DQ_SERVE_SECRET")
    if secret:
        config.secret = secret
    try:
        app = create_app(config)
    except accounts.AccountsError as exc:
        print(exc)
        return 2
    if not _loopback(args.host):
        print(f"warning: serving on {args.host}, not loopback: put it behind a TLS proxy, passwords and "
              "session cookies travel in clear text otherwise", file=sys.stderr)
    print(f"triage page on http://{args.host}:{args.port}  (warehouse {config.warehouse}, landing {config.landing}, "
          f"clock {settings.now():%Y-%m-%d %H:%M})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0
