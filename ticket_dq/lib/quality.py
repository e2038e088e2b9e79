"""Score emitted issues against the simulator's truth file (ticket_dq/simulate/TRUTH.md, "How detection
is scored"): per category and overall precision and recall, plus the naive order-vs-partner baseline.

An emitted issue is a true positive when a ``kind=fault`` row has the same category and source and the
same key for its granularity (show-level: cinema + start within +-5 min, HALL_OVERLAP either show;
ORDER_SHOW_* / SEAT_DOUBLE_SOLD / ORDER_NOT_ISSUED: order_id; ORDER_OUTCOME_SPIKE: rule and the hour of the
business key within the fault's detail.hour_from .. hour_to (and the show, for a show-level fault);
PICKUP_CODE_*: pickup_code; FEED_* / VALIDATION_FAILED:
business_date (and rule when the fault has one); UNMAPPED_ENTITY: platform id in the business key).
SUPPRESSED issues are not alerts and are not scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from ticket_dq.lib import markdown

_MATCH = """
  f.category = e.category AND f.source = e.source AND (
    (f.category LIKE 'SHOW\\_%' ESCAPE '\\' AND f.cinema_code = e.cinema_code
       AND abs(date_diff('second', f.show_start_time, e.show_start_time)) <= 300)
 OR (f.category = 'HALL_OVERLAP' AND f.cinema_code = e.cinema_code
       AND (abs(date_diff('second', f.show_start_time, e.show_start_time)) <= 300
            OR abs(date_diff('second', f.other_start, e.show_start_time)) <= 300))
 OR (f.category IN ('ORDER_SHOW_CHANGED', 'ORDER_SHOW_CANCELLED', 'SEAT_DOUBLE_SOLD', 'ORDER_NOT_ISSUED')
       AND f.order_id = e.order_id)
 OR (f.category = 'ORDER_OUTCOME_SPIKE' AND f.rule = e.rule
       AND TRY_CAST(substr(e.business_key, 1, 16) AS TIMESTAMP) BETWEEN f.hour_from AND f.hour_to
       AND (f.cinema_code IS NULL OR (f.cinema_code = e.cinema_code
            AND abs(date_diff('second', f.show_start_time, e.show_start_time)) <= 300)))
 OR (f.category LIKE 'PICKUP\\_CODE\\_%' ESCAPE '\\' AND f.pickup_code = e.pickup_code)
 OR (f.category LIKE 'FEED\\_%' ESCAPE '\\' AND f.business_date = e.business_date)
 OR (f.category = 'VALIDATION_FAILED' AND f.business_date = e.business_date
       AND (f.rule IS NULL OR e.rule IS NULL OR f.rule = e.rule))
 OR (f.category = 'UNMAPPED_ENTITY' AND contains(e.business_key, f.entity_id)))
"""


def load_truth(con: duckdb.DuckDBPyConnection, faults_csv: str | Path) -> None:
    """TEMP table truth_faults from ``_truth/faults.csv`` (kind=fault rows), with the keys scoring needs."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE truth_all AS
           SELECT * FROM read_csv(?, header = true, all_varchar = true)""", [str(faults_csv)])
    con.execute(
        """CREATE OR REPLACE TEMP TABLE truth_faults AS
           SELECT fault_id, kind, category, nullif(rule, '') AS rule, source, nullif(cinema_code, '') AS cinema_code,
                  TRY_CAST(business_date AS DATE) AS business_date,
                  TRY_CAST(nullif(show_start_time, '') AS TIMESTAMP) AS show_start_time,
                  nullif(order_id, '') AS order_id, nullif(pickup_code, '') AS pickup_code,
                  TRY_CAST(json_extract_string(detail, '$.overlaps_show_start') AS TIMESTAMP) AS other_start,
                  coalesce(json_extract_string(detail, '$.platform_cinema_id'),
                           json_extract_string(detail, '$.platform_film_id')) AS entity_id,
                  TRY_CAST(json_extract_string(detail, '$.hour_from') AS TIMESTAMP) AS hour_from,
                  TRY_CAST(json_extract_string(detail, '$.hour_to') AS TIMESTAMP) AS hour_to
           FROM truth_all WHERE kind = 'fault'""")


@dataclass
class Score:
    rows: list[dict]  # per category: category, faults, emitted, tp_emitted, tp_faults, precision, recall
    overall: dict

    def markdown(self) -> str:
        def share(v):
            return "-" if v is None else f"{v:.3f}"

        return markdown.table(("category", "faults", "emitted", "precision", "recall"),
                              [(r["category"], r["faults"], r["emitted"], share(r["precision"]), share(r["recall"]))
                               for r in self.rows + [dict(self.overall, category="**overall**")]],
                              numeric=(1, 2, 3, 4))


def score(con: duckdb.DuckDBPyConnection, emitted_sql: str, faults_csv: str | Path) -> Score:
    """Score the issues selected by ``emitted_sql`` (columns: category, rule, source, cinema_code,
    business_date, show_start_time, order_id, pickup_code, business_key; one row per emitted issue)."""
    load_truth(con, faults_csv)
    con.execute(f"CREATE OR REPLACE TEMP TABLE q_emitted AS SELECT row_number() OVER () AS eid, * FROM ({emitted_sql})")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE q_pairs AS
                    SELECT e.eid, f.fault_id FROM q_emitted e JOIN truth_faults f ON {_MATCH}""")
    rows = con.execute("""
        WITH cats AS (SELECT category FROM truth_faults UNION SELECT category FROM q_emitted),
        f AS (SELECT category, count(*) AS faults,
                     count(*) FILTER (WHERE fault_id IN (SELECT fault_id FROM q_pairs)) AS tp_faults
              FROM truth_faults GROUP BY ALL),
        e AS (SELECT category, count(*) AS emitted,
                     count(*) FILTER (WHERE eid IN (SELECT eid FROM q_pairs)) AS tp_emitted
              FROM q_emitted GROUP BY ALL)
        SELECT c.category, coalesce(faults, 0), coalesce(emitted, 0), coalesce(tp_emitted, 0), coalesce(tp_faults, 0)
        FROM cats c LEFT JOIN f USING (category) LEFT JOIN e USING (category) ORDER BY c.category""").fetchall()
    out = []
    for cat, faults, emitted, tpe, tpf in rows:
        out.append({"category": cat, "faults": faults, "emitted": emitted, "tp_emitted": tpe, "tp_faults": tpf,
                    "precision": (tpe / emitted) if emitted else None, "recall": (tpf / faults) if faults else None})
    tot = {k: sum(r[k] for r in out) for k in ("faults", "emitted", "tp_emitted", "tp_faults")}
    tot["precision"] = tot["tp_emitted"] / tot["emitted"] if tot["emitted"] else None
    tot["recall"] = tot["tp_faults"] / tot["faults"] if tot["faults"] else None
    return Score(rows=out, overall=tot)


def misses(con: duckdb.DuckDBPyConnection) -> tuple[list, list]:
    """After ``score``: (faults not detected, emitted issues matching no fault) for diagnosis."""
    fn = con.execute("SELECT * FROM truth_faults WHERE fault_id NOT IN (SELECT fault_id FROM q_pairs) ORDER BY 1").fetchall()
    fp = con.execute("SELECT * FROM q_emitted WHERE eid NOT IN (SELECT eid FROM q_pairs) ORDER BY category").fetchall()
    return fn, fp


# The comparison a team writes first: the order's show code looked up in the partner's latest snapshot,
# any difference (or absence) is an alert. No competitor check, no re-issued-code recognition.
NAIVE_ORDER_SQL = """
SELECT CASE WHEN p.show_code IS NULL OR p.show_status = 'CANCELLED' THEN 'ORDER_SHOW_CANCELLED'
            ELSE 'ORDER_SHOW_CHANGED' END AS category, NULL AS rule, o.partner_code AS source, o.cinema_code,
       CAST(o.show_start_time - INTERVAL 6 HOUR AS DATE) AS business_date, o.show_start_time, o.order_id,
       NULL AS pickup_code, o.order_id AS business_key
FROM cur.order_state o
LEFT JOIN cur.partner_schedule p ON p.source = o.partner_code AND p.cinema_code = o.cinema_code AND p.show_code = o.show_code
WHERE o.status IN ('PAID', 'ISSUED', 'PRINTED') AND o.show_start_time >= (SELECT now FROM q_clock)
  AND (p.show_code IS NULL OR p.show_status = 'CANCELLED' OR p.start_time <> o.show_start_time
       OR dq_hall_key(p.hall_name) IS DISTINCT FROM dq_hall_key(o.hall_name) OR p.film_code IS DISTINCT FROM o.film_code)
"""


def naive_order_false_alerts(con: duckdb.DuckDBPyConnection, now, faults_csv: str | Path) -> dict:
    """Score the naive order comparison (needs cur.order_state and cur.partner_schedule on ``con``):
    {"emitted", "true", "false"} for ORDER_SHOW_* only."""
    con.execute("CREATE OR REPLACE TEMP TABLE q_clock AS SELECT CAST(? AS TIMESTAMP) AS now", [now])
    sc = score(con, NAIVE_ORDER_SQL, faults_csv)
    rows = [r for r in sc.rows if r["category"].startswith("ORDER_SHOW_")]
    emitted = sum(r["emitted"] for r in rows)
    true = sum(r["tp_emitted"] for r in rows)
    return {"emitted": emitted, "true": true, "false": emitted - true,
            "faults_found": sum(r["tp_faults"] for r in rows), "faults": sum(r["faults"] for r in rows)}
