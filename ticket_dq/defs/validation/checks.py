"""GX suites as Dagster asset checks: one multi-asset check per raw/reference table, with two specs.

- ``<TABLE>_KEYS_VALID`` — ERROR, blocking: key uniqueness, null keys, key formats (parse level).
  Comparison joins on these keys; bad keys would raise false alerts, so downstream must not run.
- ``<TABLE>_RULES_VALID`` — WARN, non-blocking: ranges, value sets, consistency, schema drift.
  The rows are still usable; the violations become VALIDATION_FAILED issues instead.
Both specs come from one GX run (one op), so a downstream asset that waits for the blocking check
also sees the stored WARN results. The check writes dq.validation_results, hence pool="duckdb".
"""

import json

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.metadata import inline_table
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.lib.validation.suites import SUITES
from ticket_dq.lib.validation import Suite, SuiteOutcome, run_suite, store
from ticket_dq.lib.validation.runner import ERROR, WARN

# Check names, UPPER_SNAKE: (ERROR blocking check, WARN check) per table.
PARTNER_SCHEDULE_KEYS_VALID, PARTNER_SCHEDULE_RULES_VALID = "PARTNER_SCHEDULE_KEYS_VALID", "PARTNER_SCHEDULE_RULES_VALID"
COMPETITOR_SCHEDULE_KEYS_VALID, COMPETITOR_SCHEDULE_RULES_VALID = "COMPETITOR_SCHEDULE_KEYS_VALID", "COMPETITOR_SCHEDULE_RULES_VALID"
ORDERS_KEYS_VALID, ORDERS_RULES_VALID = "ORDERS_KEYS_VALID", "ORDERS_RULES_VALID"
PICKUP_CODES_KEYS_VALID, PICKUP_CODES_RULES_VALID = "PICKUP_CODES_KEYS_VALID", "PICKUP_CODES_RULES_VALID"
COMPLAINTS_KEYS_VALID, COMPLAINTS_RULES_VALID = "COMPLAINTS_KEYS_VALID", "COMPLAINTS_RULES_VALID"
ISSUE_EVENTS_KEYS_VALID, ISSUE_EVENTS_RULES_VALID = "ISSUE_EVENTS_KEYS_VALID", "ISSUE_EVENTS_RULES_VALID"
CINEMAS_KEYS_VALID, CINEMAS_RULES_VALID = "CINEMAS_KEYS_VALID", "CINEMAS_RULES_VALID"
CINEMA_ALIASES_KEYS_VALID, CINEMA_ALIASES_RULES_VALID = "CINEMA_ALIASES_KEYS_VALID", "CINEMA_ALIASES_RULES_VALID"
FILMS_KEYS_VALID, FILMS_RULES_VALID = "FILMS_KEYS_VALID", "FILMS_RULES_VALID"

CHECK_NAMES: dict[str, tuple[str, str]] = {
    "raw.partner_schedule": (PARTNER_SCHEDULE_KEYS_VALID, PARTNER_SCHEDULE_RULES_VALID),
    "raw.competitor_schedule": (COMPETITOR_SCHEDULE_KEYS_VALID, COMPETITOR_SCHEDULE_RULES_VALID),
    "raw.orders": (ORDERS_KEYS_VALID, ORDERS_RULES_VALID),
    "raw.pickup_codes": (PICKUP_CODES_KEYS_VALID, PICKUP_CODES_RULES_VALID),
    "raw.complaints": (COMPLAINTS_KEYS_VALID, COMPLAINTS_RULES_VALID),
    "raw.issue_events": (ISSUE_EVENTS_KEYS_VALID, ISSUE_EVENTS_RULES_VALID),
    "ref.cinemas": (CINEMAS_KEYS_VALID, CINEMAS_RULES_VALID),
    "ref.cinema_aliases": (CINEMA_ALIASES_KEYS_VALID, CINEMA_ALIASES_RULES_VALID),
    "ref.films": (FILMS_KEYS_VALID, FILMS_RULES_VALID),
}


def asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


def _failing_table(outcome: SuiteOutcome, severity: str) -> dg.MetadataValue:
    failed = outcome.failed(severity)
    if not failed:
        return dg.MetadataValue.text("All expectations passed." if outcome.results else "No new rows to validate.")
    why = {rule.name: rule.why for rule in SUITES[outcome.table].rules}
    rows = []
    for r in failed:
        if r.exception:
            rows.append((r.name, "error", r.element_count, r.exception[:120], why.get(r.name, "")))
            continue
        keys = "; ".join(", ".join(f"{k}={v}" for k, v in s.items()) for s in r.sample_keys[:3])
        rows.append((r.name, r.unexpected_count, r.element_count, keys, why.get(r.name, "")))
    return inline_table(("expectation", "unexpected", "of rows", "sample keys", "why it matters"), rows)


def _what_failed(failed: list[tuple[str, object]], drift_note: str = "") -> str:
    """The lead of a failed check's description: what failed first, then the pass count."""
    parts = [f"{name} ({n if n is not None else 'error'} rows)" for name, n in failed]
    if drift_note and not parts:
        parts = ["schema drift / rejected files"]
    return "FAILED " + ", ".join(parts)


def _result(outcome: SuiteOutcome, severity: str, check_name: str) -> dg.AssetCheckResult:
    rs = [r for r in outcome.results if r.severity == severity]
    failed = outcome.failed(severity)
    metadata: dict = {
        "success_percent": dg.MetadataValue.float(outcome.success_percent(severity)),
        "element_count": dg.MetadataValue.int(outcome.element_count),
        "files_validated": dg.MetadataValue.int(len(outcome.files)),
        "expectations": dg.MetadataValue.int(len(rs)),
        "unexpected_counts": dg.MetadataValue.json({r.name: r.unexpected_count for r in rs}),
        "failing_expectations": _failing_table(outcome, severity),
        # Where the failures are: rule -> "source|feed date" -> failing rows.
        "unexpected_by_source_date": dg.MetadataValue.json({
            r.name: {f"{src}|{d}": n for (src, d), (n, _) in sorted(r.groups.items(), key=str)}
            for r in failed if r.groups}),
    }
    if outcome.docs_url:
        metadata["data_docs"] = dg.MetadataValue.url(outcome.docs_url)
    drift_note = ""
    if severity == WARN and outcome.table.startswith("raw."):
        # Schema drift and ledger facts of the batch (files are parsed by ingestion, lib/decode.py).
        metadata["drift_rows_with_extras"] = dg.MetadataValue.int(outcome.drift_rows)
        metadata["drift_extra_columns"] = dg.MetadataValue.json(outcome.drift_columns)
        metadata["rejected_files"] = dg.MetadataValue.json(outcome.rejected_files)
        metadata["quarantined_rows"] = dg.MetadataValue.int(outcome.quarantined_rows)
        if outcome.drift_rows or outcome.rejected_files:
            drift_note = (f"; schema drift: {outcome.drift_rows} row(s) with extra columns {outcome.drift_columns}, "
                          f"{len(outcome.rejected_files)} rejected file(s)")
    passed = not failed and not (severity == WARN and (outcome.drift_rows or outcome.rejected_files))
    desc = (f"{len(rs) - len(failed)}/{len(rs)} expectations passed on {outcome.element_count} new rows "
            f"of {outcome.table}") + drift_note
    if not passed:
        desc = f"{_what_failed([(r.name, r.unexpected_count) for r in failed], drift_note)}. {desc}"
    return dg.AssetCheckResult(
        check_name=check_name, asset_key=asset_key(outcome.table), passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if severity == ERROR else dg.AssetCheckSeverity.WARN,
        description=desc, metadata=metadata,
    )


def _restated(outcome: SuiteOutcome, latest: dict, severity: str, check_name: str) -> dg.AssetCheckResult:
    """No new rows this run: restate the latest validation of the table, so the UI keeps showing what
    the data that is there failed (a vacuous "0/0 passed" would hide an open failure)."""
    rows = latest["rows"]
    failed = [r for r in rows if not r[1]]
    table = []
    for name, _, elements, unexpected, samples in failed:
        keys = "; ".join(", ".join(f"{k}={v}" for k, v in s.items()) for s in json.loads(samples or "[]")[:3])
        table.append((name, unexpected if unexpected is not None else "error", elements, keys))
    return dg.AssetCheckResult(
        check_name=check_name, asset_key=asset_key(outcome.table), passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if severity == ERROR else dg.AssetCheckSeverity.WARN,
        description=(f"{_what_failed([(r[0], r[3]) for r in failed]) + ' in the ' if failed else 'no new rows; '}"
                     f"latest validation (run {latest['run_id'][:8]}, {latest['validated_at']}): "
                     f"{len(rows) - len(failed)}/{len(rows)} expectations passed"
                     f"{'; no new rows since' if failed else ''}"),
        metadata={
            "new_rows": dg.MetadataValue.int(0),
            "restated_from_run": dg.MetadataValue.text(latest["run_id"]),
            "restated_validated_at": dg.MetadataValue.text(str(latest["validated_at"])),
            "success_percent": dg.MetadataValue.float(100.0 * (len(rows) - len(failed)) / len(rows) if rows else 100.0),
            "unexpected_counts": dg.MetadataValue.json({r[0]: r[3] for r in rows}),
            "failing_expectations": (inline_table(("expectation", "unexpected", "of rows", "sample keys"), table)
                                     if failed else dg.MetadataValue.text("All expectations passed in the latest "
                                                                          "validation.")),
        },
    )


def build_check(suite: Suite) -> dg.AssetChecksDefinition:
    keys_name, rules_name = CHECK_NAMES[suite.table]
    key = asset_key(suite.table)

    @dg.multi_asset_check(
        name=f"validate_{suite.name}",
        specs=[
            # ERROR + blocking: bad keys cause false alerts in every comparison downstream.
            dg.AssetCheckSpec(keys_name, asset=key, blocking=True,
                              description="Keys unique, not null and well-formed (GX, ERROR, blocks downstream)."),
            # WARN: range/consistency failures are reported as VALIDATION_FAILED, not blocking.
            dg.AssetCheckSpec(rules_name, asset=key,
                              description="Ranges, value sets, consistency and schema drift (GX, WARN)."),
        ],
        pool=DUCKDB_POOL,
        description=f"Great Expectations suite of {suite.table} over the rows of files not yet validated.",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        with warehouse.get_connection() as con:
            outcome = run_suite(con, suite, run_id=context.run.run_id, validated_at=settings.now(),
                                docs_dir=settings.docs_dir())
            nothing_new = not outcome.files and not outcome.results and suite.table.startswith("raw.")
            latest = {sev: store.latest_results(con, suite.table, sev) for sev in (ERROR, WARN)} if nothing_new else {}
        for severity, name in ((ERROR, keys_name), (WARN, rules_name)):
            if latest.get(severity):
                yield _restated(outcome, latest[severity], severity, name)
            else:
                yield _result(outcome, severity, name)

    return _check


VALIDATION_CHECKS = [build_check(s) for s in SUITES.values()]
