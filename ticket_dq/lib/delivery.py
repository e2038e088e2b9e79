"""Deliver rows into the landing area as a contract feed file (CONTRACT.md sections 1 and 3).

The one writer used by every tool of ours that delivers rather than ingests: the triage CLI, the
triage page and the simulated handlers. Order matters to the reader (lib/landing.py): a data file
counts as delivered only once its manifest exists, so the data file is written and renamed into
place first and the manifest last. Both go through a hidden temporary file in the same folder and an
atomic ``os.replace``: a landing sensor never sees half a file under its real name, and a crash leaves
at most an undelivered data file (no manifest), which the contract reads as "still being written".
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Iterable, Mapping

from ticket_dq.lib import contract, export

SCHEMA_VERSION = 1


def _write_atomic(path: Path, data: bytes) -> None:
    # Hidden temporary name in the same folder: the landing scan skips dot files, the rename is atomic.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(data)
        export.replace_atomically(tmp, path)  # fsync the bytes, rename, fsync the folder
    finally:
        tmp.unlink(missing_ok=True)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def csv_bytes(feed: str, rows: Iterable[Mapping]) -> tuple[bytes, int]:
    """RFC 4180 CSV (header, CRLF, ``"`` quoting, UTF-8) of the feed's contract columns, in order."""
    cols = contract.FEEDS[feed].contract_names
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(cols)
    n = 0
    for row in rows:
        w.writerow([_cell(row.get(c)) for c in cols])
        n += 1
    return buf.getvalue().encode("utf-8"), n


def unique_stem(prefix: str, now: datetime) -> str:
    """A stem no other delivery shares: two actions in the same second stay two files."""
    return f"{prefix}_{now:%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"


def deliver(landing: Path, feed: str, source: str, rows: Iterable[Mapping], now: datetime,
            stem: str | None = None) -> Path:
    """Write ``rows`` as ``<landing>/<feed>/<source>/<YYYY-MM-DD of now>/<stem>.csv`` plus its manifest
    (written last); returns the data file's path. ``now`` is the manifest's snapshot_ts."""
    if feed not in contract.FEEDS or contract.FEEDS[feed].fmt != "csv":
        raise ValueError(f"{feed!r} is not a CSV feed of the contract")
    folder = Path(landing) / feed / source / f"{now:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem or unique_stem(source, now)
    data, n = csv_bytes(feed, rows)
    path = folder / f"{stem}.csv"
    _write_atomic(path, data)
    manifest = {"file": path.name, "feed": feed, "source": source, "rows": n,
                "sha256": hashlib.sha256(data).hexdigest(), "snapshot_ts": now.strftime("%Y-%m-%d %H:%M:%S"),
                "schema_version": SCHEMA_VERSION}
    _write_atomic(folder / f"_manifest_{stem}.json",
                  json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    return path


def delivered_files(landing: Path, feed: str, sources: Iterable[str] | None = None) -> list[Path]:
    """Data files of ``feed`` whose manifest exists (delivered), sorted; optionally only some sources."""
    base = Path(landing) / feed
    if not base.is_dir():
        return []
    wanted = set(sources) if sources is not None else None
    out = []
    for manifest in sorted(base.glob("*/*/_manifest_*.json")):
        if wanted is not None and manifest.parent.parent.name not in wanted:
            continue
        data = manifest.with_name(manifest.name.removeprefix("_manifest_").removesuffix(".json") + ".csv")
        if data.is_file():
            out.append(data)
    return out
