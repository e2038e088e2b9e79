"""Run a suite of GX expectations over the not-yet-validated rows of one table, inside DuckDB.

Flow of ``run_suite``: pick the batch (files of the table not in ``dq.validated_files``), expose it
as a temp view with a ``feed_date`` column, validate it with GX through ``gx_duckdb`` (one open
connection, SQL pushed down to DuckDB), map every expectation result to counts per
(source, feed_date) and sample business keys, store them, mark the files validated, build Data Docs.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import great_expectations as gx
from great_expectations.expectations import Expectation, UnexpectedRowsExpectation

from ticket_dq.lib import warehouse
from ticket_dq.lib.masking import mask, mask_files, mask_value
from ticket_dq.lib.validation import gx_duckdb, store

log = logging.getLogger(__name__)

SAMPLE_KEYS = 5
ERROR = "ERROR"
WARN = "WARN"

# The <YYYY-MM-DD> folder of a landing path <feed>/<source>/<date>/<file> (CONTRACT.md section 1).
FEED_DATE_SQL = r"TRY_CAST(regexp_extract(r.ingest_file, '(\d{4}-\d{2}-\d{2})/[^/]+$', 1) AS DATE)"


@dataclass(frozen=True)
class Rule:
    """One expectation with its meaning. ``name`` is the rule name in results and issues."""

    name: str
    severity: str  # ERROR: blocks downstream (bad keys / unparseable values); WARN: range/consistency
    expectation: Expectation
    why: str = ""
    candidate: bool = True  # a failure becomes a VALIDATION_FAILED candidate


@dataclass(frozen=True)
class Suite:
    """The rules of one table. ``key`` columns identify a row in sample keys."""

    table: str  # schema.table
    key: tuple[str, ...]
    rules: tuple[Rule, ...]
    incremental: bool = True  # reference tables are full replacements: validate all of it each time

    @property
    def name(self) -> str:
        return self.table.replace(".", "_")

    @property
    def view(self) -> str:
        return f"vbatch_{self.name}"

    @property
    def index_columns(self) -> list[str]:
        cols = ["source", "feed_date", *self.key, "ingest_line"]
        return list(dict.fromkeys(cols))


def unexpected_rows(key: tuple[str, ...], condition: str, **kwargs) -> UnexpectedRowsExpectation:
    """An ``UnexpectedRowsExpectation`` selecting rows that violate ``condition`` (DuckDB SQL over the
    batch). It returns only lineage and key columns, so no personal data reaches results or docs.
    Regex rules use it with ``regexp_matches``: GX refuses regex expectations on the duckdb dialect."""
    cols = ", ".join(dict.fromkeys(["source", "feed_date", *key, "ingest_file", "ingest_line"]))
    return UnexpectedRowsExpectation(
        unexpected_rows_query=f"SELECT {cols} FROM {{batch}} WHERE {condition}", **kwargs
    )


@dataclass
class RuleResult:
    name: str
    severity: str
    expectation_type: str
    success: bool
    element_count: int
    unexpected_count: int | None
    sample_keys: list[dict]
    groups: dict[tuple[str | None, date | None], tuple[int, list[dict]]]  # (source, date) -> (n, samples)
    exception: str | None = None
    candidate: bool = True

    @property
    def unexpected_percent(self) -> float | None:
        if self.unexpected_count is None or not self.element_count:
            return None
        return 100.0 * self.unexpected_count / self.element_count


@dataclass
class SuiteOutcome:
    table: str
    run_id: str
    element_count: int
    files: list[str]
    results: list[RuleResult] = field(default_factory=list)
    docs_url: str | None = None
    drift_rows: int = 0
    drift_columns: list[str] = field(default_factory=list)
    rejected_files: list[dict] = field(default_factory=list)
    quarantined_rows: int = 0
    ledger_files: list[str] = field(default_factory=list)

    def failed(self, severity: str) -> list[RuleResult]:
        return [r for r in self.results if r.severity == severity and not r.success]

    def success_percent(self, severity: str | None = None) -> float:
        rs = [r for r in self.results if severity is None or r.severity == severity]
        return 100.0 if not rs else 100.0 * sum(r.success for r in rs) / len(rs)


def _jsonable(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _sample(row: dict, cols: list[str]) -> dict:
    return {c: _jsonable(row.get(c)) for c in cols if c in row and c not in ("source", "feed_date")}


def _prepare_batch(con: duckdb.DuckDBPyConnection, suite: Suite) -> list[str]:
    """Create the temp view of the batch; return the files it covers."""
    cols = {name for name, _, _ in warehouse.table_columns(con, suite.table)}
    has_source = "source" in cols
    src = "r.source" if has_source else "'reference'"
    date_sql = FEED_DATE_SQL if has_source else "CAST(NULL AS DATE)"
    # The batch's files with their feed date, computed once per file rather than once per row
    # and metric query (GX issues several queries over the view).
    new_only = f"WHERE ingest_file NOT IN (SELECT ingest_file FROM {store.FILES_TABLE} WHERE asset = ?)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE vfiles_{suite.name} AS
            SELECT ingest_file, {date_sql} AS feed_date
            FROM (SELECT DISTINCT ingest_file FROM {suite.table} {new_only if suite.incremental else ""}) r""",
        [suite.table] if suite.incremental else [])
    files = [r[0] for r in con.execute(f"SELECT ingest_file FROM vfiles_{suite.name} ORDER BY 1").fetchall()]
    # The source column of a raw table is selected as-is (r.*); reference tables get a constant.
    extra = "" if has_source else f", {src} AS source"
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {suite.view} AS
            SELECT r.*{extra}, f.feed_date FROM {suite.table} r
            JOIN vfiles_{suite.name} f ON r.ingest_file IS NOT DISTINCT FROM f.ingest_file""")
    return files


def _ure_groups(con, suite: Suite, exp: UnexpectedRowsExpectation) -> dict:
    """Exact per-(source, date) counts for an UnexpectedRowsExpectation: GX returns at most 200 of
    its rows, so the same query (ours, with {batch} bound to the batch view) is aggregated here."""
    query = str(exp.unexpected_rows_query).replace("{batch}", suite.view)
    keys = [c for c in suite.index_columns if c not in ("source", "feed_date")]
    struct = ", ".join(f"'{c}': {c}" for c in keys)
    rows = con.execute(
        f"""SELECT source, feed_date, count(*) AS n, list({{{struct}}} ORDER BY ingest_line)[1:{SAMPLE_KEYS}]
            FROM ({query}) q GROUP BY ALL""").fetchall()
    return {(s, d): (int(n), [{k: _jsonable(v) for k, v in smp.items()} for smp in samples])
            for s, d, n, samples in rows}


def _index_query_groups(con, suite: Suite, query: Any) -> dict | None:
    """Exact per-(source, date) counts for a column-map expectation from GX's own
    ``unexpected_index_query`` (the SQL selecting every failing row, index columns first). GX caps
    the rows it returns at ``partial_unexpected_count``, so large failures are aggregated here in
    DuckDB instead of pulling every failing row into Python. None when GX gave no usable query."""
    if not isinstance(query, str) or "$" in query:
        return None
    cols = suite.index_columns
    aliases = ", ".join(f"i{n}" for n in range(len(cols)))
    keys = [(n, c) for n, c in enumerate(cols) if c not in ("source", "feed_date")]
    struct = ", ".join(f"'{c}': i{n}" for n, c in keys)
    src, day = cols.index("source"), cols.index("feed_date")
    line = cols.index("ingest_line")
    try:
        rows = con.execute(
            f"""WITH u({aliases}) AS ({query.strip().rstrip(';')})
                SELECT i{src}, i{day}, count(*), list({{{struct}}} ORDER BY i{line})[1:{SAMPLE_KEYS}]
                FROM u GROUP BY ALL""").fetchall()
    except duckdb.Error as exc:
        log.warning("per-date counts fall back to GX's sample rows: %s", exc)
        return None
    return {(s, d): (int(n), [{k: _jsonable(v) for k, v in smp.items()} for smp in samples])
            for s, d, n, samples in rows}


def _map_result(con, suite: Suite, rule: Rule, er, element_count: int) -> RuleResult:
    etype = er.expectation_config.type
    exc = er.exception_info or {}
    raised = exc.get("raised_exception") if isinstance(exc, dict) and "raised_exception" in exc else any(
        v.get("raised_exception") for v in exc.values() if isinstance(v, dict))
    if raised:
        msgs = [exc.get("exception_message")] if "exception_message" in exc else [
            v.get("exception_message") for v in exc.values() if isinstance(v, dict)]
        return RuleResult(rule.name, rule.severity, etype, False, element_count, None, [], {},
                          exception=mask("; ".join(m for m in msgs if m)), candidate=rule.candidate)
    res = er.result or {}
    if isinstance(rule.expectation, UnexpectedRowsExpectation):
        groups = _ure_groups(con, suite, rule.expectation) if not er.success else {}
        unexpected = int(res.get("observed_value") or 0)
    else:
        unexpected = int(res.get("unexpected_count") or 0)
        index_list = res.get("unexpected_index_list") or []
        groups = None
        if unexpected > len(index_list):  # GX returned only the first rows: count them in DuckDB
            groups = _index_query_groups(con, suite, res.get("unexpected_index_query"))
        if groups is None:
            acc: dict = defaultdict(lambda: [0, []])
            for row in index_list:
                g = acc[(row.get("source"), row.get("feed_date"))]
                g[0] += 1
                if len(g[1]) < SAMPLE_KEYS:
                    g[1].append(_sample(row, suite.index_columns))
            groups = {k: (v[0], v[1]) for k, v in acc.items()}
        element_count = int(res.get("element_count", element_count) or element_count)
    # Sample keys leave the raw layer (results table, check metadata, issues): masked here, once.
    groups = {k: (n, mask_value(smp)) for k, (n, smp) in groups.items()}
    samples = [s for _, (_, smp) in sorted(groups.items(), key=lambda kv: str(kv[0])) for s in smp][:SAMPLE_KEYS]
    return RuleResult(rule.name, rule.severity, etype, bool(er.success), element_count, unexpected,
                      samples, groups, candidate=rule.candidate)


def _drift_and_ledger(con, suite: Suite, outcome: SuiteOutcome) -> None:
    """Schema drift (rows with ``extras``), REJECTED files and quarantined rows of this batch's feed."""
    if not suite.table.startswith("raw."):
        return
    feed = suite.table.split(".", 1)[1]
    n_drift, names = con.execute(
        f"""SELECT count(*), flatten(list(DISTINCT json_keys(extras))) FROM {suite.view}
            WHERE extras IS NOT NULL""").fetchone()
    outcome.drift_rows = int(n_drift)
    outcome.drift_columns = sorted({x for x in (names or []) if x is not None})
    # Files of this feed the ledger recorded since the last validation: REJECTED ones and the
    # line-level quarantine of all of them (a file can be quarantined entirely and have no raw rows).
    new_files = f"""SELECT file, status, reason FROM meta.ingested_files
                    WHERE feed = ? AND file NOT IN (SELECT ingest_file FROM {store.FILES_TABLE} WHERE asset = ?)"""
    ledger = con.execute(f"{new_files} ORDER BY file", [feed, suite.table]).fetchall()
    outcome.ledger_files = [f for f, _, _ in ledger]
    outcome.rejected_files = [{"file": f, "reason": r} for f, st, r in ledger if st == "REJECTED"]
    outcome.quarantined_rows = int(con.execute(
        f"""SELECT count(*) FROM raw.quarantine WHERE feed = ? AND ingest_line IS NOT NULL
            AND ingest_file IN (SELECT file FROM ({new_files}))""", [feed, feed, suite.table]).fetchone()[0])


def _store(con, suite: Suite, outcome: SuiteOutcome, group_counts: dict, validated_at: datetime) -> None:
    rows = []
    for r in outcome.results:
        for (src, d), n in group_counts.items():
            bad, samples = r.groups.get((src, d), (0, []))
            if r.unexpected_count is None:  # the expectation could not be evaluated
                bad, ok = None, False
            elif r.groups:
                ok = bad == 0
            else:  # no row-level detail: the table-level verdict applies to every group
                ok = r.success
            rows.append((outcome.run_id, suite.table, r.name, r.expectation_type, r.severity, ok, n, bad,
                         json.dumps(samples, ensure_ascii=False), src, d, validated_at, r.exception))
    if rows:
        con.executemany(
            f"INSERT INTO {store.RESULTS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    # Remember the files (and the ledger's files of the feed, so rejections are reported once).
    files = sorted(set(outcome.files) | set(outcome.ledger_files))
    if suite.incremental and files:
        con.executemany(f"INSERT INTO {store.FILES_TABLE} VALUES (?, ?, ?, ?)",
                        [(suite.table, f, outcome.run_id, validated_at) for f in files])


def run_suite(con: duckdb.DuckDBPyConnection, suite: Suite, *, run_id: str, validated_at: datetime,
              docs_dir: str | Path | None = None) -> SuiteOutcome:
    """Validate the new rows of ``suite.table`` on ``con`` (which stays open and is the only
    connection used), store the results and return them."""
    store.ensure_tables(con)
    files = _prepare_batch(con, suite)
    total = int(con.execute(f"SELECT count(*) FROM {suite.view}").fetchone()[0]) if files else 0
    outcome = SuiteOutcome(suite.table, run_id, total, files)
    _drift_and_ledger(con, suite, outcome)
    if not files:
        _store(con, suite, outcome, {}, validated_at)
        return outcome
    group_counts = {(s, d): int(n) for s, d, n in con.execute(
        f"SELECT source, feed_date, count(*) FROM {suite.view} GROUP BY ALL").fetchall()}

    # Each suite renders into its own folder: a GX site build keeps only what its (ephemeral) context
    # knows, so one shared folder would hold the last suite's pages only and break earlier links.
    suite_docs = Path(docs_dir) / suite.name if docs_dir is not None else None
    with gx_duckdb.ephemeral_context(con, docs_dir=str(suite_docs) if suite_docs else None) as (ctx, ds):
        asset = ds.add_table_asset(name=suite.name, table_name=suite.view)
        batch_def = asset.add_batch_definition_whole_table("batch")
        gx_suite = ctx.suites.add(gx.ExpectationSuite(name=suite.name))
        by_id: dict[str, Rule] = {}
        for rule in suite.rules:
            exp = rule.expectation.copy(deep=True, update={"id": None, "meta": {"rule": rule.name, "severity": rule.severity}})
            added = gx_suite.add_expectation(exp)
            by_id[added.id] = rule
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=suite.name, data=batch_def, suite=gx_suite))
        result = vd.run(result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": suite.index_columns,
            "partial_unexpected_count": SAMPLE_KEYS,  # GX fetches at most this many failing rows
            "return_unexpected_index_query": True,
        })
        for er in result.results:
            rule = by_id[er.expectation_config.id]
            outcome.results.append(_map_result(con, suite, rule, er, total))
        order = {r.name: i for i, r in enumerate(suite.rules)}
        outcome.results.sort(key=lambda r: order[r.name])
        if suite_docs is not None:
            outcome.docs_url = _build_docs(ctx, result, suite_docs)
            mask_files(suite_docs)  # GX renders values it fetched itself: its pages pass the mask too
            write_docs_index(Path(docs_dir))
    _store(con, suite, outcome, group_counts, validated_at)
    return outcome


def write_docs_index(docs_dir: Path) -> Path:
    """``<docs_dir>/index.html``: every suite's latest Data Docs, one line each (newest first)."""
    rows = []
    for site in sorted(p for p in docs_dir.iterdir() if p.is_dir() and (p / "index.html").is_file()):
        pages = sorted(site.glob("validations/**/*.html"), key=lambda p: p.stat().st_mtime)
        latest = pages[-1] if pages else site / "index.html"
        stamp = datetime.fromtimestamp(latest.stat().st_mtime, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        rows.append((stamp, site.name, latest.relative_to(docs_dir).as_posix(), f"{site.name}/index.html"))
    rows.sort(reverse=True)
    items = "\n".join(f'<tr><td>{name}</td><td><a href="{page}">latest validation</a></td>'
                      f'<td><a href="{index}">suite site</a></td><td>{stamp} (UTC)</td></tr>'
                      for stamp, name, page, index in rows)
    html = ("<!doctype html><meta charset='utf-8'><title>ticket_dq Data Docs</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 12px;text-align:left}</style>"
            "<h1>ticket_dq Data Docs</h1><p>Great Expectations results per suite; the history of every run "
            "is in <code>dq.validation_results</code>.</p><table><tr><th>suite</th><th></th><th></th>"
            f"<th>rendered</th></tr>{items}</table>")
    index = docs_dir / "index.html"
    tmp = docs_dir / ".index.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(index)
    return index


def _build_docs(ctx, result, docs_dir: Path) -> str | None:
    """Render Data Docs (static HTML) and return a file:// link to this validation's page."""
    try:
        docs_dir.mkdir(parents=True, exist_ok=True)
        ctx.build_data_docs(site_names=["local"])  # not GX's default temp-dir site
        pages = sorted(docs_dir.glob("validations/**/*.html"), key=lambda p: p.stat().st_mtime)
        index = docs_dir / "index.html"
        target = pages[-1] if pages else (index if index.exists() else None)
        return target.resolve().as_uri() if target else None
    except Exception as exc:  # docs are a convenience: never fail validation over rendering
        log.warning("Data Docs build failed: %s", exc)
        return None
