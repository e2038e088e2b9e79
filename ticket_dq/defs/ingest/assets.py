"""Ingestion assets: one per landing feed (raw.<feed>) and one per reference table (ref.<name>).

Thin wiring over ``ticket_dq.lib.ingest``: the landing sensor (sensors.py) or a materialization
triggers them; each run ingests every delivered file of its feed not yet in the ledger
``meta.ingested_files``, so a duplicate run is harmless. Raw assets carry no automation condition:
they are driven by files arriving, and downstream assets react to them eagerly.
"""

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs import keys
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.lib import contract, ingest

GROUP = "ingest"

FEED_DESCRIPTIONS = {
    "partner_schedule": "Partner schedule snapshots (next 3 days of shows per partner, every 30-60 min).",
    "competitor_schedule": "Competitor platform schedules crawled as JSON Lines; price_fen from price_yuan, "
                           "start_ts = show_date + HH:MM (next day before 06:00).",
    "orders": "Order state-change events (one row per event; mobile is personal data).",
    "pickup_codes": "Pickup codes handed to channel partners, including bulk allocations.",
    "complaints": "Customer complaints by channel and category.",
    "issue_events": "Status changes issue handlers made to dq.issues rows.",
}
REFERENCE_DESCRIPTIONS = {
    "cinemas": "Cinema master data (8-digit national code, name, city, brand, status).",
    "cinema_aliases": "Source-specific cinema ids mapped to national cinema codes.",
    "films": "Film master data (12-digit national code per version, name, language, duration).",
}

RAW_KEYS, REF_KEYS = keys.RAW_KEYS, keys.REF_KEYS


def _md_files(report: ingest.FeedReport, limit: int = 50) -> str:
    rows = ["| file | status | encoding | manifest | ingested | quarantined | reason |",
            "|---|---|---|---:|---:|---:|---|"]
    for f in report.files[:limit]:
        reason = (f.reason or "").replace("|", "\\|")
        rows.append(f"| {f.file} | {f.status} | {f.encoding or ''} | {f.rows_manifest} | {f.rows_ingested} | "
                    f"{f.rows_quarantined} | {reason} |")
    if len(report.files) > limit:
        rows.append(f"| … {len(report.files) - limit} more files | | | | | | |")
    if not report.files:
        rows.append("| (no new files) | | | | | | |")
    return "\n".join(rows)


def _raw_asset(feed: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=keys.raw(feed),
        group_name=GROUP,
        pool=DUCKDB_POOL,
        kinds={"duckdb"},
        description=(
            f"raw.{feed}: {FEED_DESCRIPTIONS[feed]} Every delivered landing file of the feed "
            f"(<landing>/{feed}/<source>/<date>/, manifest present) lands once, typed per the contract, with "
            f"lineage (source, ingest_file, ingest_line, ingested_at, ingest_run_id, extras). Unparseable rows "
            f"go to raw.quarantine; every file gets one row in meta.ingested_files."
        ),
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.get_connection() as con:
            report = ingest.ingest_feed(con, settings.landing_root(), feed, context.run_id, settings.now())
            total = con.execute(f"SELECT count(*) FROM {contract.FEEDS[feed].table}").fetchone()[0]
        for f in report.rejected:
            context.log.warning(f"{f.file} rejected: {f.reason}")
        for f in report.ingested:
            if f.encoding_suspect:
                context.log.warning(f"{f.file}: {f.reason}")
        for p in report.problems:
            context.log.warning(f"landing {p.kind}: {p.detail}")
        return dg.MaterializeResult(metadata={
            "files_ingested": len(report.ingested),
            "files_rejected": len(report.rejected),
            "redeliveries": len(report.redeliveries),
            "landing_problems": dg.MetadataValue.json([f"{p.kind}: {p.detail}" for p in report.problems]),
            "files_already_in_ledger": report.already_known,
            "rows_ingested": report.rows_ingested,
            "rows_quarantined": report.rows_quarantined,
            "encodings_seen": ", ".join(report.encodings) or "-",
            "files": dg.MetadataValue.md(_md_files(report)),
            "dagster/row_count": total,
        })

    return _asset


def _ref_asset(name: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=keys.ref(name),
        group_name=GROUP,
        pool=DUCKDB_POOL,
        kinds={"duckdb"},
        description=(
            f"ref.{name}: {REFERENCE_DESCRIPTIONS[name]} Full replacement from <landing>/reference/{name}.csv, "
            f"reloaded only when the file's sha256 changes (meta.reference_files)."
        ),
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.get_connection() as con:
            report = ingest.ingest_reference(con, settings.landing_root(), name, context.run_id, settings.now())
            total = con.execute(f"SELECT count(*) FROM {contract.reference_table(name)}").fetchone()[0]
        if report.status == "REJECTED":
            context.log.warning(f"reference/{name}.csv rejected, previous data kept: {report.reason}")
        return dg.MaterializeResult(metadata={
            "status": report.status,
            "file": report.file or "-",
            "sha256": report.sha256 or "-",
            "encoding": report.encoding or "-",
            "rows_loaded": report.rows_loaded,
            "rows_quarantined": report.rows_quarantined,
            "reason": report.reason or "-",
            "dagster/row_count": total,
        })

    return _asset


raw_assets = [_raw_asset(feed) for feed in contract.FEEDS]
reference_assets = [_ref_asset(name) for name in contract.REFERENCE]
