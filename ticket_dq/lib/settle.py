"""Settled inputs: when is a delivery batch complete enough to judge?

A partner snapshot and the crawls that confirm it land seconds apart. Two rules keep detection from
judging half a batch (a partner-only "change" that the crawls a few seconds behind would have confirmed):

1. The landing sensor waits until the landing area has been quiet for a few seconds (no manifest newer
   than ``settle_s``) and then launches ONE run for everything that landed: a batch.
2. Before dq.issues judges, ``unsettled`` lists deliveries of the judged feeds that are already in the
   landing area (manifest present) but not yet in the ledger: a newer input is on its way, so this
   judgement would be stale at once. The run then defers (the next batch run ingests and judges them),
   unless the waiting delivery is older than ``max_wait_s``: then ingestion is stuck, and judging the
   inputs we have beats judging nothing.

Reads directory listings and the ledger's file names only; never parses data files.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from ticket_dq.lib import contract, landing

# Feeds whose rows detection compares with each other; complaints and issue events are feedback.
JUDGED_FEEDS = ("partner_schedule", "competitor_schedule", "orders", "pickup_codes")
MAX_WAIT_S = 600.0


@dataclass(frozen=True)
class ManifestStat:
    feed: str
    rel: str          # manifest path relative to the landing root
    mtime: float      # wall epoch seconds
    size: int


def manifest_stats(root: Path, feeds=tuple(contract.FEEDS)) -> list[ManifestStat]:
    root = Path(root)
    out = []
    for feed in feeds:
        for m in landing.manifest_paths(root, feed):
            try:
                st = m.stat()
            except OSError:
                continue  # removed between listing and stat
            out.append(ManifestStat(feed, m.relative_to(root).as_posix(), st.st_mtime, st.st_size))
    return out


def reference_stats(root: Path) -> list[ManifestStat]:
    out = []
    for name, path in landing.reference_files(Path(root)).items():
        try:
            st = path.stat()
        except OSError:
            continue
        out.append(ManifestStat("reference", path.relative_to(root).as_posix(), st.st_mtime, st.st_size))
    return out


def fingerprint(stats: list[ManifestStat]) -> str:
    entries = sorted((s.rel, round(s.mtime, 6), s.size) for s in stats)
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]


EMPTY = fingerprint([])


@dataclass(frozen=True)
class Batch:
    """What changed in the landing area since the last launched batch."""
    feeds: tuple[str, ...]            # feeds (and 'reference') with new or changed manifests
    fingerprints: dict[str, str]      # feed -> fingerprint of all its manifests now
    newest_mtime: float               # newest manifest among the changed feeds (wall epoch)
    quiet_s: float                    # seconds since then

    def settled(self, settle_s: float) -> bool:
        return bool(self.feeds) and self.quiet_s >= settle_s


def fingerprint_of(batch: Batch) -> str:
    """Identity of a batch (its run key): the changed feeds and what they hold now."""
    return hashlib.sha256(json.dumps([[f, batch.fingerprints[f]] for f in batch.feeds]).encode()).hexdigest()[:16]


def pending_batch(root: Path, launched: dict[str, str], wall: float | None = None) -> Batch:
    """Feeds whose manifests differ from ``launched`` (feed -> fingerprint at the last launch)."""
    wall = time.time() if wall is None else wall
    by_feed: dict[str, list[ManifestStat]] = {f: [] for f in contract.FEEDS}
    for s in manifest_stats(root):
        by_feed[s.feed].append(s)
    by_feed["reference"] = reference_stats(root)
    prints = {feed: fingerprint(stats) for feed, stats in by_feed.items()}
    changed = tuple(f for f, stats in by_feed.items() if stats and launched.get(f) != prints[f])
    newest = max((s.mtime for f in changed for s in by_feed[f]), default=0.0)
    return Batch(changed, prints, newest, wall - newest if changed else 0.0)


@dataclass(frozen=True)
class Waiting:
    manifest: str
    feed: str
    age_s: float


def unsettled(root: Path, ledger_files: set[str], feeds=JUDGED_FEEDS, wall: float | None = None) -> list[Waiting]:
    """Deliveries of ``feeds`` whose manifest is in the landing area but which the ledger does not
    know (neither by data file nor, for an unusable manifest, by the manifest's own path)."""
    root = Path(root)
    wall = time.time() if wall is None else wall
    out = []
    for s in manifest_stats(root, feeds):
        folder = s.rel.rsplit("/", 1)[0]
        stem = s.rel.rsplit("/", 1)[1][len(landing.MANIFEST_PREFIX):-len(".json")]
        guess = f"{folder}/{stem}.{contract.FEEDS[s.feed].fmt}"
        if guess in ledger_files or s.rel in ledger_files:
            continue
        d = landing.read_manifest(root, root / s.rel)  # the manifest names another file: read it
        if d.file in ledger_files:
            continue
        out.append(Waiting(s.rel, s.feed, wall - s.mtime))
    return out


def should_defer(waiting: list[Waiting], max_wait_s: float = MAX_WAIT_S) -> bool:
    """Defer judging while a newer input is landed but not ingested, unless it has waited too long."""
    return any(w.age_s < max_wait_s for w in waiting)
