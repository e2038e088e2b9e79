"""How long a fault waited: first evidence landed -> first detected -> first notification.

Per issue (``dq.issue_latency``, one row per issue that is not SUPPRESSED):

- ``evidence_landed_at``: delivery time (manifest ``snapshot_ts``) of the earliest file of the issue's
  source in the ingestion wave that led to its first detection (the ledger's ``ingested_at`` values are
  the waves: the files ingested after the previous wave and up to ``first_detected_at``). When that wave
  holds no file of the source — the evidence was completed by another source, e.g. the crawl that
  confirms a partner's change — the earliest file of the wave. NULL for FEED_LATE and when the wave
  is empty: absence has no landing time.
- ``first_detected_at`` (dq.issues), ``first_notified_at``: first SENT ``new`` notification.
- delays in seconds: detect = detected - landed, notify = notified - detected, total = notified - landed.

Per day of first detection and category (``dq.detection_delay``, plus category ``*`` for all): issues,
how many were notified, p50 / p95 of each delay. All times are the effective clock's (settings.now()
at ingestion, detection and dispatch), so a replay measures simulated time and production wall time.
"""

from __future__ import annotations

import html

import duckdb

LATENCY_TABLE = "dq.issue_latency"
DELAY_TABLE = "dq.detection_delay"

_ISSUE_LATENCY_SQL = """
CREATE OR REPLACE TEMP TABLE _lat_waves AS
SELECT DISTINCT ingested_at AS t FROM meta.ingested_files;
CREATE OR REPLACE TEMP TABLE _lat_issue AS
SELECT i.issue_id, i.category, i.source, i.severity, i.team, i.first_detected_at,
       (SELECT max(t) FROM _lat_waves WHERE t <= i.first_detected_at) AS wave_end
FROM dq.issues i WHERE i.status <> 'SUPPRESSED';
CREATE OR REPLACE TEMP TABLE _lat_wave AS
SELECT issue_id, wave_end, (SELECT max(t) FROM _lat_waves WHERE t < wave_end) AS wave_start
FROM _lat_issue;
CREATE OR REPLACE TEMP TABLE _lat_landed AS
SELECT li.issue_id,
       CASE WHEN li.category <> 'FEED_LATE' THEN  -- a silence has no landing time
         coalesce(min(f.snapshot_ts) FILTER (WHERE f.source = li.source), min(f.snapshot_ts)) END AS evidence_landed_at
FROM _lat_issue li JOIN _lat_wave w USING (issue_id)
LEFT JOIN meta.ingested_files f
  ON f.ingested_at <= w.wave_end AND (w.wave_start IS NULL OR f.ingested_at > w.wave_start)
GROUP BY li.issue_id, li.category;
CREATE OR REPLACE TEMP TABLE _lat_sent AS
SELECT issue_id, min(sent_at) AS first_notified_at FROM dq.notifications
WHERE status = 'SENT' AND occurrence = 'new' GROUP BY issue_id;
CREATE OR REPLACE TEMP TABLE _lat_next AS
SELECT li.issue_id, li.category, li.source, li.severity, li.team,
       CAST(li.first_detected_at AS DATE) AS detected_day,
       l.evidence_landed_at, li.first_detected_at, s.first_notified_at,
       epoch(li.first_detected_at - l.evidence_landed_at) AS detect_delay_s,
       epoch(s.first_notified_at - li.first_detected_at) AS notify_delay_s,
       epoch(s.first_notified_at - l.evidence_landed_at) AS total_delay_s
FROM _lat_issue li LEFT JOIN _lat_landed l USING (issue_id) LEFT JOIN _lat_sent s USING (issue_id);
"""

_DELAY_SQL = """
CREATE OR REPLACE TEMP TABLE _delay_next AS
SELECT detected_day AS metric_date, coalesce(category, '*') AS category, count(*) AS issues,
       count(first_notified_at) AS notified,
       quantile_cont(detect_delay_s, 0.5) AS p50_detect_s, quantile_cont(detect_delay_s, 0.95) AS p95_detect_s,
       quantile_cont(notify_delay_s, 0.5) AS p50_notify_s, quantile_cont(notify_delay_s, 0.95) AS p95_notify_s,
       quantile_cont(total_delay_s, 0.5) AS p50_total_s, quantile_cont(total_delay_s, 0.95) AS p95_total_s
FROM {latency}
GROUP BY GROUPING SETS ((detected_day, category), (detected_day))
"""


def _replace(con: duckdb.DuckDBPyConnection, table: str, temp: str) -> int:
    """Replace ``table`` with the temp table's rows in one transaction (readers see old or new)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {temp}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _ensure_inputs(con: duckdb.DuckDBPyConnection) -> None:
    from ticket_dq.lib import outbox  # the outbox owns dq.notifications' shape

    outbox.ensure_table(con)


def build_issue_latency(con: duckdb.DuckDBPyConnection) -> int:
    _ensure_inputs(con)
    for stmt in _ISSUE_LATENCY_SQL.split(";"):
        if stmt.strip():
            con.execute(stmt)
    return _replace(con, LATENCY_TABLE, "_lat_next")


def build_detection_delay(con: duckdb.DuckDBPyConnection) -> int:
    con.execute(_DELAY_SQL.format(latency=LATENCY_TABLE))
    return _replace(con, DELAY_TABLE, "_delay_next")


def _exists(con, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [schema, name]).fetchone()[0] > 0


def delay_rows(con: duckdb.DuckDBPyConnection, day=None) -> list[tuple]:
    """(day, category, issues, notified, p50/p95 detect, notify, total) rows, '*' first per day."""
    if not _exists(con, DELAY_TABLE):
        return []
    where = "WHERE metric_date = $d" if day is not None else ""
    return con.execute(f"""SELECT metric_date, category, issues, notified, p50_detect_s, p95_detect_s,
                                  p50_notify_s, p95_notify_s, p50_total_s, p95_total_s
                           FROM {DELAY_TABLE} {where}
                           ORDER BY metric_date, category <> '*', category""",
                       {"d": day} if day is not None else None).fetchall()


def fmt_s(v) -> str:
    if v is None:
        return "–"
    v = float(v)
    return f"{v:.0f}s" if v < 120 else f"{v / 60:.0f}m" if v < 7200 else f"{v / 3600:.1f}h"


def markdown(rows: list[tuple]) -> str:
    lines = ["| day | category | issues | notified | detect p50 / p95 | notify p50 / p95 | total p50 / p95 |",
             "| --- | --- | ---: | ---: | --- | --- | --- |"]
    for d, c, n, sent, d50, d95, n50, n95, t50, t95 in rows:
        lines.append(f"| {d} | {c} | {n} | {sent} | {fmt_s(d50)} / {fmt_s(d95)} | {fmt_s(n50)} / {fmt_s(n95)} "
                     f"| {fmt_s(t50)} / {fmt_s(t95)} |")
    return "\n".join(lines)


def html_section(con: duckdb.DuckDBPyConnection, day) -> str:
    """The report's section: per category, how long faults first detected on ``day`` waited."""
    rows = delay_rows(con, day)
    if not rows:
        return ""
    head = ("category", "issues", "notified", "evidence → detected p50 / p95", "detected → notified p50 / p95",
            "evidence → notified p50 / p95")
    out = [f"<h2>How long faults waited (first detected {html.escape(str(day))})</h2>",
           "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for _, c, n, sent, d50, d95, n50, n95, t50, t95 in rows:
        cells = (c if c != "*" else "all categories", n, sent, f"{fmt_s(d50)} / {fmt_s(d95)}",
                 f"{fmt_s(n50)} / {fmt_s(n95)}", f"{fmt_s(t50)} / {fmt_s(t95)}")
        out.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)
