"""Write small contract-shaped landing areas for the ingestion tests (no simulator needed)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from ticket_dq.lib import contract

SAMPLE_BY_TYPE = {
    "text": "影城文本",
    "int": "2",
    "fen": "1500",
    "yuan": "39.9",
    "timestamp": "2026-03-08 10:00:00",
    "date": "2026-03-08",
    "bool": "false",
    "hhmm": "19:30",
}


# National codes have a fixed width (contract ``codes``): a text sample would be quarantined.
SAMPLE_CODES = {8: "11010001", 12: "201900000001"}


def sample_row(feed: str, **overrides) -> dict:
    """One valid row of ``feed`` as strings, contract column order; override any column."""
    spec = contract.FEEDS[feed]
    row = {name: SAMPLE_BY_TYPE[typ] for name, typ in spec.columns}
    row.update({col: SAMPLE_CODES[n] for col, n in spec.codes})
    row.update(overrides)
    return row


def csv_bytes(rows: list[dict], *, header: list[str] | None = None, encoding: str = "utf-8",
              newline: str = "\n") -> bytes:
    header = header or list(rows[0])
    out = io.StringIO()
    w = csv.writer(out, lineterminator=newline)
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(h, "") for h in header])
    return out.getvalue().encode(encoding)


def jsonl_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def deliver(root: Path, feed: str, source: str, day: str, stem: str, body: bytes, rows: int, *,
            ext: str | None = None, sha256: str | None = None, manifest: bool = True,
            manifest_overrides: dict | None = None) -> Path:
    """Write ``<root>/<feed>/<source>/<day>/<stem>.<ext>`` and (last) its manifest. Returns the data path."""
    ext = ext or contract.FEEDS[feed].fmt
    folder = Path(root) / feed / source / day
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{stem}.{ext}"
    data.write_bytes(body)
    if manifest:
        write_manifest(folder, stem, {
            "file": data.name, "feed": feed, "source": source, "rows": rows,
            "sha256": sha256 or hashlib.sha256(body).hexdigest(),
            "snapshot_ts": f"{day} 10:00:00", "schema_version": 1, **(manifest_overrides or {}),
        })
    return data


def write_manifest(folder: Path, stem: str, content: dict) -> Path:
    path = Path(folder) / f"_manifest_{stem}.json"
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return path
