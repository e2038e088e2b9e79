"""The short text summary `ticket-dq materialize` prints after a run: what the warehouse now holds."""

from __future__ import annotations

import duckdb

from ticket_dq.lib import outbox


def _table_counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    tables = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema IN ('meta', 'raw', 'ref', 'map', 'cand', 'dq') AND table_type = 'BASE TABLE' "
        "ORDER BY 1"
    ).fetchall()
    # Table names come from the catalog, not from data, so quoting them into SQL is safe.
    return [(name, con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for (name,) in tables]


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    ).fetchone()[0] > 0


def summary_text(con: duckdb.DuckDBPyConnection) -> str:
    """Rows per table, files ingested, rows quarantined and issues by category, as plain text."""
    if not _exists(con, "meta.ingested_files"):
        return "The warehouse has no tables yet."
    lines: list[str] = []
    lines.append("Rows per table")
    for name, n in _table_counts(con):
        lines.append(f"  {name:<32} {n:>12,}")

    files = con.execute(
        "SELECT status, count(*), sum(rows_manifest), sum(rows_ingested), sum(rows_quarantined) "
        "FROM meta.ingested_files GROUP BY status ORDER BY status"
    ).fetchall()
    lines.append("Files delivered (meta.ingested_files)")
    for status, n, manifest, ingested, quarantined in files:
        lines.append(f"  {status:<10} files={n:,} rows_manifest={manifest or 0:,} "
                     f"ingested={ingested or 0:,} quarantined={quarantined or 0:,}")
    off = con.execute(
        "SELECT count(*) FROM meta.ingested_files WHERE rows_manifest <> rows_ingested + rows_quarantined"
    ).fetchone()[0]
    lines.append(f"  conservation (delivered = ingested + quarantined): "
                 f"{'holds for every file' if off == 0 else f'BROKEN for {off} file(s)'}")
    q = con.execute("SELECT count(*), count(DISTINCT ingest_file) FROM raw.quarantine").fetchone()
    lines.append(f"Quarantined: {q[0]:,} rows from {q[1]:,} files (raw.quarantine)")

    if not _exists(con, "dq.issues"):
        return "\n".join(lines)
    issues = con.execute(
        "SELECT category, count(*) FILTER (WHERE status NOT IN ('RESOLVED', 'SUPPRESSED', 'FALSE_POSITIVE')), "
        "count(*) FILTER (WHERE status = 'SUPPRESSED'), count(*) FILTER (WHERE status = 'RESOLVED'), count(*) "
        "FROM dq.issues GROUP BY category ORDER BY category"
    ).fetchall()
    lines.append("Issues by category (dq.issues)        open  suppressed  resolved   total")
    for category, open_, suppressed, resolved, total in issues:
        lines.append(f"  {category:<34} {open_:>6,} {suppressed:>11,} {resolved:>9,} {total:>7,}")
    if not issues:
        lines.append("  (none)")
    lines.append(outbox.summary_text(con))
    if _exists(con, "dq.metrics_daily"):
        lines.append(_metrics_text(con))
    return "\n".join(lines)


def _metrics_text(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(
        "SELECT metric_date, alerts, confirmed, false_positive, complaint_only, resolved, accuracy, recall, "
        "closed_loop_rate, q_score, data_complaint_ratio FROM dq.metrics_daily ORDER BY metric_date"
    ).fetchall()
    lines = ["Metrics (dq.metrics_daily)   alerts confirmed  false+  compl.only resolved  accuracy recall  "
             "closed  Q      data-compl."]

    def f(v):
        return "    –" if v is None else f"{v:.3f}"

    for d, alerts, conf, fp, conly, res, acc, rec, clr, q, dcr in rows:
        lines.append(f"  {str(d):<27}{alerts:>6} {conf:>9} {fp:>7} {conly:>11} {res:>8}  {f(acc):>8} {f(rec):>6} "
                     f"{f(clr):>7} {f(q):>6} {f(dcr):>11}")
    if not rows:
        lines.append("  (no days with alerts or complaints yet)")
    return "\n".join(lines)
