"""Ingestion assets: one per landing feed (raw.<feed>) and one per reference table (ref.<name>).

Thin wiring over ``ticket_dq.lib.ingest``: the landing sensor (sensors.py) or a materialization
triggers them; each run ingests every delivered file of its feed not yet in the ledger
``meta.ingested_files``, so a duplicate run is harmless. Raw assets carry no automation condition:
they are driven by files arriving, and downstream assets react to them eagerly.
"""

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs import keys
from ticket_dq.defs.metadata import inline_table, layer, nothing_new, table_metadata
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


def _files_table(report: ingest.FeedReport) -> dg.MetadataValue:
    return inline_table(("file", "status", "encoding", "manifest", "ingested", "quarantined", "reason"),
                        [(f.file, f.status, f.encoding, f.rows_manifest, f.rows_ingested, f.rows_quarantined,
                          f.reason) for f in report.files])


def _latest_delivery(con, feed: str):
    return con.execute("SELECT max(ingested_at) FROM meta.ingested_files WHERE feed = ?", [feed]).fetchone()[0]


def _raw_asset(feed: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=keys.raw(feed),
        group_name=GROUP,
        pool=DUCKDB_POOL,
        **layer(keys.raw(feed)),
        description=(
            f"Raw layer, table `raw.{feed}`: {FEED_DESCRIPTIONS[feed]} Every delivered landing file of the feed "
            f"(`<landing>/{feed}/<source>/<date>/`, manifest present) lands once, typed per the contract, with "
            f"lineage (source, ingest_file, ingest_line, ingested_at, ingest_run_id, extras). Unparseable rows "
            f"go to `raw.quarantine`; every file gets one row in `meta.ingested_files`."
        ),
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.get_connection() as con:
            report = ingest.ingest_feed(con, settings.landing_root(), feed, context.run_id, settings.now())
            table = table_metadata(con, keys.raw(feed))
            latest = _latest_delivery(con, feed)
        for f in report.rejected:
            context.log.warning(f"{f.file} rejected: {f.reason}")
        for f in report.ingested:
            if f.encoding_suspect:
                context.log.warning(f"{f.file}: {f.reason}")
        for p in report.problems:
            context.log.warning(f"landing {p.kind}: {p.detail}")
        if not report.files and not report.problems:
            # Nothing landed since the last run: say so, with the table as it stands, not a row of zeros.
            return dg.MaterializeResult(metadata={**nothing_new(latest, "file ingested"),
                                                  "files_already_in_ledger": report.already_known, **table})
        return dg.MaterializeResult(metadata={
            "summary": dg.MetadataValue.text(
                f"{len(report.ingested)} file(s) ingested ({report.rows_ingested} rows), "
                f"{len(report.rejected)} rejected, {report.rows_quarantined} row(s) quarantined"),
            "files": _files_table(report),
            "files_ingested": len(report.ingested),
            "files_rejected": len(report.rejected),
            "redeliveries": len(report.redeliveries),
            "landing_problems": dg.MetadataValue.json([f"{p.kind}: {p.detail}" for p in report.problems]),
            "files_already_in_ledger": report.already_known,
            "rows_ingested": report.rows_ingested,
            "rows_quarantined": report.rows_quarantined,
            "encodings_seen": ", ".join(report.encodings) or "-",
            **table,
        })

    return _asset


def _ref_asset(name: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=keys.ref(name),
        group_name=GROUP,
        pool=DUCKDB_POOL,
        **layer(keys.ref(name)),
        description=(
            f"Reference table `ref.{name}`: {REFERENCE_DESCRIPTIONS[name]} Full replacement from "
            f"`<landing>/reference/{name}.csv`, reloaded only when the file's sha256 changes (`meta.reference_files`)."
        ),
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.get_connection() as con:
            report = ingest.ingest_reference(con, settings.landing_root(), name, context.run_id, settings.now())
            table = table_metadata(con, keys.ref(name))
            loaded = con.execute("SELECT max(loaded_at) FROM meta.reference_files WHERE name = ?", [name]).fetchone()[0]
        if report.status == "REJECTED":
            context.log.warning(f"reference/{name}.csv rejected, previous data kept: {report.reason}")
        lead = (nothing_new(loaded, f"load of {report.file}") if report.status == "UNCHANGED" else
                {"summary": dg.MetadataValue.text(f"{report.status}: {report.reason or report.file or '-'}")})
        return dg.MaterializeResult(metadata={
            **lead,
            "status": report.status,
            "file": report.file or "-",
            "sha256": report.sha256 or "-",
            "encoding": report.encoding or "-",
            "rows_loaded": report.rows_loaded,
            "rows_quarantined": report.rows_quarantined,
            "reason": report.reason or "-",
            **table,
        })

    return _asset


raw_assets = [_raw_asset(feed) for feed in contract.FEEDS]
reference_assets = [_ref_asset(name) for name in contract.REFERENCE]
