"""The landing area: which files are delivered, what their manifests say, and whether they are safe.

Layout (CONTRACT.md section 1)::

    <root>/<feed>/<source>/<YYYY-MM-DD>/<stem>.<csv|jsonl>
    <root>/<feed>/<source>/<YYYY-MM-DD>/_manifest_<stem>.json      # written LAST

A data file counts as delivered only once its manifest exists, so discovery starts from manifests.
A manifest may only name a file in its own folder: no ``..``, no absolute path, no symlink that
leads out of the folder. Source and date folders that are links out of the landing root, date
folders that are not real dates, top-level folders that are not contract feeds (wrong case, typos)
and sources that reference data does not declare are not read but reported (``problems``);
``<root>/_truth/`` (the simulator's answer key) and ``reference/`` are expected.
Reference data lives in ``<root>/reference/<name>.csv`` (full replacements, no manifest).

Everything here reads small files only (manifests, directory listings), so the landing sensor can use
it without touching the warehouse.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath

from ticket_dq.lib import contract, variants

MANIFEST_PREFIX = "_manifest_"
MANIFEST_FIELDS = ("file", "feed", "source", "rows", "sha256")
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SHA = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass
class Delivery:
    """One manifest found in the landing area and what it says.

    ``file`` is the ledger key: the data file's path relative to the landing root, or, when the
    manifest itself is unusable (bad JSON, a path out of its folder), the manifest's own path.
    ``error`` is set when the delivery must be rejected before its data is even read.
    """

    feed: str
    source: str
    folder_date: date | None
    manifest_rel: str
    file: str
    stem: str
    data_path: Path | None
    rows_manifest: int = 0
    sha256: str = ""
    snapshot_ts: datetime | None = None
    schema_version: int | None = None
    error: str | None = None
    manifest: dict = field(default_factory=dict)
    manifest_path: Path | None = None
    # Ledger rows of earlier REJECTED attempts at this delivery that this attempt replaces (a
    # corrected manifest or file in the same folder): set by ingestion before it retries.
    supersedes: list[str] = field(default_factory=list)

    def fingerprint(self) -> tuple[str, str]:
        """(sha256 of the manifest bytes, sha256 of the data file or ''): what a retry must change."""
        def sha(path):
            try:
                return sha256_file(path) if path is not None and path.is_file() else ""
            except OSError:
                return ""
        return sha(self.manifest_path), sha(self.data_path)


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


@dataclass(frozen=True)
class Problem:
    """Something in the landing area that is not a delivery and is not used: reported, never followed."""

    path: str  # relative to the landing root
    feed: str  # the contract feed it is filed under, or the folder name when it names none
    kind: str  # symlink_out | unknown_folder | wrong_case_feed | bad_date_folder | unknown_source
    detail: str


# Top-level folders that are not feeds but belong to the landing area.
KNOWN_TOP = ("reference", "_truth")


def _escapes(root: Path, path: Path) -> bool:
    """A folder that is (or passes through) a link leading outside the landing root."""
    try:
        return not path.resolve(strict=True).is_relative_to(Path(root).resolve(strict=True))
    except (OSError, RuntimeError):
        return True


def _feed_folders(root: Path, feed: str) -> tuple[list[Path], list[Problem]]:
    """Date folders of one feed that may be read, and the problems met on the way."""
    root = Path(root)
    base = root / feed
    problems: list[Problem] = []
    if not base.is_dir():
        return [], problems
    if _escapes(root, base):
        return [], [Problem(feed, feed, "symlink_out", f"{feed}/ leads outside the landing root: not read")]
    days = []
    for source_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        rel = _rel(root, source_dir)
        if _escapes(root, source_dir):
            problems.append(Problem(rel, feed, "symlink_out", f"source folder {rel} is a link that leads outside "
                                                              "the landing root: not read"))
            continue
        for day_dir in sorted(p for p in source_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            drel = _rel(root, day_dir)
            if not _DATE_DIR.match(day_dir.name) or _folder_date(day_dir.name) is None:
                problems.append(Problem(drel, feed, "bad_date_folder",
                                        f"{drel}: date folder must be YYYY-MM-DD (a real date): not read"))
            elif _escapes(root, day_dir):
                problems.append(Problem(drel, feed, "symlink_out", f"date folder {drel} is a link that leads "
                                                                   "outside the landing root: not read"))
            else:
                days.append(day_dir)
    return days, problems


def _folder_date(name: str) -> date | None:
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def manifest_paths(root: Path, feed: str) -> list[Path]:
    """Manifests of one feed, sorted: ``<root>/<feed>/<source>/<YYYY-MM-DD>/_manifest_*.json``.
    Folders that are links out of the landing root, or not real dates, are skipped (``problems``)."""
    found = []
    for day_dir in _feed_folders(root, feed)[0]:
        found.extend(sorted(day_dir.glob(f"{MANIFEST_PREFIX}*.json")))
    return found


def problems(root: Path, feed: str, known_sources: set[str] | None = None) -> list[Problem]:
    """What a run of ``feed`` must report: its own unusable folders, sources that reference data does
    not declare (``known_sources``, when declared), and top-level folders that are not feeds (filed
    under the feed they look like, or under every feed's report when they look like none)."""
    root = Path(root)
    found = list(_feed_folders(root, feed)[1])
    if known_sources is not None and (root / feed).is_dir():
        for source_dir in sorted(p for p in (root / feed).iterdir() if p.is_dir() and not p.name.startswith(".")):
            if source_dir.name not in known_sources:
                rel = _rel(root, source_dir)
                found.append(Problem(rel, feed, "unknown_source",
                                     f"source {source_dir.name!r} is not declared in reference/sources.csv "
                                     "(ingested, but check it is a real partner)"))
    if root.is_dir():
        for top in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            name = top.name
            if name in contract.FEEDS or name in KNOWN_TOP:
                continue
            if name.lower() == feed:
                found.append(Problem(name, feed, "wrong_case_feed",
                                     f"folder {name}/ is not the feed {feed}/ (names are case-sensitive): not read"))
            elif name.lower() not in contract.FEEDS:
                found.append(Problem(name, name, "unknown_folder",
                                     f"folder {name}/ is not a contract feed ({', '.join(contract.FEEDS)}): not read"))
    return found


def _parse_ts(value) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("T", " "))
    except ValueError:
        return None


def _safe_data_path(folder: Path, name) -> tuple[Path | None, str | None]:
    """The data file a manifest names, or why it may not be used."""
    if not isinstance(name, str) or not name.strip():
        return None, "manifest field 'file' is empty or not a string"
    if "\\" in name or "\x00" in name:
        return None, f"manifest names {name!r}: only a plain file name in the manifest's folder is allowed"
    pure = PurePosixPath(name)
    if pure.is_absolute() or len(pure.parts) != 1 or pure.name in ("", ".", ".."):
        return None, f"manifest names {name!r}: only a plain file name in the manifest's folder is allowed"
    path = folder / pure.name
    if path.is_symlink() or path.exists():
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None, f"manifest names {name!r}, which cannot be resolved (dangling link?)"
        if resolved.parent != folder.resolve():
            return None, f"manifest names {name!r}, a link that leads out of its folder"
    return path, None


def read_manifest(root: Path, manifest: Path) -> Delivery:
    """Parse and validate one manifest. Never raises for bad content: the ``Delivery`` carries the error."""
    root = Path(root)
    rel_parts = manifest.relative_to(root).parts  # feed, source, day, _manifest_x.json
    feed, source, day = rel_parts[0], rel_parts[1], rel_parts[2]
    try:
        folder_date = date.fromisoformat(day)
    except ValueError:
        folder_date = None
    stem = manifest.name[len(MANIFEST_PREFIX):-len(".json")]
    manifest_rel = _rel(root, manifest)
    d = Delivery(feed=feed, source=source, folder_date=folder_date, manifest_rel=manifest_rel,
                 file=manifest_rel, stem=stem, data_path=None, manifest_path=manifest)
    try:
        m = json.loads(manifest.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        d.error = f"manifest is not valid JSON: {exc}"
        return d
    if not isinstance(m, dict):
        d.error = "manifest is not a JSON object"
        return d
    d.manifest = m
    rows = m.get("rows")
    if isinstance(rows, int) and not isinstance(rows, bool) and rows >= 0:
        d.rows_manifest = rows
    sha = m.get("sha256")
    d.sha256 = sha.lower() if isinstance(sha, str) else ""
    d.snapshot_ts = _parse_ts(m.get("snapshot_ts"))
    sv = m.get("schema_version")
    d.schema_version = sv if isinstance(sv, int) and not isinstance(sv, bool) else None

    missing = [f for f in MANIFEST_FIELDS if f not in m]
    if missing:
        d.error = f"manifest lacks field(s) {', '.join(missing)}"
        return d
    data_path, err = _safe_data_path(manifest.parent, m.get("file"))
    if err:
        d.error = err
        return d
    d.data_path = data_path
    d.file = _rel(root, data_path)
    d.stem = data_path.stem
    if m.get("feed") != feed:
        d.error = f"manifest feed {m.get('feed')!r} does not match its folder {feed!r}"
    elif m.get("source") != source:
        d.error = f"manifest source {m.get('source')!r} does not match its folder {source!r}"
    elif not (isinstance(rows, int) and not isinstance(rows, bool) and rows >= 0):
        d.error = f"manifest rows {rows!r} is not a non-negative integer"
    elif not _SHA.match(d.sha256):
        d.error = f"manifest sha256 {sha!r} is not 64 hex digits"
    elif variants.file_format(data_path) is None:  # CSV or JSON Lines, for any feed
        d.error = f"manifest names {data_path.name!r}; a delivery is a .csv or .jsonl file"
    elif not data_path.is_file():
        d.error = f"manifest names {data_path.name!r}, which is not in its folder"
    return d


def discover(root: Path, feed: str) -> list[Delivery]:
    """Every delivery (manifest present) of one feed, in path order."""
    return [read_manifest(Path(root), m) for m in manifest_paths(Path(root), feed)]


SOURCES_FILE = "sources.csv"


def declared_sources(root: Path) -> set[str] | None:
    """Source codes that ``<root>/reference/sources.csv`` (column ``source``) declares; None when the
    file is absent (then every source is accepted without a warning)."""
    path = Path(root) / "reference" / SOURCES_FILE
    if not path.is_file():
        return None
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    rows = list(csv.DictReader(io.StringIO(text)))
    return {(r.get("source") or "").strip() for r in rows} - {""}


def reference_files(root: Path) -> dict[str, Path]:
    """Reference data present: ``{name: <root>/reference/<name>.csv}`` for the contract's names."""
    base = Path(root) / "reference"
    return {name: base / f"{name}.csv" for name in contract.REFERENCE if (base / f"{name}.csv").is_file()}


def sha256_file(path: Path, chunk: int = 8 << 20) -> str:
    """Hex sha256 of a file, read in chunks (a national crawl is half a gigabyte)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _fingerprint(entries: list[tuple[str, int, int]]) -> str:
    return hashlib.sha256(json.dumps(sorted(entries)).encode()).hexdigest()[:16]


def landing_fingerprints(root: Path) -> dict[str, dict]:
    """Per feed (and ``reference``): manifest count and a hash of (path, mtime_ns, size) of each
    manifest (reference CSVs for ``reference``). Reads directory entries only, never file contents."""
    root = Path(root)
    out: dict[str, dict] = {}
    for feed in contract.FEEDS:
        entries = []
        manifests = manifest_paths(root, feed)
        for m in manifests:
            try:
                st = m.stat()
            except OSError:
                continue
            entries.append((_rel(root, m), st.st_mtime_ns, st.st_size))
            # The data file too: a rejected delivery corrected by rewriting its bytes is tried again.
            data = m.with_name(m.name[len(MANIFEST_PREFIX):-len(".json")] + f".{contract.FEEDS[feed].fmt}")
            try:
                dst = data.stat()
                entries.append((_rel(root, data), dst.st_mtime_ns, dst.st_size))
            except OSError:
                pass
        out[feed] = {"count": len(manifests), "fingerprint": _fingerprint(entries)}
    ref_entries = []
    for name, path in reference_files(root).items():
        try:
            st = path.stat()
        except OSError:
            continue
        ref_entries.append((_rel(root, path), st.st_mtime_ns, st.st_size))
    out["reference"] = {"count": len(ref_entries), "fingerprint": _fingerprint(ref_entries)}
    return out
