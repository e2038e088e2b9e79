"""Environment -> paths, clock and knobs. The only module that reads ``os.environ``.

Everything is read at call time, never cached at import, so tests and the CLI can point a process at
another landing area or warehouse by setting the variables before calling in.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

# Beijing time, no DST: every timestamp in the contract is naive local time in this zone.
BEIJING = timezone(timedelta(hours=8))

def _path(var: str, default: str) -> Path:
    raw = os.environ.get(var) or default
    p = Path(raw)
    return p if p.is_absolute() else (Path.cwd() / p)


def landing_root() -> Path:
    return _path("TICKET_DQ_LANDING", "data/landing")


def warehouse_path() -> Path:
    return _path("TICKET_DQ_WAREHOUSE", "data/warehouse/ticket_dq.duckdb")


def warehouse_dir() -> Path:
    """Folder beside the DuckDB file: export/ (Parquet for BI) and docs/ (GX Data Docs) live here."""
    return warehouse_path().parent


def export_dir() -> Path:
    return warehouse_dir() / "export"


def archive_dir() -> Path:
    """Where raw snapshot rows older than the retention window go, as Parquet (``lib/retention.py``):
    ``TICKET_DQ_ARCHIVE``, default ``archive/`` beside the DuckDB file."""
    return _path("TICKET_DQ_ARCHIVE", str(warehouse_dir() / "archive"))


def retention_days() -> int:
    """Delivery dates of raw snapshot rows kept in the warehouse, today included (``TICKET_DQ_RETENTION_DAYS``,
    default 2: today's and yesterday's deliveries stay in DuckDB, older ones move to the archive; 0 = keep all)."""
    value = int(os.environ.get("TICKET_DQ_RETENTION_DAYS") or 2)
    if value < 0:
        raise ValueError(f"TICKET_DQ_RETENTION_DAYS must be 0 (keep all) or a number of days, got {value}")
    return value


def docs_dir() -> Path:
    return warehouse_dir() / "docs"


def outbox_dir() -> Path:
    """Where the local ``file`` notification channel writes messages."""
    return _path("TICKET_DQ_OUTBOX", str(warehouse_dir() / "outbox"))


def routes_path() -> Path:
    default = Path(__file__).resolve().parent / "defs" / "routing" / "routes.yaml"
    return _path("TICKET_DQ_ROUTES", str(default))


def parse_now(text: str) -> datetime:
    """Parse a ``TICKET_DQ_NOW`` value (``YYYY-MM-DD HH:MM[:SS]`` or ISO) as naive Beijing time."""
    value = datetime.fromisoformat(text.strip().replace("T", " "))
    if value.tzinfo is not None:
        value = value.astimezone(BEIJING).replace(tzinfo=None)
    return value


def clock():
    """The effective clock (``lib.clock.Clock``): ``TICKET_DQ_NOW`` pins it (fixed), else
    ``TICKET_DQ_CLOCK`` (``fixed:<instant>`` or a moving ``replay:<start>@<epoch>x<speed>``), else the
    wall clock."""
    from ticket_dq.lib import clock as clock_lib

    fixed = os.environ.get("TICKET_DQ_NOW")
    if fixed:
        return clock_lib.fixed(parse_now(fixed))
    return clock_lib.parse(os.environ.get("TICKET_DQ_CLOCK", ""))


def now() -> datetime:
    """The clock every rule reads (see ``clock()``), naive Beijing time like every warehouse timestamp."""
    return clock().now()


def issuing_window_min() -> int:
    """Minutes a paid order may wait for its ticket before it is ORDER_NOT_ISSUED (default 10)."""
    return int(os.environ.get("TICKET_DQ_ISSUING_WINDOW_MIN") or 10)


def duckdb_memory_limit() -> str | None:
    """DuckDB's memory limit for every warehouse connection (``TICKET_DQ_DUCKDB_MEMORY_LIMIT``, e.g. ``2GB``):
    past it DuckDB spills to disk beside the warehouse instead of growing. Unset: DuckDB's own default
    (80 % of the machine's RAM)."""
    return os.environ.get("TICKET_DQ_DUCKDB_MEMORY_LIMIT") or None


def ingest_readers() -> int | None:
    """Most readers one large landing file is read with, side by side (``TICKET_DQ_INGEST_READERS``;
    ``1`` reads every file whole). Unset: one per DuckDB thread."""
    value = os.environ.get("TICKET_DQ_INGEST_READERS")
    if not value:
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"TICKET_DQ_INGEST_READERS={value!r}: expected a whole number of readers, 1 or more")
    return int(value)


def env(name: str, default: str | None = None) -> str | None:
    """Other knobs (SMTP, webhook, tolerances) go through here so this stays the one reader."""
    return os.environ.get(name, default)


def use_now(value: datetime | str) -> None:
    """Pin the clock for this process and the runs it starts (the CLI replays a simulated day)."""
    text = value if isinstance(value, str) else value.strftime("%Y-%m-%d %H:%M:%S")
    os.environ["TICKET_DQ_NOW"] = str(parse_now(text))


def dagster_home() -> str | None:
    return os.environ.get("DAGSTER_HOME") or None

def use_clock(spec: str) -> None:
    """Set the moving clock for this process and the runs it starts (``ticket-dq replay``, ``make dev``)."""
    from ticket_dq.lib import clock as clock_lib

    clock_lib.parse(spec)  # refuse a bad spec here, not in every run
    os.environ.pop("TICKET_DQ_NOW", None)
    os.environ["TICKET_DQ_CLOCK"] = spec


def clock_tags() -> dict[str, str]:
    """Run tags naming the effective clock: the now the run starts at and the clock it reads."""
    c = clock()
    return {"ticket_dq/now": f"{c.now():%Y-%m-%d %H:%M:%S}", "ticket_dq/clock": c.spec()}


def settle_seconds() -> float:
    """Quiet time the landing sensor waits after the newest manifest before launching a batch."""
    return float(os.environ.get("TICKET_DQ_SETTLE_S") or 1)
