"""Replay a simulated landing area into a live one, delivery by delivery, in delivery-time order.

A delivery is a data file and its manifest; its time is the manifest's ``snapshot_ts`` (the date
folder's noon when the manifest has none or cannot be read: such a delivery is rejected at ingestion
anyway). The data file is copied first and the manifest last, as a partner writes them. Reference
data and ``_truth/`` are set up before the first delivery; data files that have no manifest in the
source (still being written, as the simulator leaves some) are copied at the end, and stay
undelivered. Copies are atomic (temp file + rename), so a watching sensor never sees half a file.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ticket_dq.lib import clock, contract, landing


@dataclass(frozen=True)
class Delivery:
    at: datetime
    feed: str
    files: tuple[str, ...]   # paths relative to the source root, data first, manifest last


@dataclass(frozen=True)
class Plan:
    setup: tuple[str, ...]         # reference/ and _truth/ files, copied before any delivery
    deliveries: tuple[Delivery, ...]
    unmanifested: tuple[str, ...]  # data files without a manifest (copied last, never delivered)

    @property
    def start(self) -> datetime | None:
        return self.deliveries[0].at if self.deliveries else None

    @property
    def end(self) -> datetime | None:
        return self.deliveries[-1].at if self.deliveries else None


def _at(manifest: Path, folder_day: str) -> datetime:
    try:
        ts = json.loads(manifest.read_bytes().decode("utf-8-sig")).get("snapshot_ts")
        return clock.parse_instant(ts)
    except (OSError, ValueError, TypeError, AttributeError):
        return clock.parse_instant(f"{folder_day} 12:00:00")


def plan(source: Path) -> Plan:
    source = Path(source)
    setup = sorted(p.relative_to(source).as_posix() for sub in ("reference", "_truth")
                   for p in (source / sub).rglob("*") if p.is_file())
    deliveries, named = [], set()
    for feed in contract.FEEDS:
        for m in landing.manifest_paths(source, feed):
            rel = m.relative_to(source).as_posix()
            stem = m.name[len(landing.MANIFEST_PREFIX):-len(".json")]
            data = sorted(p.relative_to(source).as_posix() for p in m.parent.glob(f"{stem}.*") if p.is_file())
            named.update(data)
            deliveries.append(Delivery(_at(m, m.parent.name), feed, (*data, rel)))
    deliveries.sort(key=lambda d: (d.at, d.files[-1]))
    loose = sorted(p.relative_to(source).as_posix() for feed in contract.FEEDS if (source / feed).is_dir()
                   for p in (source / feed).rglob("*") if p.is_file() and not p.name.startswith(landing.MANIFEST_PREFIX)
                   and p.relative_to(source).as_posix() not in named)
    return Plan(tuple(setup), tuple(deliveries), tuple(loose))


def copy(source: Path, target: Path, rel: str) -> bool:
    """Copy one file atomically; False when the target already holds the same bytes' size."""
    src, dst = Path(source) / rel, Path(target) / rel
    if dst.is_file() and dst.stat().st_size == src.stat().st_size:
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.replay")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return True


def already_replayed(p: Plan, source: Path, target: Path) -> bool:
    return all((Path(target) / rel).is_file() for d in p.deliveries for rel in d.files) and bool(p.deliveries)


def windows(p: Plan, step: timedelta) -> list[tuple[datetime, list[Delivery]]]:
    """Deliveries grouped into windows of ``step`` from the first one: (window end, deliveries)."""
    out: list[tuple[datetime, list[Delivery]]] = []
    if not p.deliveries:
        return out
    end = p.start + step
    batch: list[Delivery] = []
    for d in p.deliveries:
        while d.at >= end:
            if batch:
                out.append((end, batch))
                batch = []
            end += step
        batch.append(d)
    if batch:
        out.append((min(end, p.end), batch))  # the last window ends with the last delivery (the demo's now)
    return out
