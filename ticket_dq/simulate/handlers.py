"""Simulated issue handlers: the people who review ticket_dq's alerts, for the demo.

``ticket-dq simulate handlers --landing DIR [--warehouse PATH] [--truth DIR/_truth] [--now TS] [--seed 7]``
reads the issues (warehouse opened read-only; clock: ``--now``, else ``TICKET_DQ_NOW``, else the
``now`` of ``<truth>/sim.json`` + 12 h (the handlers' next morning), else the wall clock), judges each one against the simulator's truth file
(``_truth/faults.csv``, matching rules of ``simulate/TRUTH.md``) and delivers what the handlers did as
an ``issue_events`` feed file plus manifest (written last) under
``<landing>/issue_events/handlers/<YYYY-MM-DD>/``, like any other feed.

Behaviour, deterministic for a seed and an issue id (so a rerun with a later ``--now`` continues the
same story instead of inventing a new one):
- ~15 % of alerts are never reviewed (they stay pending);
- the rest are ACKNOWLEDGED 5-60 min after first detection, then judged 10-180 min later:
  CONFIRMED when a ``kind=fault`` truth row matches, else FALSE_POSITIVE;
- ~80 % of confirmed alerts are RESOLVED 30 min-12 h after confirmation, with a resolution code that
  fits the category. Delays shrink with severity (P0 fastest).
Only events at or before ``now`` are delivered; an event already delivered (in raw.issue_events or in
an earlier handlers file) is never delivered again.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from ticket_dq import settings
from ticket_dq.lib import delivery, warehouse

SOURCE = "handlers"
UNREVIEWED_SHARE = 0.15
RESOLVED_SHARE = 0.80
SEVERITY_SPEED = {"P0": 0.3, "P1": 0.6, "P2": 1.0, "P3": 1.5}

# An issue matches a truth fault by category, source and the key of its granularity (TRUTH.md).
MATCH_SQL = """
WITH f AS (
  SELECT * FROM read_csv($faults, header = true, all_varchar = true)
  WHERE kind = 'fault'
),
i AS (
  SELECT issue_id, category, rule, severity, team, source, cinema_code, business_date, show_start_time,
         order_id, pickup_code, coalesce(business_key, '') AS business_key, first_detected_at
  FROM dq.issues WHERE status <> 'SUPPRESSED' AND first_detected_at <= $now
)
SELECT i.issue_id, i.category, i.severity, i.team, i.first_detected_at,
       bool_or(f.fault_id IS NOT NULL) AS is_fault
FROM i LEFT JOIN f
  ON f.category = i.category AND coalesce(nullif(f.source, ''), '?') = coalesce(i.source, '?') AND (
     ((starts_with(i.category, 'SHOW_') OR i.category = 'HALL_OVERLAP')
        AND f.cinema_code = i.cinema_code
        AND abs(epoch(try_cast(f.show_start_time AS TIMESTAMP)) - epoch(i.show_start_time)) <= 300)
  OR (i.category IN ('ORDER_SHOW_CHANGED', 'ORDER_SHOW_CANCELLED', 'SEAT_DOUBLE_SOLD', 'ORDER_NOT_ISSUED')
        AND f.order_id = i.order_id)
  OR (i.category = 'ORDER_OUTCOME_SPIKE' AND f.rule = i.rule
        AND try_cast(substr(i.business_key, 1, 16) AS TIMESTAMP)
            BETWEEN try_cast(json_extract_string(f.detail, '$.hour_from') AS TIMESTAMP)
                AND try_cast(json_extract_string(f.detail, '$.hour_to') AS TIMESTAMP)
        AND (coalesce(f.cinema_code, '') = '' OR (f.cinema_code = i.cinema_code
             AND abs(epoch(try_cast(f.show_start_time AS TIMESTAMP)) - epoch(i.show_start_time)) <= 300)))
  OR (starts_with(i.category, 'PICKUP_CODE_') AND f.pickup_code = i.pickup_code)
  OR (starts_with(i.category, 'FEED_') AND try_cast(f.business_date AS DATE) = i.business_date)
  OR (i.category = 'VALIDATION_FAILED' AND try_cast(f.business_date AS DATE) = i.business_date
        AND (coalesce(f.rule, '') = '' OR f.rule = i.rule OR strpos(i.business_key, f.rule) > 0))
  OR (i.category = 'UNMAPPED_ENTITY' AND (
        -- NULL (no such id in detail) never matches
        strpos(i.business_key, nullif(json_extract_string(f.detail, '$.platform_cinema_id'), '')) > 0
     OR strpos(i.business_key, nullif(json_extract_string(f.detail, '$.platform_film_id'), '')) > 0))
  )
GROUP BY ALL
ORDER BY i.issue_id
"""


def resolution_code(category: str, rng: random.Random) -> str:
    if category == "ORDER_SHOW_CANCELLED":
        return "USER_REFUNDED"
    if category == "ORDER_SHOW_CHANGED":
        return rng.choice(("USER_NOTIFIED", "USER_NOTIFIED", "USER_REFUNDED"))
    if category in ("SEAT_DOUBLE_SOLD", "PICKUP_CODE_DUPLICATE", "PICKUP_CODE_INVALID", "ORDER_NOT_ISSUED"):
        return rng.choice(("USER_REFUNDED", "DATA_CORRECTED"))
    if category in ("VALIDATION_FAILED", "UNMAPPED_ENTITY"):
        return "DATA_CORRECTED"
    return "PARTNER_FIXED"


def plan_events(issue_id: str, category: str, severity: str, team: str, first_detected_at: datetime,
                is_fault: bool, seed: int) -> list[dict]:
    """Every event the handlers will ever produce for this issue (times may lie in the future)."""
    rng = random.Random(f"{seed}:{issue_id}")
    if rng.random() < UNREVIEWED_SHARE:
        return []
    speed = SEVERITY_SPEED.get(severity, 1.0)
    handler = f"sim-{(team or 'ops').lower()}-{rng.randint(1, 3)}"
    t_ack = first_detected_at + timedelta(minutes=rng.uniform(5, 60) * speed)
    t_verdict = t_ack + timedelta(minutes=rng.uniform(10, 180) * speed)
    ev = [
        {"event_ts": t_ack, "to_status": "ACKNOWLEDGED", "resolution_code": "", "comment": "looking into it"},
        {"event_ts": t_verdict, "to_status": "CONFIRMED" if is_fault else "FALSE_POSITIVE", "resolution_code": "",
         "comment": "confirmed with source data" if is_fault else "not a fault: data is consistent"},
    ]
    if is_fault and rng.random() < RESOLVED_SHARE:
        t_res = t_verdict + timedelta(minutes=rng.uniform(30, 720) * speed)
        ev.append({"event_ts": t_res, "to_status": "RESOLVED", "resolution_code": resolution_code(category, rng),
                   "comment": "fixed"})
    for e in ev:
        e.update(issue_id=issue_id, handler=handler, team=team or "")
        e["event_ts"] = e["event_ts"].replace(microsecond=0)
    return ev


def _delivered(con, landing: Path) -> set[tuple[str, str]]:
    """(issue_id, to_status) pairs handlers already delivered: ingested, or in a landed file."""
    seen = {(a, b) for a, b in con.execute(
        "SELECT DISTINCT issue_id, to_status FROM raw.issue_events WHERE source = $s", {"s": SOURCE}).fetchall()}
    for path in sorted((landing / "issue_events" / SOURCE).glob("*/*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            seen |= {(r["issue_id"], r["to_status"]) for r in csv.DictReader(fh)}
    return seen


def deliver(landing: Path, events: list[dict], now: datetime) -> Path:
    """Deliver the events as one issue_events file (data, then its manifest: lib/delivery.py)."""
    return delivery.deliver(landing, "issue_events", SOURCE, events, now, stem=f"handler_events_{now:%Y%m%dT%H%M%S}")


def run(landing: Path, warehouse_path: Path, truth: Path, now: datetime, seed: int = 7) -> dict:
    faults = truth / "faults.csv"
    if not faults.is_file():
        raise FileNotFoundError(f"no truth file {faults}: handlers judge issues against it")
    if not Path(warehouse_path).is_file():
        raise FileNotFoundError(f"no warehouse at {warehouse_path}: materialize the issues first")
    with warehouse.connect(warehouse_path, read_only=True) as con:
        issues = con.execute(MATCH_SQL, {"faults": str(faults), "now": now}).fetchall()
        seen = _delivered(con, landing)
    events, judged = [], Counter()
    for issue_id, category, severity, team, first_detected_at, is_fault in issues:
        plan = plan_events(issue_id, category, severity, team, first_detected_at, bool(is_fault), seed)
        judged["true_fault" if is_fault else "not_a_fault"] += 1
        if not plan:
            judged["never_reviewed"] += 1
        for e in plan:
            if e["event_ts"] <= now and (issue_id, e["to_status"]) not in seen:
                events.append(e)
    events.sort(key=lambda e: (e["event_ts"], e["issue_id"], e["to_status"]))
    path = deliver(landing, events, now) if events else None
    return {"issues": len(issues), **judged, "events": len(events),
            "by_status": dict(Counter(e["to_status"] for e in events)), "file": str(path) if path else None}


# Replaying a simulated landing area, detection runs at the simulation's clock (sim.json "now"), so
# nothing a handler does after an alert could be at or before that clock. The handlers therefore
# work the morning after: their default clock is sim.json now + REPLAY_LAG.
REPLAY_LAG = timedelta(hours=12)


def _sim_now(truth: Path) -> datetime | None:
    sim = truth / "sim.json"
    if not sim.is_file():
        return None
    text = json.loads(sim.read_text(encoding="utf-8")).get("now")
    return settings.parse_now(text) + REPLAY_LAG if text else None


def main(args) -> int:
    landing = Path(getattr(args, "landing", None) or settings.landing_root())
    wh = Path(getattr(args, "warehouse", None) or settings.warehouse_path())
    truth = Path(getattr(args, "truth", None) or landing / "_truth")
    raw_now = getattr(args, "now", None)
    if raw_now is None and not settings.env("TICKET_DQ_NOW"):
        raw_now = _sim_now(truth)  # replaying a simulated landing area: its own clock
    now = settings.parse_now(raw_now) if isinstance(raw_now, str) else (raw_now or settings.now())
    seed = getattr(args, "seed", None)
    seed = 7 if seed is None else int(seed)
    try:
        result = run(landing, wh, truth, now, seed)
    except FileNotFoundError as exc:
        print(f"simulate handlers: {exc}")
        return 2
    print(f"simulate handlers (seed {seed}, now {now:%Y-%m-%d %H:%M:%S}): {result['issues']} issues judged "
          f"({result.get('true_fault', 0)} true faults, {result.get('not_a_fault', 0)} not, "
          f"{result.get('never_reviewed', 0)} left unreviewed); {result['events']} new events "
          f"{result['by_status']} -> {result['file'] or 'nothing to deliver'}")
    return 0
