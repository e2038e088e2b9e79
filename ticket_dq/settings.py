"""Environment -> paths, clock and knobs. The only module that reads ``os.environ``.

Everything is read at call time, never cached at import, so tests and the CLI can point a process at
another landing area or warehouse by setting the variables before calling in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

# Beijing time, no DST: every timestamp in the contract is naive local time in this zone.
BEIJING = timezone(timedelta(hours=8))

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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


def now() -> datetime:
    """The clock every rule reads: ``TICKET_DQ_NOW`` when set (replay a simulated day), else the wall
    clock in Beijing time. Naive, like every timestamp in the warehouse."""
    fixed = os.environ.get("TICKET_DQ_NOW")
    if fixed:
        return parse_now(fixed)
    return datetime.now(BEIJING).replace(tzinfo=None)


def issuing_window_min() -> int:
    """Minutes a paid order may wait for its ticket before it is ORDER_NOT_ISSUED (default 10)."""
    return int(os.environ.get("TICKET_DQ_ISSUING_WINDOW_MIN") or 10)


def env(name: str, default: str | None = None) -> str | None:
    """Other knobs (SMTP, webhook, tolerances) go through here so this stays the one reader."""
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    landing: Path
    warehouse: Path
    now: datetime

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(landing=landing_root(), warehouse=warehouse_path(), now=now())


def use_now(value: datetime | str) -> None:
    """Pin the clock for this process and the runs it starts (the CLI replays a simulated day)."""
    text = value if isinstance(value, str) else value.strftime("%Y-%m-%d %H:%M:%S")
    os.environ["TICKET_DQ_NOW"] = str(parse_now(text))


def dagster_home() -> str | None:
    return os.environ.get("DAGSTER_HOME") or None
