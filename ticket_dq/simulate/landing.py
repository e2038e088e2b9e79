"""Writing deliveries into a landing area the way CONTRACT.md section 1 says: data file first,
manifest (rows + sha256 + snapshot_ts) LAST; plus the helpers for the delivery faults (partial file,
no manifest, re-delivery)."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Delivery:
    feed: str
    source: str
    day: str  # folder date YYYY-MM-DD
    stem: str
    ext: str
    rows: int
    sha256: str
    snapshot_ts: str
    manifest: bool
    partial: bool = False
    redelivered_from: str | None = None

    @property
    def rel(self) -> str:
        return f"{self.feed}/{self.source}/{self.day}/{self.stem}.{self.ext}"


@dataclass
class Landing:
    root: Path
    deliveries: list[Delivery] = field(default_factory=list)

    def folder(self, feed: str, source: str, day: str) -> Path:
        p = self.root / feed / source / day
        p.mkdir(parents=True, exist_ok=True)
        return p

    def deliver(self, feed: str, source: str, day: str, stem: str, ext: str, data: bytes, rows: int,
                snapshot_ts: str, *, manifest: bool = True, truncate_to: int | None = None) -> Delivery:
        """Write one data file and (unless ``manifest`` is False) its manifest, last.

        ``truncate_to``: a partial delivery: the manifest describes the full ``data`` but only the
        first ``truncate_to`` bytes reach the file (the sender's upload broke off)."""
        folder = self.folder(feed, source, day)
        digest = hashlib.sha256(data).hexdigest()
        (folder / f"{stem}.{ext}").write_bytes(data if truncate_to is None else data[:truncate_to])
        d = Delivery(feed, source, day, stem, ext, rows, digest, snapshot_ts, manifest, truncate_to is not None)
        if manifest:
            self._write_manifest(folder, d)
        self.deliveries.append(d)
        return d

    def deliver_chunks(self, feed: str, source: str, day: str, stem: str, ext: str, chunks, snapshot_ts: str,
                       *, manifest: bool = True) -> Delivery:
        """Stream a large file: ``chunks`` yields (bytes, rows); the manifest is written after the last."""
        folder = self.folder(feed, source, day)
        h = hashlib.sha256()
        rows = 0
        with (folder / f"{stem}.{ext}").open("wb") as f:
            for data, n in chunks:
                f.write(data)
                h.update(data)
                rows += n
        d = Delivery(feed, source, day, stem, ext, rows, h.hexdigest(), snapshot_ts, manifest)
        if manifest:
            self._write_manifest(folder, d)
        self.deliveries.append(d)
        return d

    def _write_manifest(self, folder: Path, d: Delivery) -> None:
        body = {"file": f"{d.stem}.{d.ext}", "feed": d.feed, "source": d.source, "rows": d.rows,
                "sha256": d.sha256, "snapshot_ts": d.snapshot_ts, "schema_version": 1}
        (folder / f"_manifest_{d.stem}.json").write_text(json.dumps(body, ensure_ascii=False) + "\n",
                                                         encoding="utf-8")

    def redeliver(self, d: Delivery, day: str) -> Delivery:
        """A retry: the same stem, same bytes and manifest, delivered again into another day's folder."""
        src = self.root / d.rel
        folder = self.folder(d.feed, d.source, day)
        shutil.copyfile(src, folder / f"{d.stem}.{d.ext}")
        r = Delivery(d.feed, d.source, day, d.stem, d.ext, d.rows, d.sha256, d.snapshot_ts, True,
                     redelivered_from=d.rel)
        self._write_manifest(folder, r)
        self.deliveries.append(r)
        return r
