"""Settings of the simulated market: partners and their delivery styles, platforms, channels, the
simulation config, time units and id helpers shared by every stage of the simulator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

DAY = 86400
HOUR = 3600
MIN = 60
NEVER = 2**62
FMT = "%Y-%m-%d %H:%M:%S"
ISO = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True)
class Partner:
    code: str
    share: float
    encoding: str  # "utf-8" | "utf-8-sig" | "gb18030"
    iso_times: bool
    quote_all: bool
    crlf: bool
    offset_min: int  # minute of the hour its snapshots land
    raw_film_names: bool  # film_name carries （数字） / 3D suffixes
    promo_hall_names: bool  # hall_name carries promotions: 7号激光厅(卖品套餐9.9元)
    fee_fen: int
    id_prefix: str
    jsonl_yuan: bool = False  # JSON Lines, money as *_yuan decimal strings (CONTRACT.md section 1)


PARTNERS = (
    Partner("FH", 0.30, "gb18030", False, False, True, 0, True, False, 300, "FH"),
    Partner("MTX", 0.25, "utf-8-sig", False, False, False, 5, False, False, 250, ""),
    Partner("DX", 0.20, "utf-8", True, False, False, 12, False, False, 200, "dx"),
    Partner("JY", 0.15, "utf-8", False, True, False, 20, False, False, 300, "JY-"),
    Partner("HX", 0.10, "utf-8", False, False, False, 30, True, True, 350, "hx", jsonl_yuan=True),
)
PLATFORMS = ("MAOYAN", "TAOPIAOPIAO")
PLATFORM_COVERAGE = (0.93, 0.88)
PLATFORM_OFFSET_MIN = (20, 70)  # minutes before `now` of the last crawl
UNMATCHABLE_PLACES = ("城南", "城北", "东区", "西区", "新区", "老城", "开发区", "湖滨")
CHANNELS = ("APP", "MINIPROGRAM", "WEB", "TAOBAO", "CMB_BANK")
CHANNEL_W = np.array([45, 25, 12, 12, 6], dtype=float)
CODE_CHANNELS = ("TAOBAO", "CMB_BANK")
LATE_PARTNER = "JY"
# Real changes happen 3.5-10 h before `now`: before the late partner's last snapshot (now - 195 min)
# and before both platforms' last crawls, so every source that is still delivering shows them.
CHANGE_MIN_AGE = 210 * MIN
CHUNK_CINEMAS = 2000  # partner snapshots and crawls are rendered and written this many cinemas at a time


@dataclass(frozen=True)
class SimConfig:
    cinemas: int = 60
    days: int = 2
    seed: int = 7
    start_date: str = "2026-03-08"
    snapshots_per_day: int | None = None  # None: every partner hourly, 06:00 .. now
    crawls_per_day: int | None = None  # None: every platform every 2 h
    fault_rate: float = 0.08  # faulty shows per class per cinema (at least 5 per class)
    orders_per_show: float = 1.8  # mean orders a show collects over its 3-day sale window

    @property
    def d0(self) -> date:
        return date.fromisoformat(self.start_date)

    @property
    def now_s(self) -> int:
        return (self.days - 1) * DAY + 21 * HOUR + 5 * MIN

    @property
    def sim_start_s(self) -> int:
        return 6 * HOUR


def affine(x: np.ndarray, a: int, b: int, mod: int) -> np.ndarray:
    """A bijection on [0, mod): realistic-looking, unique ids from sequential numbers."""
    return (np.asarray(x, dtype=np.int64) * a + b) % mod


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: hash-looking 64-bit values (user ids are hashed upstream)."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


# extra earlier partner deliveries carrying file faults when no earlier snapshot exists (national mode):
# (partner, seconds before its last snapshot, purpose)
# The partner whose latest delivery is a corrupt file (FEED_PARTIAL), 30 min after its last regular
# snapshot, which stays current: its show-level faults stand (docs/detection.md, inhibition by cause).
LATEST_FAULT_PARTNER = "MTX"
LATEST_FAULT_AFTER_S = 30 * MIN
NATIONAL_FILE_FAULTS = (("FH", 3 * HOUR, "partial"), ("DX", 4 * HOUR, "row_parse"), ("DX", 3 * HOUR, "volume_drop"))
