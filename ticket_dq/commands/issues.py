"""`ticket-dq issues list|show|ack|confirm|false-positive|resolve|reopen`: triage from the terminal.

``list`` / ``show`` read the warehouse read-only. The state changes do NOT write the warehouse: they
deliver the same events as the ``issue_events`` feed (CONTRACT.md section 3) as a CSV + manifest
(manifest last, with sha256 and row count) into ``<landing>/issue_events/triage/<YYYY-MM-DD>/``, so
the landing sensor ingests them and dq.issues applies them exactly like handler-tool events.

The current state is the replay (lib/lifecycle.py) of raw.issue_events plus triage files already
delivered but not yet ingested, so ``ack`` then ``confirm`` in quick succession works. An action that
is illegal from that state is refused at once; if the warehouse is locked by a running job the event
is still delivered (with a warning) and the lifecycle judges it when it is applied.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import uuid
from pathlib import Path

ACTIONS = {  # subcommand -> event to_status
    "ack": "ACKNOWLEDGED",
    "confirm": "CONFIRMED",
    "false-positive": "FALSE_POSITIVE",
    "resolve": "RESOLVED",
    "reopen": "REOPENED",
}
TRIAGE_SOURCE = "triage"


def register(sub) -> None:
    p = sub.add_parser("issues", help="list, show and triage data-quality issues")
    isub = p.add_subparsers(dest="issues_command", required=True)
    lp = isub.add_parser("list", help="list issues (read-only)")
    lp.add_argument("--status", help="e.g. OPEN, ACKNOWLEDGED (comma-separated)")
    lp.add_argument("--team", help="RD, PM, BD, OPS, SALES, CS (comma-separated)")
    lp.add_argument("--severity", help="P0..P3 (comma-separated)")
    lp.add_argument("--category")
    lp.add_argument("--limit", type=int, default=50)
    lp.add_argument("--warehouse", default=None, help="DuckDB file (default: $TICKET_DQ_WAREHOUSE)")
    lp.set_defaults(func=run_list)
    sp = isub.add_parser("show", help="one issue with its events and notifications (read-only)")
    sp.add_argument("issue_id")
    sp.add_argument("--warehouse", default=None)
    sp.set_defaults(func=run_show)
    for name, to_status in ACTIONS.items():
        ap = isub.add_parser(name, help=f"record {to_status} for issues (delivers an issue_events file)")
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


class _Unreadable(RuntimeError):
    pass


def _state_con(wh: Path):
    """An in-memory DuckDB holding the warehouse's issues plus the replayed handler state.

    raw.issue_events here = the warehouse's events + delivered triage files not yet ingested."""
    import duckdb

    from ticket_dq import settings
    from ticket_dq.lib import lifecycle, warehouse

    if not wh.is_file():
        raise _Unreadable(f"no warehouse at {wh}: run `ticket-dq materialize` first")
    mem = duckdb.connect()
    mem.execute("SET TimeZone = 'Asia/Shanghai'")
    try:
        with warehouse.connect(wh, read_only=True, timeout_s=3) as con:
            issues = con.sql("SELECT * FROM dq.issues").to_arrow_table()
            events = con.sql("SELECT * FROM raw.issue_events").to_arrow_table()
            known = {r[0] for r in con.execute(
                "SELECT file FROM meta.ingested_files WHERE feed = 'issue_events'").fetchall()}
            has_notes = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'dq' "
                "AND table_name = 'notifications'").fetchall()[0][0]
            notes = con.sql("SELECT * FROM dq.notifications").to_arrow_table() if has_notes else None
    except warehouse.WarehouseLocked as exc:
        raise _Unreadable(f"the warehouse {wh} is locked by a running job (DuckDB allows one writer and no "
                          f"readers beside it); try again when it finishes. ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - schema missing etc.: say what is wrong
        if "lock" in str(exc).lower():
            raise _Unreadable(f"the warehouse {wh} is locked by a running job; try again when it finishes") from None
        raise
    mem.execute("CREATE SCHEMA dq; CREATE SCHEMA raw")
    mem.register("_i", issues)
    mem.execute("CREATE TABLE dq.issues AS SELECT * FROM _i")
    mem.register("_e", events)
    mem.execute("CREATE TABLE raw.issue_events AS SELECT * FROM _e")
    if notes is not None:
        mem.register("_n", notes)
        mem.execute("CREATE TABLE dq.notifications AS SELECT * FROM _n")
    root = settings.landing_root()
    for path in sorted((root / "issue_events" / TRIAGE_SOURCE).glob("*/*.csv")):
        rel = path.relative_to(root).as_posix()
        if rel in known or not (path.parent / f"_manifest_{path.stem}.json").exists():
            continue
        mem.execute("""INSERT INTO raw.issue_events BY NAME
            SELECT CAST(event_ts AS TIMESTAMP) AS event_ts, issue_id, to_status, handler, team, resolution_code,
                   comment, 'triage' AS source, $rel AS ingest_file, 1 + row_number() OVER () AS ingest_line,
                   now()::TIMESTAMP AS ingested_at
            FROM read_csv($p, all_varchar = true, header = true)""", {"p": str(path), "rel": rel})
    lifecycle.handler_states(mem)
    return mem


_STATE_VIEW = """
SELECT i.issue_id, i.category, i.severity, i.team,
    CASE WHEN hs.status IS NOT NULL THEN hs.status ELSE i.status END AS status,
    i.status AS status_in_issues, hs.status AS handler_status, hs.status_at, hs.handler,
    i.source, i.cinema_code, i.show_start_time, i.order_id, i.affected_orders, i.reason,
    i.first_detected_at, i.last_detected_at
FROM dq.issues i LEFT JOIN handler_state hs USING (issue_id)
"""


def run_list(args) -> int:
    try:
        con = _state_con(_wh(args))
    except _Unreadable as exc:
        print(exc)
        return 2
    where, params = [], {}
    for col, arg in (("status", args.status), ("team", args.team), ("severity", args.severity),
                     ("category", args.category)):
        if arg:
            where.append(f"{col} IN (SELECT unnest($" + col + "))")
            params[col] = [v.strip().upper() for v in arg.split(",")]
    filtered = f"SELECT * FROM ({_STATE_VIEW})" + (" WHERE " + " AND ".join(where) if where else "")
    matching = con.execute(f"SELECT count(*) FROM ({filtered})", params).fetchall()[0][0]
    total = con.execute(f"SELECT count(*) FROM ({_STATE_VIEW})").fetchall()[0][0]
    rows = con.execute(f"SELECT issue_id, severity, status, team, category, source, reason FROM ({filtered}) "
                       "ORDER BY severity, first_detected_at DESC, issue_id LIMIT $limit",
                       {**params, "limit": args.limit}).fetchall()
    print(f"{'issue_id':<28} {'sev':<3} {'status':<15} {'team':<6} {'category':<22} {'source':<12} reason")
    for r in rows:
        reason = (r[6] or "")[:70]
        print(f"{r[0]:<28} {r[1]:<3} {r[2]:<15} {r[3]:<6} {r[4]:<22} {r[5] or '-':<12} {reason}")
    print(f"-- {len(rows)} shown of {matching} matching ({total} issues in all)")
    return 0


def run_show(args) -> int:
    try:
        con = _state_con(_wh(args))
    except _Unreadable as exc:
        print(exc)
        return 2
    cur = con.execute(f"SELECT * FROM ({_STATE_VIEW}) WHERE issue_id = $id", {"id": args.issue_id})
    names = [c[0] for c in cur.description]
    row = cur.fetchall()
    if not row:
        print(f"no issue {args.issue_id}")
        return 1
    for k, v in zip(names, row[0]):
        print(f"{k:>18}: {v if v is not None else '-'}")
    ev = con.execute("SELECT event_ts, to_status, handler, team, resolution_code, comment FROM raw.issue_events "
                     "WHERE issue_id = $id ORDER BY event_ts", {"id": args.issue_id}).fetchall()
    print(f"\nevents ({len(ev)}):")
    for e in ev:
        print("  " + "  ".join(str(x) if x is not None else "-" for x in e))
    rej = con.execute("SELECT event_ts, to_status, reason FROM handler_rejected_events WHERE issue_id = $id "
                      "ORDER BY event_ts", {"id": args.issue_id}).fetchall()
    if rej:
        print(f"\nrejected events ({len(rej)}):")
        for e in rej:
            print(f"  {e[0]}  {e[1]}  {e[2]}")
    if con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'notifications'").fetchall()[0][0]:
        notes = con.execute("SELECT channel, recipient, occurrence, status, attempts, sent_at, error "
                            "FROM dq.notifications WHERE issue_id = $id ORDER BY created_at",
                            {"id": args.issue_id}).fetchall()
        print(f"\nnotifications ({len(notes)}):")
        for n in notes:
            print("  " + "  ".join(str(x) if x is not None else "-" for x in n))
    return 0


def deliver_events(rows: list[dict], now) -> Path:
    """Write rows as an issue_events CSV + manifest (manifest last) under the triage source folder."""
    from ticket_dq import settings
    from ticket_dq.lib import contract

    cols = contract.FEEDS["issue_events"].contract_names
    folder = settings.landing_root() / "issue_events" / TRIAGE_SOURCE / now.strftime("%Y-%m-%d")
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"triage_{now.strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:8]}"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c) or "" for c in cols})
    data = buf.getvalue().encode("utf-8")
    path = folder / f"{stem}.csv"
    path.write_bytes(data)
    manifest = {"file": path.name, "feed": "issue_events", "source": TRIAGE_SOURCE, "rows": len(rows),
                "sha256": hashlib.sha256(data).hexdigest(), "snapshot_ts": now.strftime("%Y-%m-%d %H:%M:%S"),
                "schema_version": 1}
    tmp = folder / f"._manifest_{stem}.json.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    tmp.replace(folder / f"_manifest_{stem}.json")
    return path


def run_action(args) -> int:
    from ticket_dq import settings
    from ticket_dq.lib import contract, lifecycle

    code = getattr(args, "code", None)
    if code and code.upper() not in contract.RESOLUTION_CODES:
        print(f"unknown resolution code {code!r}; one of {', '.join(contract.RESOLUTION_CODES)}")
        return 2
    now = settings.now()
    handler = args.handler or settings.env("USER") or "unknown"
    try:
        con = _state_con(_wh(args))
    except _Unreadable as exc:
        con = None
        print(f"warning: current state not readable ({exc}); delivering the event(s) anyway - the lifecycle "
              "rejects them at ingestion if they are illegal")
    rows, errors = [], []
    for iid in args.issue_ids:
        team = args.team
        if con is not None:
            r = con.execute("SELECT team, handler_status FROM dq.issues i LEFT JOIN "
                            "(SELECT issue_id, status AS handler_status FROM handler_state) h USING (issue_id) "
                            "WHERE issue_id = $id", {"id": iid}).fetchall()
            if not r:
                errors.append(f"{iid}: no such issue in dq.issues")
                continue
            team = team or r[0][0]
            try:
                new = lifecycle.next_status(r[0][1], args.to_status)
            except lifecycle.IllegalTransition as exc:
                verbs = {v: k for k, v in ACTIONS.items()}
                cur = (r[0][1] or "OPEN")
                hint = [verbs[e] for e in lifecycle.allowed_events(cur if cur != "SUPPRESSED" else "OPEN")]
                errors.append(f"{iid}: {args.action} refused: {exc}"
                              + (f" (try: ticket-dq issues {' | '.join(hint)})" if hint else ""))
                continue
        else:
            new = args.to_status
        rows.append({"event_ts": now.strftime("%Y-%m-%d %H:%M:%S"), "issue_id": iid, "to_status": args.to_status,
                     "handler": handler, "team": (team or "").upper(),
                     "resolution_code": (code or "").upper() if args.to_status in ("RESOLVED", "FALSE_POSITIVE") else "",
                     "comment": args.comment, "_new": new})
    for e in errors:
        print(e)
    if rows:
        path = deliver_events(rows, now)
        for r in rows:
            print(f"{r['issue_id']}: {args.to_status} recorded -> status {r['_new']}")
        print(f"delivered {len(rows)} event(s) to {path} (ingested by the landing sensor)")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:  # for `python -m ticket_dq.commands.issues`
    parser = argparse.ArgumentParser(prog="ticket-dq")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
