"""The landing area: which files are delivered, what their manifests say, and whether they are safe.

Layout (CONTRACT.md section 1)::

    <root>/<feed>/<source>/<YYYY-MM-DD>/<stem>.<csv|jsonl>
    <root>/<feed>/<source>/<YYYY-MM-DD>/_manifest_<stem>.json      # written LAST

A data file counts as delivered only once its manifest exists, so discovery starts from manifests.
A manifest may only name a file in its own folder: no ``..``, no absolute path, no symlink that
leads out of the folder. ``<root>/_truth/`` and any folder that is not a contract feed are ignored.
Reference data lives in ``<root>/reference/<name>.csv`` (full replacements, no manifest).

Everything here reads small files only (manifests, directory listings), so the landing sensor can use
it without touching the warehouse.
"""

from __future__ import annotations

import hashlib
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


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def manifest_paths(root: Path, feed: str) -> list[Path]:
    """Manifests of one feed, sorted: ``<root>/<feed>/<source>/<YYYY-MM-DD>/_manifest_*.json``."""
    base = Path(root) / feed
    if not base.is_dir():
        return []
    found = []
    for source_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for day_dir in sorted(p for p in source_dir.iterdir() if p.is_dir() and _DATE_DIR.match(p.name)):
            found.extend(sorted(day_dir.glob(f"{MANIFEST_PREFIX}*.json")))
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
                 file=manifest_rel, stem=stem, data_path=None)
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


def reference_files(root: Path) -> dict[str, Path]:
    """Reference data present: ``{name: <root>/reference/<name>.csv}`` for the contract's names."""
    base = Path(root) / "reference"
    return {name: base / f"{name}.csv" for name in contract.REFERENCE if (base / f"{name}.csv").is_file()}


def sha256_file(path: Path, chunk: int = 8 << 20) -> str:
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
        for m in manifest_paths(root, feed):
            try:
                st = m.stat()
            except OSError:
                continue
            entries.append((_rel(root, m), st.st_mtime_ns, st.st_size))
        out[feed] = {"count": len(entries), "fingerprint": _fingerprint(entries)}
    ref_entries = []
    for name, path in reference_files(root).items():
        try:
            st = path.stat()
        except OSError:
            continue
        ref_entries.append((_rel(root, path), st.st_mtime_ns, st.st_size))
    out["reference"] = {"count": len(ref_entries), "fingerprint": _fingerprint(ref_entries)}
    return out
