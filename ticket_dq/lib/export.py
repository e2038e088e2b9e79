"""Atomic Parquet export of the output tables (CONTRACT.md §4) for BI tools.

DuckDB allows one writing process per file, so BI tools read these Parquet files instead of the
warehouse. Two layers, because readers differ:

- ``<dir>/<table>.parquet`` (e.g. ``issues.parquet``): the stable name. Each export writes the new
  data to a temporary file in the same folder, flushes it, and ``os.replace``s it over the old name:
  a rename within one file system is atomic, so a reader that opens the file gets the complete old
  or the complete new version, never a half-written one.
- ``<dir>/versions/<table>.<stamp>.parquet``: the same bytes (a hard link), never modified after
  being written and kept for ``GRACE_S`` after being superseded. ``_export.json`` (replaced last)
  names the current version of every table. A reader that opens a path more than once per query
  (DuckDB's ``read_parquet`` reads the footer at bind time and reopens the file to scan; pyarrow's
  dataset API does the same) should resolve the version through ``_export.json`` first: a version
  file's bytes never change, so every open sees the same file.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import datetime
from pathlib import Path

import duckdb

from ticket_dq.lib import complaints, metrics

# warehouse table -> stable file name under the export folder
EXPORT_TABLES: dict[str, str] = {
    "dq.issues": "issues.parquet",
    "dq.notifications": "notifications.parquet",
    metrics.DAILY_TABLE: "metrics_daily.parquet",
    metrics.BREAKDOWN_TABLE: "metrics_breakdown.parquet",
    complaints.TABLE: "complaint_links.parquet",
}
MANIFEST = "_export.json"
VERSIONS = "versions"
# A superseded version stays readable this long: longer than any BI query over these small tables.
GRACE_S = 600


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [schema, name]).fetchall()[0][0] > 0  # fetchall: leave no unfinished result


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(tmp: Path, target: Path) -> None:
    _fsync(tmp)
    os.replace(tmp, target)
    _fsync(target.parent)  # make the rename itself durable


def _tmp_name(folder: Path, name: str) -> Path:
    # Same folder as the target (same file system: rename is atomic); hidden and unique so a BI tool
    # globbing *.parquet never picks it up and concurrent exports never collide.
    return folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"


def _prune(versions: Path, keep: set[str], now_s: float) -> int:
    removed = 0
    for path in versions.glob("*.parquet"):
        if path.name not in keep and now_s - path.stat().st_mtime > GRACE_S:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def export_tables(con: duckdb.DuckDBPyConnection, out_dir: Path, now: datetime | None = None) -> dict[str, dict]:
    """Export every table of EXPORT_TABLES that exists; returns {table: {file, version, rows, bytes}}."""
    out_dir = Path(out_dir)
    versions = out_dir / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    stamp = f"{(now or datetime.now()):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    done: dict[str, dict] = {}
    for table, file_name in EXPORT_TABLES.items():
        if not _exists(con, table):
            continue
        version = versions / f"{file_name.removesuffix('.parquet')}.{stamp}.parquet"
        tmp = _tmp_name(versions, file_name)
        link = _tmp_name(out_dir, file_name)
        try:
            con.table(table).write_parquet(str(tmp), compression="zstd")  # relation API: no SQL text
            rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(tmp)]).fetchall()[0][0]
            replace_atomically(tmp, version)       # the immutable version
            os.link(version, link)                 # same bytes under a temporary stable-side name
            replace_atomically(link, out_dir / file_name)
        finally:
            tmp.unlink(missing_ok=True)
            link.unlink(missing_ok=True)
        done[table] = {"file": file_name, "version": f"{VERSIONS}/{version.name}", "rows": int(rows),
                       "bytes": version.stat().st_size}
    manifest = {"exported_at": (now or datetime.now()).strftime("%Y-%m-%d %H:%M:%S"), "tables": done}
    tmp = _tmp_name(out_dir, MANIFEST)
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    replace_atomically(tmp, out_dir / MANIFEST)
    _prune(versions, {Path(d["version"]).name for d in done.values()}, time.time())
    return done


def current_file(out_dir: Path, file_name: str) -> Path:
    """Reader helper: the immutable version file that ``_export.json`` names for a stable name."""
    manifest = json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))
    for entry in manifest["tables"].values():
        if entry["file"] == file_name:
            return Path(out_dir) / entry["version"]
    raise KeyError(f"{file_name} is not in {MANIFEST}")
