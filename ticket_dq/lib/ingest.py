"""Ingest a feed's newly delivered files into raw.<feed>, raw.quarantine and the ledger.

Rules (CONTRACT.md section 1, ARCHITECTURE.md "Landing is a ledger"; our readings in docs/ingestion.md):

- A file is delivered once its manifest exists; the ledger ``meta.ingested_files`` gets exactly one
  row per delivered file, keyed by ``file`` (path relative to the landing root), so re-runs skip it.
- Re-delivery: the same (feed, source, stem) with the same sha256 as an INGESTED file, arriving again
  (any date folder), lands nothing and is recorded in ``meta.redeliveries``, not in the ledger.
- Manifest mismatch (sha256 or row count), an unusable manifest, an unreadable encoding or a header
  missing a contract column: the file is REJECTED as one unit: nothing lands, rows_ingested = 0,
  rows_quarantined = rows_manifest, and one ``raw.quarantine`` row (ingest_line NULL) says why.
- Otherwise good rows land with lineage; rows that cannot be parsed go to ``raw.quarantine`` with
  their physical line, raw text and reason: rows_manifest = rows_ingested + rows_quarantined.
- Schema drift (missing / extra column, a column whose every value fails to cast) is recorded in
  ``meta.schema_drift`` for validation to report.
- One transaction per file: raw rows, quarantine rows, drift rows and the ledger row commit together.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from ticket_dq import settings
from ticket_dq.lib import contract, decode, file_parts, landing, variants, warehouse
from ticket_dq.lib.masking import mask
from ticket_dq.lib.pause_points import pause_point

INGEST_DDL = (
    # Re-deliveries of an already ingested file (same feed, source, stem, sha256): recorded here so
    # the ledger keeps one row per delivered file and the conservation rule holds.
    """CREATE TABLE IF NOT EXISTS meta.redeliveries (
      file VARCHAR PRIMARY KEY,       -- the re-delivered data file, relative to the landing root
      feed VARCHAR NOT NULL,
      source VARCHAR NOT NULL,
      folder_date DATE,
      stem VARCHAR NOT NULL,
      sha256 VARCHAR NOT NULL,
      original_file VARCHAR NOT NULL, -- the ledger row it repeats
      rows_manifest BIGINT,
      run_id VARCHAR,
      detected_at TIMESTAMP NOT NULL
    )""",
    # Header drift per delivered file: kind = missing_column | extra_column | type_change.
    """CREATE TABLE IF NOT EXISTS meta.schema_drift (
      file VARCHAR NOT NULL,
      feed VARCHAR NOT NULL,
      source VARCHAR,
      kind VARCHAR NOT NULL,
      column_name VARCHAR NOT NULL,
      detail VARCHAR,
      run_id VARCHAR,
      detected_at TIMESTAMP NOT NULL
    )""",
    # What a REJECTED delivery looked like when it was rejected (ledger row of the same file): a
    # manifest or data file that changes since is a correction and is tried again.
    """CREATE TABLE IF NOT EXISTS meta.rejected_deliveries (
      file VARCHAR PRIMARY KEY,       -- the ledger key of the REJECTED row
      manifest_sha256 VARCHAR NOT NULL,
      data_sha256 VARCHAR NOT NULL,   -- '' when the data file was absent
      run_id VARCHAR,
      rejected_at TIMESTAMP NOT NULL
    )""",
    # Folders of the landing area that were not read (links out of the root, bad names) and sources
    # reference data does not declare: reported once each (lib/landing.py ``problems``).
    """CREATE TABLE IF NOT EXISTS meta.landing_problems (
      path VARCHAR PRIMARY KEY,       -- relative to the landing root
      feed VARCHAR NOT NULL,
      kind VARCHAR NOT NULL,          -- symlink_out | unknown_folder | wrong_case_feed | bad_date_folder | unknown_source
      detail VARCHAR NOT NULL,
      run_id VARCHAR,
      detected_at TIMESTAMP NOT NULL
    )""",
    # Reference files loaded (full replacement); a file whose sha256 is unchanged is not reloaded.
    """CREATE TABLE IF NOT EXISTS meta.reference_files (
      name VARCHAR PRIMARY KEY,
      file VARCHAR NOT NULL,
      sha256 VARCHAR NOT NULL,
      encoding VARCHAR,
      rows_in_file BIGINT,
      rows_loaded BIGINT,
      rows_quarantined BIGINT,
      status VARCHAR NOT NULL,        -- LOADED | REJECTED
      reason VARCHAR,
      run_id VARCHAR,
      loaded_at TIMESTAMP NOT NULL
    )""",
)

_STAGED = "__ingest_staged"
_SOURCE = "__ingest_src"
_BAD = "__ingest_bad"


def ensure_ingest_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in INGEST_DDL:
        con.execute(ddl)


@dataclass
class FileResult:
    file: str
    source: str
    status: str  # INGESTED | REJECTED | REDELIVERY
    encoding: str | None = None
    rows_manifest: int = 0
    rows_in_file: int | None = None
    rows_ingested: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    original_file: str | None = None
    encoding_suspect: bool = False  # valid UTF-8 that reads like GBK (decode.looks_like_gbk)
    fast_path: bool = False  # DuckDB's reader read the file itself (decode's fast path)
    # which reading: "csv", "jsonl" (values read as VARCHAR) or "jsonl-json" (JSON columns); None: careful
    fast_reader: str | None = None


@dataclass
class FeedReport:
    feed: str
    files: list[FileResult] = field(default_factory=list)
    already_known: int = 0
    problems: list[landing.Problem] = field(default_factory=list)  # newly reported this run

    def _of(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    @property
    def ingested(self) -> list[FileResult]:
        return self._of("INGESTED")

    @property
    def rejected(self) -> list[FileResult]:
        return self._of("REJECTED")

    @property
    def redeliveries(self) -> list[FileResult]:
        return self._of("REDELIVERY")

    @property
    def rows_ingested(self) -> int:
        return sum(f.rows_ingested for f in self.files if f.status != "REDELIVERY")

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files if f.status != "REDELIVERY")

    @property
    def encodings(self) -> list[str]:
        return sorted({f.encoding for f in self.files if f.encoding})


# ---- helpers ------------------------------------------------------------------------------------------

def _supersede(con, d: landing.Delivery) -> None:
    """Inside the caller's transaction: drop the REJECTED attempts this delivery replaces (their ledger
    row, whole-file quarantine row and validation mark), so the corrected delivery counts once."""
    for old in d.supersedes:
        con.execute("DELETE FROM meta.ingested_files WHERE file = ? AND status = 'REJECTED'", [old])
        con.execute("DELETE FROM meta.rejected_deliveries WHERE file = ?", [old])
        con.execute("DELETE FROM raw.quarantine WHERE ingest_file = ? AND ingest_line IS NULL", [old])
        if con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'dq' "
                       "AND table_name = 'validated_files'").fetchone()[0]:
            con.execute("DELETE FROM dq.validated_files WHERE ingest_file = ?", [old])


def _insert_ledger(con, d: landing.Delivery, *, sha: str, encoding, rows_in_file, rows_ingested,
                   rows_quarantined, status, reason, run_id, now) -> None:
    _supersede(con, d)
    if status == "REJECTED":
        manifest_sha, data_sha = d.fingerprint()
        con.execute("INSERT INTO meta.rejected_deliveries VALUES (?, ?, ?, ?, ?)",
                    [d.file, manifest_sha, data_sha, run_id, now])
    con.execute(
        "INSERT INTO meta.ingested_files (file, feed, source, folder_date, stem, sha256, snapshot_ts, "
        "schema_version, encoding, rows_manifest, rows_in_file, rows_ingested, rows_quarantined, status, "
        "reason, run_id, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [d.file, d.feed, d.source, d.folder_date, d.stem, sha, d.snapshot_ts, d.schema_version, encoding,
         d.rows_manifest, rows_in_file, rows_ingested, rows_quarantined, status, reason, run_id, now],
    )


def _insert_drift(con, d: landing.Delivery, kind: str, columns: list[str], detail, run_id, now) -> None:
    for col in columns:
        con.execute(
            "INSERT INTO meta.schema_drift (file, feed, source, kind, column_name, detail, run_id, detected_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [d.file, d.feed, d.source, kind, col, detail(col) if callable(detail) else detail, run_id, now],
        )


def _reject(con, d: landing.Delivery, reason: str, *, sha: str, encoding=None, rows_in_file=None,
            run_id, now, drift: tuple[str, list[str]] | None = None) -> FileResult:
    """Quarantine the whole delivery as one unit (rows_quarantined = rows_manifest)."""
    reason = mask(reason)  # reasons quote file content; they leave the raw layer (logs, issues)
    with warehouse.transaction(con):
        _insert_ledger(con, d, sha=sha, encoding=encoding, rows_in_file=rows_in_file, rows_ingested=0,
                       rows_quarantined=d.rows_manifest, status="REJECTED", reason=reason, run_id=run_id, now=now)
        con.execute(
            "INSERT INTO raw.quarantine (feed, source, ingest_file, ingest_line, raw_text, reason, run_id, "
            "quarantined_at) VALUES (?, ?, ?, NULL, NULL, ?, ?, ?)",
            [d.feed, d.source, d.file, f"file rejected: {reason}", run_id, now],
        )
        if drift:
            _insert_drift(con, d, drift[0], drift[1], reason, run_id, now)
    return FileResult(file=d.file, source=d.source, status="REJECTED", encoding=encoding,
                      rows_manifest=d.rows_manifest, rows_in_file=rows_in_file, rows_ingested=0,
                      rows_quarantined=d.rows_manifest, reason=reason)


def _readers(data_path: Path, parts: list[file_parts.Part] | None, rows: int, *, csv: bool
             ) -> tuple[list[decode.ReadPart], dict]:
    """The fast path's readers of a file and their path parameters: the file itself, or its parts."""
    if not parts:
        return decode.whole_file(rows, csv=csv), {"path": str(data_path)}
    header = [int(csv and p.has_header) for p in parts]  # a CSV's first part starts with the header line
    readers = [decode.ReadPart(f"part{i}", p.first_line + h, p.lines - h, bool(h))
               for i, (p, h) in enumerate(zip(parts, header))]
    return readers, {r.param: str(p.path) for r, p in zip(readers, parts)}


def _stage(con, feed: contract.Feed, parsed: decode.Parsed, data_path: Path | None,
           parts: list[file_parts.Part] | None = None) -> tuple[str, dict, list[str], contract.Feed]:
    """Make the parsed file queryable: returns (source relation SQL, its parameters, JSONL keys seen, the
    feed as the file delivers it). The source has the contract columns as strings, __line, __rec and
    extras (JSONL also __json, __bad). ``parts``: the fast path reads the file as these parts, side by side
    (``file_parts``); the JSON columns reading reads the file itself."""
    params = {"path": str(data_path)}
    if parsed.fast == "csv":
        readers, params = _readers(data_path, parts, parsed.rows_in_file, csv=True)
        return decode.fast_csv_source_sql(parsed.header, readers), params, [], feed
    if parsed.fast == "jsonl":
        plain = parsed.plain
        names = decode.first_line_keys(plain.head) if plain is not None else None
        try:
            delivered = variants.as_delivered(feed, feed.fmt, names) if names else None
        except variants.AmbiguousMoney:
            delivered = None  # the reading below refuses the file with the reason
        if (delivered is not None and len(names) == len(delivered.contract_names)
                and set(names) == set(delivered.contract_names) and plain.plain_keys(len(names), parsed.rows_in_file)):
            texts = [c for c, t in delivered.columns if t == "text"]
            readers, params = _readers(data_path, parts, parsed.rows_in_file, csv=False)
            return decode.plain_jsonl_source_sql(names, texts, readers), params, names, delivered
        parsed.plain = None  # the JSON columns reading below
        try:
            names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {decode.fast_jsonl_reader_sql()}",
                                               params).fetchall()]
            feed = variants.as_delivered(feed, feed.fmt, names)
        except (duckdb.Error, variants.AmbiguousMoney) as exc:
            raise _Misaligned(f"JSON Lines fast path refused: {exc}") from exc
        if len(names) != len(feed.contract_names) or set(names) != set(feed.contract_names):
            # A key outside the contract, or one missing from the first line: the careful path
            # reads every line's keys.
            raise _Misaligned("JSON Lines fast path refused: first line's keys are not the contract's")
        return decode.fast_jsonl_source_sql(names, parsed.rows_in_file), params, names, feed
    con.register(_SOURCE, parsed.frame)
    if feed.fmt != "jsonl":
        return _SOURCE, {}, [], feed
    keys = [r[0] for r in con.execute(decode.jsonl_keys_sql(_SOURCE)).fetchall()]
    feed = variants.as_delivered(feed, feed.fmt, keys)  # money keys in the unit the lines name them
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGED} AS {decode.stage_jsonl_sql(feed, _SOURCE)}",
                {"patch": decode.jsonl_contract_patch(feed)})
    # The staged table holds every line (its text too): the lines frame can go.
    con.unregister(_SOURCE)
    parsed.frame = None
    return _STAGED, {}, keys, feed


class _Misaligned(RuntimeError):
    """The fast path's reader refused the file or counted its records differently: redo the file on
    the careful path."""


class _Rejected(Exception):
    """Raised inside a landing transaction: roll it back and reject the file as one unit."""

    def __init__(self, reason: str, drift: tuple[str, list[str]] | None = None):
        super().__init__(reason)
        self.reason, self.drift = reason, drift


def _unstage(con) -> None:
    con.execute(f"DROP TABLE IF EXISTS {_STAGED}")
    for name in (_SOURCE, _BAD):
        try:
            con.unregister(name)
        except duckdb.Error:
            pass


class _Col(str):
    """A lineage value that is a staged column (e.g. __line), not a bound parameter."""


def _load_typed(con, feed: contract.Feed, parsed: decode.Parsed, *, source: str, params: dict, table: str,
                lineage: dict, qfeed: str, qsource: str | None, file: str, run_id, now
                ) -> tuple[int, list[tuple], list[tuple]]:
    """Insert good typed rows into ``table`` and quarantine the rest. Caller holds the transaction and
    has staged the file as ``source``. Returns (rows inserted, quarantined rows, type-drift columns)."""
    extra_reason = "__bad" if feed.fmt == "jsonl" else None
    typed = decode.typed_select_sql(feed, source, extra_reason)
    raw_cols = [c for c, _ in feed.raw_columns()]
    lin_cols = list(lineage)
    # Lineage values are bound parameters (or staged columns, _Col); only our column names are
    # spelled into the SQL.
    lin_exprs = [str(v) if isinstance(v, _Col) else f"${c}" for c, v in lineage.items()]
    lin_params = {c: v for c, v in lineage.items() if not isinstance(v, _Col)}
    inserted = con.execute(
        f"INSERT INTO {table} ({', '.join(raw_cols + lin_cols)}) "
        f"SELECT {', '.join(raw_cols + lin_exprs)} FROM ({typed}) "
        f"WHERE {decode.REASON} IS NULL AND {decode.LINE} IS NOT NULL",
        {**params, **lin_params},
    ).fetchone()[0]
    # Cast failures: recomputed only when some rows did not land (the common file has none).
    candidates = parsed.rows_in_file - len(parsed.bad)
    if parsed.fast and inserted > candidates:
        raise _Misaligned(f"{file}: DuckDB read more records than the file has lines")
    bad_rows: list[tuple] = []
    drift: list[tuple] = []
    if inserted < candidates:
        # The plain JSON Lines reading checks each row in extras (decode.plain_jsonl_source_sql); the
        # INSERT evaluates it for the rows it lands, this for the rest, whatever the plan filters first.
        checked = f", {decode.EXTRAS}" if parsed.plain is not None else ""
        bad_rows = [r[:3] for r in con.execute(
            f"SELECT {decode.LINE}, {decode.REC}, {decode.REASON}{checked} FROM ({typed}) "
            f"WHERE {decode.REASON} IS NOT NULL AND {decode.LINE} IS NOT NULL ORDER BY {decode.LINE}", params,
        ).fetchall()]
        if parsed.fast and inserted + len(bad_rows) != candidates:
            raise _Misaligned(f"{file}: DuckDB read {inserted + len(bad_rows)} rows, {candidates} expected")
        if parsed.plain is not None and any(decode.exponent_in_reason(r[2]) for r in bad_rows):
            raise _Misaligned(f"{file}: a value may be a real in exponent form; read as JSON instead")
        uc = decode.uncastable_columns_sql(feed, source)
        if uc and bad_rows:
            drift = [r for r in con.execute(uc, params).fetchall() if r[1] > 0 and r[2] == r[1]]
    # Raw text of every quarantined record: parse-level (field count) rows plus cast failures.
    if feed.fmt == "jsonl" and not parsed.fast:
        texts = dict(con.execute(
            f"SELECT {decode.REC}, __json FROM {_STAGED} WHERE {decode.REC} IN (SELECT UNNEST($recs))",
            {"recs": [r[1] for r in bad_rows]},
        ).fetchall()) if bad_rows else {}
    else:
        texts = {r[1]: parsed.raw_text(r[1]) for r in bad_rows}
    # raw_text stays as delivered (raw layer); the reason quotes values and leaves it (issues, logs).
    q = [(line, text, mask(reason)) for line, text, reason in parsed.bad]
    q += [(line, texts.get(rec), mask(reason)) for line, rec, reason in bad_rows]
    if q:
        qdf = pl.DataFrame(q, schema={"line": pl.Int64, "raw_text": pl.String, "reason": pl.String}, orient="row")
        con.register(_BAD, qdf)
        con.execute(
            f"INSERT INTO raw.quarantine (feed, source, ingest_file, ingest_line, raw_text, reason, run_id, "
            f"quarantined_at) SELECT $feed, $source, $file, line, raw_text, reason, $run_id, $now FROM {_BAD}",
            {"feed": qfeed, "source": qsource, "file": file, "run_id": run_id, "now": now},
        )
        con.unregister(_BAD)
    return inserted, q, drift


def _parse(feed: contract.Feed, data: bytes, expected_rows: int | None = None) -> decode.Parsed:
    """The careful reading of a file (every record split and checked here)."""
    return (decode.parse_jsonl(data, feed) if feed.fmt == "jsonl"
            else decode.parse_csv(data, feed, allow_fast=False, expected_rows=expected_rows))


def _fast(feed: contract.Feed, scan: decode.FileScan, path: Path, expected_rows: int) -> decode.Parsed | None:
    """The fast path's reading when the file qualifies (DuckDB reads it; see ``decode``), else None."""
    if feed.fmt == "jsonl":
        parsed = decode.fast_jsonl(scan, expected_rows)
        if parsed is not None:
            parsed.raw_text = decode.lazy_line_text(path)
        return parsed
    return decode.fast_csv(scan, path, feed, expected_rows)


# ---- one delivered file -------------------------------------------------------------------------------

def ingest_file(con: duckdb.DuckDBPyConnection, d: landing.Delivery, run_id: str | None,
                now: datetime) -> FileResult:
    """Ingest one delivery (not yet in the ledger). Commits one transaction."""
    feed = contract.FEEDS[d.feed]
    if d.error:
        return _reject(con, d, d.error, sha=d.sha256, run_id=run_id, now=now)
    fmt = variants.file_format(d.data_path)
    # A manifest naming content already ingested announces a re-delivery, which lands nothing: copying its
    # parts beside the scan would be wasted (the scan's own sha256 still decides).
    early_cut = contextlib.nullcontext() if _ingested_as(con, d, d.sha256) else _early_cut(con, d.data_path)
    with early_cut as early:
        return _ingest_read(con, d, feed, fmt, run_id, now, early)


def _ingested_as(con, d: landing.Delivery, sha: str) -> str | None:
    """The ledger's INGESTED file of the delivery's feed, source and stem with content ``sha``, if any:
    the delivery is a re-delivery of it."""
    row = con.execute(
        "SELECT file FROM meta.ingested_files WHERE feed = ? AND source = ? AND stem = ? AND sha256 = ? "
        "AND status = 'INGESTED' ORDER BY ingested_at LIMIT 1",
        [d.feed, d.source, d.stem, sha],
    ).fetchone()
    return row[0] if row else None


def _reader_threads(con) -> int:
    """DuckDB readers a file may be read with: its threads, capped by ``TICKET_DQ_INGEST_READERS``."""
    threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    return min(threads, settings.ingest_readers() or threads)


def _early_cut(con, path: Path) -> file_parts.EarlyCut | contextlib.nullcontext:
    """A large UTF-8 file's parts start copying now, beside the scan (``file_parts.EarlyCut``)."""
    size = path.stat().st_size
    k = file_parts.part_count(size, _reader_threads(con))
    if k < 2 or not file_parts.starts_as_utf8(path):
        return contextlib.nullcontext()
    return file_parts.EarlyCut(path, size, k)


def _ingest_read(con, d: landing.Delivery, feed: contract.Feed, fmt: str, run_id: str | None, now: datetime,
                 early: file_parts.EarlyCut | None) -> FileResult:
    # One pass over the file: sha256, line count and what the fast path's conditions need; the file
    # itself is read into memory only for the careful path (DuckDB reads it on the fast path).
    scan = decode.scan_file(d.data_path, jsonl=fmt == "jsonl")
    sha = scan.sha256

    original = _ingested_as(con, d, sha)
    if original:
        with warehouse.transaction(con):
            _supersede(con, d)
            con.execute(
                "INSERT INTO meta.redeliveries (file, feed, source, folder_date, stem, sha256, original_file, "
                "rows_manifest, run_id, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [d.file, d.feed, d.source, d.folder_date, d.stem, sha, original, d.rows_manifest, run_id, now],
            )
        return FileResult(file=d.file, source=d.source, status="REDELIVERY", rows_manifest=d.rows_manifest,
                          reason=f"same content as {original}", original_file=original)

    try:
        header = None
        if fmt == "csv":
            body = scan.head.removeprefix(decode.BOM).lstrip(b"\r\n")
            whole = b"\n" in body or scan.size == len(scan.head)  # the header line ends within the head
            header = variants.csv_header(scan.head if whole else d.data_path.read_bytes())
        feed = variants.as_delivered(feed, fmt, header)
    except variants.AmbiguousMoney as exc:
        return _reject(con, d, str(exc), sha=sha, run_id=run_id, now=now)
    if sha == d.sha256:  # a corrupt delivery is explained by the careful reading
        parsed = _fast(feed, scan, d.data_path, d.rows_manifest)
        if parsed is not None:
            result = _land_fast(con, d, feed, parsed, sha, run_id, now, scan, early)
            if result is not None:
                return result
    return _land_careful(con, d, feed, run_id, now)


def _land_fast(con, d: landing.Delivery, feed: contract.Feed, parsed: decode.Parsed, sha: str, run_id,
               now: datetime, scan: decode.FileScan, early: file_parts.EarlyCut | None = None) -> FileResult | None:
    """Land a file DuckDB reads itself; None when its reader refuses the file or counts its records
    differently (nothing is written then: the caller takes the careful path). A large file is read as
    parts side by side (``file_parts``): the ones ``early`` copied during the scan, or copied now to a
    temp directory removed right after; a GB18030 file is read as its UTF-8 text, written there too.
    Without room for the parts, a UTF-8 file is read whole and a GB18030 one takes the careful path."""
    try:
        size = scan.size if parsed.transcoded is None else len(parsed.transcoded)
        k = (file_parts.part_count(size, _reader_threads(con))
             if parsed.fast == "csv" or parsed.plain is not None else 1)
        if k < 2 and parsed.transcoded is None:
            return _land(con, d, feed, parsed, sha, run_id, now)
        if (parsed.transcoded is None and early is not None and early.parts == k and early.size == scan.size
                and (parts := early.numbered(scan.block_marks, scan.physical_lines)) is not None):
            return _land_parts(con, d, feed, parsed, sha, run_id, now, parts)
        with contextlib.ExitStack() as stack:
            try:
                tmp = Path(stack.enter_context(file_parts.parts_dir()))
                if parsed.transcoded is not None:
                    parts = file_parts.cut_bytes(parsed.transcoded, k, tmp, ".csv")
                else:
                    parts = file_parts.cut_file(d.data_path, scan.size, scan.block_marks, scan.physical_lines, k,
                                                tmp)
            except OSError:
                parts = None  # no room for the parts in $TMPDIR (or no $TMPDIR): read below without them
            if parts is not None:
                parsed.transcoded = None
                return _land_parts(con, d, feed, parsed, sha, run_id, now, parts)
        if parsed.transcoded is not None:
            return None  # DuckDB would need its UTF-8 text on disk: the careful path reads it in memory
        return _land(con, d, feed, parsed, sha, run_id, now)  # the file itself, by one reader
    except (_Misaligned, duckdb.Error, UnicodeDecodeError):
        # DuckDB's strict reader refused a record (or counted differently): the careful path
        # quarantines exactly the records that are malformed. (DuckDB's message quotes the start of
        # the refused line, cut at a byte count: Python may fail to decode the message itself.)
        if parsed.plain is not None:  # JSON Lines read as VARCHAR refused: try the JSON columns first
            parsed.plain = None
            return _land_fast(con, d, feed, parsed, sha, run_id, now, scan)
        return None


def _land_parts(con, d: landing.Delivery, feed: contract.Feed, parsed: decode.Parsed, sha: str, run_id,
                now: datetime, parts: list[file_parts.Part]) -> FileResult:
    pause_point("ingest:parts_cut")
    return _land(con, d, feed, parsed, sha, run_id, now, csv_path=parts[0].path if len(parts) == 1 else None,
                 parts=parts if len(parts) > 1 else None)


def _land_careful(con, d: landing.Delivery, feed: contract.Feed, run_id, now: datetime) -> FileResult:
    """Split and check every record here, then land the file (or reject it as one unit). The file's
    bytes are read here, and only here, so they can be let go once split (a national crawl is 0.5 GB)."""
    data = d.data_path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    try:
        parsed = _parse(feed, data, d.rows_manifest)
    except decode.DecodeError as exc:
        # A truncated delivery can end inside a multi-byte character: the manifest mismatch is the
        # cause worth reporting first.
        reason = (f"manifest mismatch: sha256 of the file is {sha}, manifest says {d.sha256}; {exc}"
                  if sha != d.sha256 else str(exc))
        return _reject(con, d, reason, sha=sha, run_id=run_id, now=now)
    if feed.fmt == "jsonl":
        data = None  # the parsed lines are all that is needed now

    mismatch = []
    if sha != d.sha256:
        mismatch.append(f"sha256 of the file is {sha}, manifest says {d.sha256}")
    if parsed.rows_in_file != d.rows_manifest:
        mismatch.append(f"file has {parsed.rows_in_file} rows, manifest says {d.rows_manifest}"
                        + "".join(f" ({note})" for note in parsed.notes))
    if mismatch and (fault := decode.encoding_fault(data) if data is not None else None):
        mismatch.append(fault)
    if mismatch:
        return _reject(con, d, "manifest mismatch: " + "; ".join(mismatch), sha=sha, encoding=parsed.encoding,
                       rows_in_file=parsed.rows_in_file, run_id=run_id, now=now)
    if parsed.missing:
        return _reject(con, d, "missing required column " + ", ".join(parsed.missing), sha=sha,
                       encoding=parsed.encoding, rows_in_file=parsed.rows_in_file, run_id=run_id, now=now,
                       drift=("missing_column", parsed.missing))
    return _land(con, d, feed, parsed, sha, run_id, now)


def data_path_is_gbk(d: landing.Delivery) -> bool:
    """``decode.looks_like_gbk`` on the start of the delivered file (reads 64 KiB)."""
    try:
        with open(d.data_path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return False
    return decode.looks_like_gbk(head[len(decode.BOM):] if head.startswith(decode.BOM) else head)


def _land(con, d: landing.Delivery, feed: contract.Feed, parsed: decode.Parsed, sha: str, run_id,
          now: datetime, csv_path: Path | None = None, parts: list[file_parts.Part] | None = None) -> FileResult:
    """Land one checked file: raw rows, quarantine, drift and ledger row in one transaction. ``parts``:
    the fast path reads the file as these (``file_parts``)."""
    if parsed.fast and not con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]:
        # the fast path pairs DuckDB's records with line numbers by position
        raise _Misaligned("DuckDB is set not to keep insertion order: its records cannot be numbered by position")
    # A file read as parts lands them side by side only when the INSERT need not keep their order
    # (each part's records keep theirs: a positional join reads its two sides in step). Set around
    # the transaction, so it is set back after a rollback too (an aborted transaction takes no SET).
    side_by_side = bool(parts)
    if side_by_side:
        con.execute("SET preserve_insertion_order = false")
    try:
        with warehouse.transaction(con):
            try:
                source, params, keys, feed = _stage(con, feed, parsed, csv_path or d.data_path, parts)
            except variants.AmbiguousMoney as exc:
                raise _Rejected(str(exc)) from exc
            if feed.fmt == "jsonl" and keys:
                parsed.missing = [c for c in feed.contract_names if c not in keys]
                parsed.extra = sorted(k for k in keys if k not in feed.contract_names)
                if parsed.missing:
                    raise _Rejected("missing required column " + ", ".join(parsed.missing),
                                    ("missing_column", parsed.missing))
            lineage = {"source": d.source, "ingest_file": d.file, "ingest_line": _Col(decode.LINE),
                       "ingested_at": now, "ingest_run_id": run_id, "extras": _Col(decode.EXTRAS)}
            inserted, quarantined, type_drift = _load_typed(
                con, feed, parsed, source=source, params=params, table=feed.table, lineage=lineage, qfeed=d.feed,
                qsource=d.source, file=d.file, run_id=run_id, now=now)
            if inserted + len(quarantined) != parsed.rows_in_file:
                raise RuntimeError(f"{d.file}: {inserted} ingested + {len(quarantined)} quarantined "
                                   f"!= {parsed.rows_in_file} rows in file")
            notes = []
            gbk_suspect = parsed.encoding in ("utf-8", "utf-8-sig") and data_path_is_gbk(d)
            if gbk_suspect:
                notes.append("valid UTF-8 that reads like GBK text (stored as UTF-8: check the partner's encoding, "
                             "text columns may be mojibake)")
            if quarantined:
                notes.append(f"{len(quarantined)} row(s) quarantined")
            if parsed.extra:
                notes.append("extra column(s) kept in extras: " + ", ".join(parsed.extra))
                _insert_drift(con, d, "extra_column", parsed.extra, "kept per row in the extras JSON column",
                              run_id, now)
            if type_drift:
                notes.append("column(s) with no castable value: " + ", ".join(r[0] for r in type_drift))
                for col, n, failed, sample in type_drift:
                    _insert_drift(con, d, "type_change", [col],
                                  mask(f"all {n} non-empty values fail to cast, e.g. {sample!r}"), run_id, now)
            reason = mask("; ".join(notes)) or None
            _insert_ledger(con, d, sha=sha, encoding=parsed.encoding, rows_in_file=parsed.rows_in_file,
                           rows_ingested=inserted, rows_quarantined=len(quarantined), status="INGESTED",
                           reason=reason, run_id=run_id, now=now)
    except _Rejected as exc:
        return _reject(con, d, exc.reason, sha=sha, encoding=parsed.encoding, rows_in_file=parsed.rows_in_file,
                       run_id=run_id, now=now, drift=exc.drift)
    finally:
        if side_by_side:
            con.execute("SET preserve_insertion_order = true")
        _unstage(con)
    return FileResult(file=d.file, source=d.source, status="INGESTED", encoding=parsed.encoding,
                      rows_manifest=d.rows_manifest, rows_in_file=parsed.rows_in_file, rows_ingested=inserted,
                      rows_quarantined=len(quarantined), reason=reason, encoding_suspect=gbk_suspect,
                      fast_path=bool(parsed.fast),
                      fast_reader=("jsonl-json" if parsed.fast == "jsonl" and parsed.plain is None else parsed.fast))


def ingest_feed(con: duckdb.DuckDBPyConnection, landing_root: str | Path, feed: str, run_id: str | None,
                now: datetime) -> FeedReport:
    """Ingest every delivered file of ``feed`` not yet in the ledger (or known as a re-delivery)."""
    if feed not in contract.FEEDS:
        raise ValueError(f"unknown feed {feed!r}; contract feeds: {', '.join(contract.FEEDS)}")
    ensure_ingest_tables(con)
    file_parts.sweep_stale()  # parts left by a process killed while its file landed
    known = {r[0] for r in con.execute(
        "SELECT file FROM meta.ingested_files WHERE feed = ? UNION SELECT file FROM meta.redeliveries WHERE feed = ?",
        [feed, feed]).fetchall()}
    # The ledger is keyed by content for rejections: what each REJECTED delivery looked like.
    rejected = {r[0]: (r[1], r[2]) for r in con.execute(
        "SELECT l.file, r.manifest_sha256, r.data_sha256 FROM meta.ingested_files l "
        "LEFT JOIN meta.rejected_deliveries r USING (file) WHERE l.feed = ? AND l.status = 'REJECTED'",
        [feed]).fetchall()}
    report = FeedReport(feed=feed)
    report.problems = record_problems(con, Path(landing_root), feed, run_id, now)
    for d in landing.discover(Path(landing_root), feed):
        # A rejected attempt at this delivery, keyed by its data file or (unusable manifest) itself.
        stale = [k for k in dict.fromkeys((d.file, d.manifest_rel)) if k in rejected]
        if stale:
            fp = d.fingerprint()
            if all(rejected[k] == fp for k in stale) and d.file in known:
                report.already_known += 1
                continue
            d.supersedes = stale  # corrected since it was rejected: try again
        elif d.file in known:
            report.already_known += 1
            continue
        report.files.append(ingest_file(con, d, run_id, now))
        known.add(d.file)
    return report


def record_problems(con: duckdb.DuckDBPyConnection, root: Path, feed: str, run_id: str | None,
                    now: datetime) -> list[landing.Problem]:
    """Record the landing problems a run of ``feed`` sees (meta.landing_problems, and a whole-folder
    raw.quarantine row so the reason is where every refused input is); returns the new ones."""
    new = []
    for p in landing.problems(root, feed, landing.declared_sources(root)):
        with warehouse.transaction(con):
            inserted = con.execute(
                "INSERT INTO meta.landing_problems VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING path",
                [p.path, p.feed, p.kind, mask(p.detail), run_id, now]).fetchall()
            if inserted:
                parts = p.path.split("/")
                con.execute(
                    "INSERT INTO raw.quarantine (feed, source, ingest_file, ingest_line, raw_text, reason, run_id, "
                    "quarantined_at) VALUES (?, ?, ?, NULL, NULL, ?, ?, ?)",
                    [p.feed, parts[1] if len(parts) > 1 else None, p.path, mask(f"landing: {p.detail}"), run_id, now])
                new.append(p)
    return new


# ---- reference data -----------------------------------------------------------------------------------

@dataclass
class ReferenceReport:
    name: str
    status: str  # LOADED | UNCHANGED | ABSENT | REJECTED
    file: str | None = None
    sha256: str | None = None
    encoding: str | None = None
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None


def ingest_reference(con: duckdb.DuckDBPyConnection, landing_root: str | Path, name: str, run_id: str | None,
                     now: datetime) -> ReferenceReport:
    """Load ``<root>/reference/<name>.csv`` into ref.<name> as a full replacement, unless its sha256 is
    the one loaded last time. A file missing a contract column replaces nothing (old data stays)."""
    feed = contract.REFERENCE[name]
    ensure_ingest_tables(con)
    root = Path(landing_root)
    path = landing.reference_files(root).get(name)
    if path is None:
        return ReferenceReport(name=name, status="ABSENT", reason=f"no reference/{name}.csv in the landing area")
    rel = path.relative_to(root).as_posix()
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    prev = con.execute("SELECT sha256 FROM meta.reference_files WHERE name = ?", [name]).fetchone()
    if prev and prev[0] == sha:
        return ReferenceReport(name=name, status="UNCHANGED", file=rel, sha256=sha)
    qfeed = contract.reference_table(name)

    def record(status, encoding, rows_in_file, loaded, quarantined, reason):
        con.execute("DELETE FROM meta.reference_files WHERE name = ?", [name])
        con.execute(
            "INSERT INTO meta.reference_files (name, file, sha256, encoding, rows_in_file, rows_loaded, "
            "rows_quarantined, status, reason, run_id, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [name, rel, sha, encoding, rows_in_file, loaded, quarantined, status, reason, run_id, now],
        )

    try:
        parsed = decode.parse_csv(data, feed, allow_fast=False)
        reason = ("missing required column " + ", ".join(parsed.missing)) if parsed.missing else None
    except decode.DecodeError as exc:
        parsed, reason = None, mask(str(exc))
    if reason:
        with warehouse.transaction(con):
            con.execute(
                "INSERT INTO raw.quarantine (feed, source, ingest_file, ingest_line, raw_text, reason, run_id, "
                "quarantined_at) VALUES (?, NULL, ?, NULL, NULL, ?, ?, ?)",
                [qfeed, rel, f"file rejected: {reason}", run_id, now])
            record("REJECTED", parsed.encoding if parsed else None, parsed.rows_in_file if parsed else None,
                   0, parsed.rows_in_file if parsed else 0, reason)
        return ReferenceReport(name=name, status="REJECTED", file=rel, sha256=sha, reason=reason)

    try:
        with warehouse.transaction(con):
            # Reference files are small: always the careful path (no second read of the file by DuckDB).
            source, params, _, _ = _stage(con, feed, parsed, path)
            con.execute(f"DELETE FROM {qfeed}")
            lineage = {"ingest_file": rel, "ingest_line": _Col(decode.LINE), "ingested_at": now}
            inserted, quarantined, _ = _load_typed(con, feed, parsed, source=source, params=params, table=qfeed,
                                                   lineage=lineage, qfeed=qfeed, qsource=None, file=rel,
                                                   run_id=run_id, now=now)
            record("LOADED", parsed.encoding, parsed.rows_in_file, inserted, len(quarantined),
                   f"{len(quarantined)} row(s) quarantined" if quarantined else None)
    finally:
        _unstage(con)
    return ReferenceReport(name=name, status="LOADED", file=rel, sha256=sha, encoding=parsed.encoding,
                           rows_loaded=inserted, rows_quarantined=len(quarantined))
