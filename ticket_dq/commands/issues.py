"""`ticket-dq issues list|show|acknowledge|confirm|false-positive|resolve|reopen`: triage from the terminal.

``list`` / ``show`` read the warehouse read-only, briefly. The actions do NOT write the warehouse:
they deliver the same events as the ``issue_events`` feed (CONTRACT.md section 3), a CSV then its
manifest (lib/delivery.py), into ``<landing>/issue_events/triage/<YYYY-MM-DD>/``; the next pipeline
run ingests them and dq.issues applies them exactly like a handler tool's events. Until then the
event is *pending*: list/show already count it (lib/triage.py replays delivered files not yet
ingested), so ``acknowledge`` then ``confirm`` in quick succession works. An action illegal from that
state is refused at once; if the warehouse is locked by a running job the event is still delivered
(with a warning) and the lifecycle judges it when it is applied.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from ticket_dq.lib import triage

TRIAGE_SOURCE = "triage"
ALIASES = {"acknowledge": ["ack"]}


def register(sub) -> None:
    p = sub.add_parser("issues", help="list, show and triage data-quality issues")
    isub = p.add_subparsers(dest="issues_command", required=True)
    lp = isub.add_parser("list", help="list issues, most urgent first (read-only)")
    lp.add_argument("--status", help="e.g. OPEN, ACKNOWLEDGED (comma-separated)")
    lp.add_argument("--team", help="RD, PM, BD, OPS, SALES, CS (comma-separated)")
    lp.add_argument("--severity", help="P0..P3 (comma-separated)")
    lp.add_argument("--category", help="e.g. ORDER_SHOW_CHANGED (comma-separated)")
    lp.add_argument("--source", help="partner / platform / channel partner (comma-separated)")
    lp.add_argument("--cinema", help="cinema_code (comma-separated)")
    lp.add_argument("--limit", type=int, default=50)
    lp.add_argument("--warehouse", default=None, help="DuckDB file (default: $TICKET_DQ_WAREHOUSE)")
    lp.set_defaults(func=run_list)
    sp = isub.add_parser("show", help="one issue with its evidence, orders, events and notifications (read-only)")
    sp.add_argument("issue_id")
    sp.add_argument("--warehouse", default=None)
    sp.set_defaults(func=run_show)
    for name, to_status in triage.ACTIONS.items():
        ap = isub.add_parser(name, aliases=ALIASES.get(name, []),
                             help=f"record {to_status} for issues (delivers an issue_events file; "
                                  "takes effect on the next pipeline run)")
        ap.add_argument("issue_ids", nargs="+", metavar="ISSUE_ID")
        ap.add_argument("--handler", default=None, help="who acts (default: $USER)")
        ap.add_argument("--team", default=None, help="the handler's team (default: the issue's team)")
        ap.add_argument("--comment", default="")
        if name in ("resolve", "false-positive"):
            ap.add_argument("--code", default="NO_ACTION" if name == "false-positive" else None,
                            required=(name == "resolve"),
                            help="resolution code: PARTNER_FIXED, USER_NOTIFIED, USER_REFUNDED, DATA_CORRECTED, NO_ACTION")
        ap.add_argument("--warehouse", default=None)
        ap.set_defaults(func=run_action, to_status=to_status, action=name)


def _wh(args) -> Path:
    from ticket_dq import settings
    return Path(args.warehouse) if getattr(args, "warehouse", None) else settings.warehouse_path()


def _state(args):
    from ticket_dq import settings
    return triage.load_state(_wh(args), settings.landing_root())


def _split(arg: str | None, upper: bool = True) -> list[str] | None:
    if not arg:
        return None
    return [v.strip().upper() if upper else v.strip() for v in arg.split(",") if v.strip()]


def _when(ts: datetime | None) -> str:
    return ts.strftime("%m-%d %H:%M") if ts else "-"


def run_list(args) -> int:
    from ticket_dq import settings

    try:
        con = _state(args)
    except triage.Unreadable as exc:
        print(exc)
        return 2
    now = settings.now()
    filters = {"status": _split(args.status), "team": _split(args.team), "severity": _split(args.severity),
               "category": _split(args.category), "source": _split(args.source, upper=False),
               "cinema_code": _split(args.cinema, upper=False)}
    rows, matching = triage.list_issues(con, filters, now, limit=args.limit)
    total = con.execute("SELECT count(*) FROM dq.issues").fetchall()[0][0]
    print(f"{'issue_id':<28} {'sev':<3} {'status':<16} {'team':<5} {'category':<22} {'source':<11} "
          f"{'show':<11} {'to show':<11} reason")
    for r in rows:
        status = r["status"] + ("*" if r["pending"] else "")
        print(f"{r['issue_id']:<28} {r['severity']:<3} {status:<16} {r['team']:<5} {r['category']:<22} "
              f"{r['source'] or '-':<11} {_when(r['show_start_time']):<11} "
              f"{triage.time_to_show(r['show_start_time'], now):<11} {r['reason'] or ''}")
    print(f"-- {len(rows)} shown of {matching} matching ({total} issues in all); most urgent first "
          f"(severity, then the nearest show to come); clock {now:%Y-%m-%d %H:%M}")
    if any(r["pending"] for r in rows):
        print("-- * a handler event is delivered but not yet applied: it takes effect on the next pipeline run")
    return 0


SHOW_FIELDS = ("issue_id", "category", "rule", "severity", "team", "status", "status_in_issues", "handler",
               "status_at", "source", "cinema_code", "business_date", "show_start_time", "order_id",
               "pickup_code", "affected_orders", "hours_to_show", "reason", "first_detected_at",
               "last_detected_at", "resolved_at")


def _line(values) -> str:
    return "  " + "  ".join(str(x) if x not in (None, "") else "-" for x in values)


def run_show(args) -> int:
    from ticket_dq.lib import messages

    try:
        con = _state(args)
    except triage.Unreadable as exc:
        print(exc)
        return 2
    issue = triage.issue_detail(con, args.issue_id)
    if issue is None:
        print(f"no issue {args.issue_id}")
        return 1
    for k in SHOW_FIELDS:
        v = issue.get(k)
        print(f"{k:>18}: {v if v is not None else '-'}")
    if issue["pending"]:
        print(f"{'':>18}  (a delivered handler event is not applied yet: it takes effect on the next pipeline run)")
    ev = issue["evidence_parsed"]
    print("\nevidence:")
    print("  " + (json.dumps(ev, ensure_ascii=False, indent=2, sort_keys=True, default=str).replace("\n", "\n  ")
                  if ev is not None else "-"))
    ids = triage.order_ids(issue)
    if ids:
        try:
            rows = triage.orders(_wh(args), ids)
        except triage.Unreadable as exc:
            rows = None
            print(f"\norders: {exc}")
        if rows is not None:
            print(f"\norders ({len(rows)} of {len(ids)} found in the orders feed, archive included; mobile masked):")
            for o in rows:
                print(_line((o["order_id"], f"mobile {o['mobile'] or 'unknown'}", o["film_name"],
                             f"show {o['show_start_time']}", o["hall_name"], o["seats"],
                             f"tickets {o['ticket_count']}", o["status"])))
    script = messages.CUSTOMER_SCRIPT.get(issue["category"])
    if script:
        print(f"\ntell the customer: {script}")
    print(f"\nevents ({len(issue['events'])}):")
    for e in issue["events"]:
        print(_line((e["event_ts"], e["to_status"], e["handler"], e["team"], e["resolution_code"], e["comment"],
                     "PENDING (applied on the next run)" if e["pending"] else "")))
    if issue["rejected"]:
        print(f"\nrejected events ({len(issue['rejected'])}):")
        for e in issue["rejected"]:
            print(_line((e["event_ts"], e["to_status"], e["handler"], e["reason"])))
    print(f"\nnotifications ({len(issue['notifications'])}):")
    for n in issue["notifications"]:
        print(_line(n.values()))
    return 0


def run_action(args) -> int:
    from ticket_dq import settings

    now = settings.now()
    handler = args.handler or settings.env("USER") or "unknown"
    try:
        con = _state(args)
    except triage.Unreadable as exc:
        con = None
        print(f"warning: current state not readable ({exc}); delivering the event(s) anyway - the lifecycle "
              "rejects them at ingestion if they are illegal")
    rows, errors = [], []
    for iid in args.issue_ids:
        try:
            if con is not None:
                rows.append(triage.plan_event(con, iid, args.to_status, handler=handler, team=args.team, now=now,
                                              resolution_code=getattr(args, "code", None), comment=args.comment))
            else:
                rows.append({"event_ts": now.replace(microsecond=0), "issue_id": iid, "to_status": args.to_status,
                             "handler": handler, "team": (args.team or "").upper(),
                             "resolution_code": (getattr(args, "code", None) or "").upper(),
                             "comment": args.comment, "_new": args.to_status})
        except triage.Refused as exc:
            errors.append(str(exc))
    for e in errors:
        print(e)
    if rows:
        path = triage.deliver_events(settings.landing_root(), TRIAGE_SOURCE, rows, now)
        for r in rows:
            print(f"{r['issue_id']}: {r['to_status']} delivered; the status becomes {r['_new']} "
                  "on the next pipeline run")
        print(f"delivered {len(rows)} event(s) to {path}\n(pending until the next pipeline run ingests it: "
              "the landing sensor starts one within a minute, or run `ticket-dq materialize`)")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:  # for `python -m ticket_dq.commands.issues`
    parser = argparse.ArgumentParser(prog="ticket-dq")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
