"""The feed simulator: a deterministic market of cinemas, shows, orders and codes, rendered the way
five partners, two crawled platforms and our own order system would deliver it, with faults injected
and every one of them (plus the benign churn) written to ``_truth/faults.csv`` (see TRUTH.md).

Time inside the simulator is integer seconds since 00:00 of ``start_date`` (Beijing time). The true
schedule is one Polars frame of shows with "change" columns (real change, partner fault, cancel,
price change ... each with the second it takes effect); a partner snapshot or a platform crawl at
``ts`` is that frame evaluated at ``ts`` and rendered in the source's style, then written at once:
nothing but the true schedule and the orders is held in memory.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from ticket_dq.lib.contract import FEEDS, REFERENCE
from ticket_dq.simulate import outcome_faults
from ticket_dq.simulate.landing import Delivery, Landing
from ticket_dq.simulate.world import HALL_KINDS, OTHER_NAMES, build_world

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


PARTNERS = (
    Partner("FH", 0.30, "gb18030", False, False, True, 0, True, False, 300, "FH"),
    Partner("MTX", 0.25, "utf-8-sig", False, False, False, 5, False, False, 250, ""),
    Partner("DX", 0.20, "utf-8", True, False, False, 12, False, False, 200, "dx"),
    Partner("JY", 0.15, "utf-8", False, True, False, 20, False, False, 300, "JY-"),
    Partner("HX", 0.10, "utf-8", False, False, False, 30, True, True, 350, "hx"),
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


# ------------------------------------------------------------------------------------------------
class Truth:
    COLUMNS = ("fault_id", "kind", "category", "rule", "source", "cinema_code", "business_date",
               "show_start_time", "order_id", "pickup_code", "detail")

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, kind: str, category: str, rule: str, source: str, *, cinema_code: str = "",
            business_date: str = "", show_start_time: str = "", order_id: str = "", pickup_code: str = "",
            detail: dict | None = None) -> str:
        fid = f"F{len(self.rows) + 1:06d}"
        self.rows.append({"fault_id": fid, "kind": kind, "category": category, "rule": rule, "source": source,
                          "cinema_code": cinema_code, "business_date": business_date,
                          "show_start_time": show_start_time, "order_id": order_id, "pickup_code": pickup_code,
                          "detail": json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)})
        return fid

    def write(self, path: Path) -> None:
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows(self.rows)


def _affine(x: np.ndarray, a: int, b: int, mod: int) -> np.ndarray:
    """A bijection on [0, mod): realistic-looking, unique ids from sequential numbers."""
    return (np.asarray(x, dtype=np.int64) * a + b) % mod


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: hash-looking 64-bit values (user ids are hashed upstream)."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


# extra earlier partner deliveries carrying file faults when no earlier snapshot exists (national mode):
# (partner, seconds before its last snapshot, purpose)
NATIONAL_FILE_FAULTS = (("FH", 3 * HOUR, "partial"), ("DX", 4 * HOUR, "row_parse"), ("DX", 3 * HOUR, "volume_drop"))


class Simulator:
    def __init__(self, cfg: SimConfig, out: Path):
        self.cfg = cfg
        self.out = Path(out)
        self.rng = np.random.default_rng(cfg.seed)
        self.truth = Truth()
        self.landing = Landing(self.out)
        self.base_dt = datetime.combine(cfg.d0, datetime.min.time())
        self.now = cfg.now_s
        self.cut = (self.now // HOUR) * HOUR  # order events from here on are still being written

    # -------- formatting helpers ------------------------------------------------------------------
    def ts(self, s: int, fmt: str = FMT) -> str:
        return (self.base_dt + timedelta(seconds=int(s))).strftime(fmt)

    def day(self, d: int) -> str:
        return (self.cfg.d0 + timedelta(days=int(d))).isoformat()

    def ts_expr(self, col: str | pl.Expr, fmt: str = FMT) -> pl.Expr:
        e = pl.col(col) if isinstance(col, str) else col
        return (pl.lit(self.base_dt) + pl.duration(seconds=e)).dt.strftime(fmt)

    def date_expr(self, col: str) -> pl.Expr:
        return (pl.lit(self.cfg.d0) + pl.duration(days=pl.col(col))).dt.strftime("%Y-%m-%d")

    # =================================================================================================
    def run(self) -> dict:
        t0 = time.monotonic()
        cfg = self.cfg
        self.world = build_world(self.rng, cfg.cinemas, [p.share for p in PARTNERS], cfg.d0.toordinal())
        self._platform_coverage()
        self._write_reference()
        self._build_shows()
        self._plan_schedule_faults()
        self._build_orders()
        self._plan_snapshots()
        self._write_partner_snapshots()
        self._write_crawls()
        self._write_orders()
        self._write_pickup_codes()
        self._write_complaints()
        self._redeliveries()
        self._feed_late_truth()
        self._name_variant_truth()
        return self._write_truth(time.monotonic() - t0)

    # -------- platforms: coverage, ids, aliases ------------------------------------------------------
    def _platform_coverage(self) -> None:
        rng, w = self.rng, self.world
        n = self.cfg.cinemas
        cin = w.cinemas
        cols = {}
        self.unmapped: list[set[int]] = []
        for q, plat in enumerate(PLATFORMS):
            covered = rng.random(n) < PLATFORM_COVERAGE[q]
            u = rng.random(n)
            mapping = np.where(~covered, 0, np.where(u < 0.85, 1, 2))  # 0 absent, 1 alias, 2 name-matchable
            cand = np.flatnonzero(mapping == 2)
            k = min(len(cand), max(3, round(0.04 * n)))
            unm = rng.choice(cand, size=k, replace=False) if k else np.array([], dtype=int)
            mapping[unm] = 3  # 3: no alias and a name too different to match -> UNMAPPED_ENTITY
            self.unmapped.append(set(int(x) for x in unm))
            cols[f"cov{q}"] = mapping
            ids = _affine(np.arange(n), 7919, 104729 + 31 * q, 900000) + 100000
            cols[f"pcid{q}"] = [f"{x}" if q == 0 else f"tpp{x:07d}" for x in ids]
        self.world.cinemas = cin.with_columns(*[pl.Series(k, v) for k, v in cols.items()])
        # both platforms list the cinema and detection can map both -> show-level faults are decidable
        c = self.world.cinemas
        self.both_covered = ((c["cov0"].is_in([1, 2])) & (c["cov1"].is_in([1, 2]))).to_numpy()
        self.any_covered = ((c["cov0"] > 0) | (c["cov1"] > 0)).to_numpy()

    def _platform_cinema_names(self, q: int) -> list[str]:
        c = self.world.cinemas
        out = []
        for i, (brand, city, lm, name, cov) in enumerate(zip(c["brand"], c["city"], c["landmark"], c["cinema_name"],
                                                             c[f"cov{q}"])):
            if cov == 3:  # another brand and a place no reference name uses: nothing to match on but the city
                out.append(f"{OTHER_NAMES[(i + q) % len(OTHER_NAMES)]}({UNMATCHABLE_PLACES[(3 * i + q) % 8]}"
                           f"{'旗舰店' if q else '店'})")
            elif cov == 2:  # name variant: matchable within the city
                out.append(f"{brand}{lm}店" if q == 0 else f"{brand}({lm}店)")
            else:
                out.append(name if q == 0 else f"{brand}{city}{lm}店")
        return out

    def _write_reference(self) -> None:
        ref = self.out / "reference"
        ref.mkdir(parents=True, exist_ok=True)
        c = self.world.cinemas
        c.select(REFERENCE["cinemas"].contract_names).write_csv(ref / "cinemas.csv")
        rows = []
        for q, plat in enumerate(PLATFORMS):
            sel = c.filter(pl.col(f"cov{q}") == 1)
            rows.append(pl.DataFrame({"source": [plat] * sel.height, "source_cinema_id": sel[f"pcid{q}"],
                                      "cinema_code": sel["cinema_code"]}))
        pl.concat(rows).write_csv(ref / "cinema_aliases.csv")
        f = self.world.films
        f.rename({"title": "film_name"}).select(REFERENCE["films"].contract_names).write_csv(ref / "films.csv")

    # -------- the true schedule ---------------------------------------------------------------------
    def _build_shows(self) -> None:
        rng, w, cfg = self.rng, self.world, self.cfg
        halls = w.halls
        H = halls.height
        D = cfg.days + 2
        S = 8
        films = w.films
        n_titles = w.film_titles.height
        pop = w.film_titles["popularity"].to_numpy()
        # version lookups per title
        fv_of = {v: np.full(n_titles, -1, dtype=np.int64) for v in ("2D", "3D", "IMAX 3D", "中国巨幕")}
        for fv, film, ver in zip(films["fv"], films["film"], films["version"]):
            fv_of[ver][film] = fv
        default = np.where(fv_of["2D"] >= 0, fv_of["2D"], fv_of["3D"])
        default = np.where(default >= 0, default, fv_of["IMAX 3D"])
        hall_kind = np.repeat(halls["kind"].to_numpy(), D)
        n = H * D
        title = rng.choice(n_titles, size=(n, S), p=pop / pop.sum())
        # IMAX / giant-screen halls mostly show the film that has such a version
        big = np.isin(hall_kind, [2, 3])
        has_big = (fv_of["IMAX 3D"] >= 0) | (fv_of["中国巨幕"] >= 0)
        big_titles = np.flatnonzero(has_big)
        bp = pop[big_titles] / pop[big_titles].sum()
        title[big] = rng.choice(big_titles, size=(int(big.sum()), S), p=bp)
        kind2 = np.repeat(hall_kind[:, None], S, axis=1)
        fv = default[title]
        use3d = (rng.random((n, S)) < 0.25) & (fv_of["3D"][title] >= 0)
        fv = np.where(use3d, fv_of["3D"][title], fv)
        fv = np.where((kind2 == 2) & (fv_of["IMAX 3D"][title] >= 0), fv_of["IMAX 3D"][title], fv)
        fv = np.where((kind2 == 3) & (fv_of["中国巨幕"][title] >= 0), fv_of["中国巨幕"][title], fv)
        dur = films["duration_min"].to_numpy()[fv]
        gap = rng.integers(15, 61, size=(n, S))
        open_min = 600 + 5 * rng.integers(0, 25, size=n)
        step = dur + gap
        cum = np.cumsum(step, axis=1) - step
        start_min = ((open_min[:, None] + cum + 4) // 5) * 5
        keep = start_min <= 24 * 60 + 40  # last shows start after midnight: previous business date
        hall_idx = np.repeat(np.arange(H), D)
        bday = np.tile(np.arange(D), H)
        r, s = np.nonzero(keep)
        hall = hall_idx[r]
        cin = halls["cin"].to_numpy()[hall]
        kind = halls["kind"].to_numpy()[hall]
        fvs = fv[r, s]
        m = len(r)
        partner = w.cinemas["partner"].to_numpy()[cin]
        add = np.array([k[4] for k in HALL_KINDS])[kind]
        list_fen = (5000 + add + 500 * rng.integers(0, 9, size=m)).astype(np.int64)
        sale_fen = (np.round(list_fen * rng.uniform(0.45, 0.7, size=m) / 100) * 100 - 10).astype(np.int64)
        fee_fen = (np.array([p.fee_fen for p in PARTNERS])[partner] + 50 * rng.integers(0, 3, size=m)).astype(np.int64)
        start_s = (bday[r] * DAY + start_min[r, s] * MIN).astype(np.int64)
        upd_s = start_s - rng.integers(2 * DAY, 6 * DAY, size=m)
        upd_s = (upd_s // MIN) * MIN + rng.integers(0, 60, size=m)
        self.shows = pl.DataFrame({
            "sid": np.arange(m, dtype=np.int64), "cin": cin.astype(np.int64), "hall": hall.astype(np.int64),
            "bday": bday[r].astype(np.int64), "start_s": start_s, "fv": fvs.astype(np.int64),
            "list_fen": list_fen, "sale_fen": sale_fen, "fee_fen": fee_fen, "upd_s": upd_s.astype(np.int64),
            "partner": partner.astype(np.int64),
            "pop": (pop[title[r, s]] / max(pop[title[r, s]].mean(), 1e-9)).astype(np.float64),  # mean 1 per show
        })
        self.dur = films["duration_min"].to_numpy()
        # change columns (see module docstring); NEVER = does not happen
        z = np.zeros(m, dtype=np.int64)
        never = np.full(m, NEVER, dtype=np.int64)
        self.col = {
            "ch_ts": never.copy(), "ch_start": start_s.copy(), "ch_hall": hall.astype(np.int64).copy(),
            "ch_fv": fvs.astype(np.int64).copy(),
            "cx_ts": never.copy(), "cx_vanish": z.copy(),
            "pr_ts": never.copy(), "pr_sale": sale_fen.copy(),
            "pf_ts": never.copy(), "pf_start": start_s.copy(), "pf_hall": hall.astype(np.int64).copy(),
            "pf_fv": fvs.astype(np.int64).copy(), "pf_sale": sale_fen.copy(), "pf_drop": z.copy(),
            "dup_ts": never.copy(), "ri_ts": never.copy(), "bu_ts": never.copy(),
            "sp_ts": np.full(m, -1, dtype=np.int64), "sp_start": start_s.copy(),
            "ghost": z.copy(), "pl_ts": never.copy(), "pl_q": np.full(m, -1, dtype=np.int64),
            "pl_start": start_s.copy(), "forced": z.copy(),
        }

    # -------- choosing where faults go ---------------------------------------------------------------
    def _n(self) -> int:
        return max(5, round(self.cfg.fault_rate * self.cfg.cinemas))

    def _plan_schedule_faults(self) -> None:
        rng, cfg = self.rng, self.cfg
        sh = self.shows
        m = sh.height
        start = sh["start_s"].to_numpy().copy()
        hall = sh["hall"].to_numpy()
        bday = sh["bday"].to_numpy()
        cin = sh["cin"].to_numpy()
        end = start + self.dur[sh["fv"].to_numpy()] * MIN
        self.start, self.hall_arr, self.bday_arr, self.cin_arr, self.end = start, hall, bday, cin, end
        # shows are generated sorted by hall, day, start: first/last of a hall-day
        hd = hall * 1000 + bday
        first = np.r_[True, hd[1:] != hd[:-1]]
        last = np.r_[hd[1:] != hd[:-1], True]
        last_day = cfg.days - 1
        cand = np.flatnonzero(self.both_covered[cin] & (bday >= last_day) & (bday <= last_day + 1)
                              & (start > self.now + 2 * HOUR))
        # shows no other show of the cinema starts within 10 min of (vectorised first pass of unique_start)
        o = np.lexsort((start, bday, cin))
        so, ko = start[o], cin[o] * 1000 + bday[o]
        close = np.zeros(m, dtype=bool)
        near = (np.diff(so) <= 10 * MIN) & (ko[1:] == ko[:-1])
        close[o[1:][near]] = True
        close[o[:-1][near]] = True
        cand = cand[~close[cand]]
        cand = cand[rng.permutation(len(cand))]
        used_hd: set[int] = set()
        used: set[int] = set()
        self._cin_day_index = None
        c = self.col
        n = self._n()
        T = self.truth
        codes = self.world.cinemas["cinema_code"].to_list()
        pcode = [p.code for p in PARTNERS]
        hall_no = self.world.halls["hall_no"].to_numpy()

        def take(k: int, pred) -> list[int]:
            out = []
            for i in cand:
                if len(out) >= k:
                    break
                i = int(i)
                if i in used or int(hd[i]) in used_hd or not pred(i):
                    continue
                out.append(i)
                used.add(i)
                used_hd.add(int(hd[i]))
            return out

        def unique_start(i: int, t: int) -> bool:
            """No other show of the cinema starts within 10 min: the truth key (cinema, start) is unambiguous."""
            others = self._cin_day(i)
            return not np.any(np.abs(start[others] - t) <= 10 * MIN)

        def later_shift(i: int) -> int:
            """A 30-90 min later start that stays unambiguous, or 0."""
            for k in rng.permutation(np.arange(6, 19)):
                if unique_start(i, start[i] + int(k) * 5 * MIN):
                    return int(k) * 5 * MIN
            return 0

        def free_hall(i: int, new_start: int, new_end: int) -> int:
            """Another hall of the cinema idle from 15 min before to 15 min after the show."""
            same = self._cin_day(i)
            busy = {int(hall[j]) for j in same if start[j] < new_end + 15 * MIN and end[j] > new_start - 15 * MIN}
            for h in sorted({int(hall[j]) for j in same}):
                if h not in busy and (h * 1000 + int(bday[i])) not in used_hd:
                    return h
            return -1

        swap_hall: dict[int, int] = {}

        def reserve_hall(i: int) -> bool:
            """Pick show i's free hall and reserve that hall-day now. ``take`` tests every candidate before
            any is used, so choosing the hall only afterwards let two shows of one cinema-day claim the same
            free hall; the second then found none (-1: a partner row with no hall, truth naming hall_no[-1])."""
            h = free_hall(i, start[i], end[i])
            if h < 0:
                return False
            swap_hall[i] = h
            used_hd.add(h * 1000 + int(bday[i]))
            return True

        def onset() -> int:
            return int(self.now - rng.integers(4 * HOUR, 6 * HOUR))

        def rec(kind, cat, rule, i, src, show_start=None, **detail):
            return T.add(kind, cat, rule, src, cinema_code=codes[cin[i]], business_date=self.day(bday[i]),
                         show_start_time=self.ts(start[i] if show_start is None else show_start), detail=detail)

        # HALL_OVERLAP: the cinema's own schedule has two shows overlapping in one hall; every source
        # shows it (so there is no time mismatch), the partner is at fault.
        def overlap_start(i: int) -> int:
            return int(((end[i - 1] - 25 * MIN) // (5 * MIN)) * 5 * MIN)

        for i in take(n, lambda i: not first[i] and unique_start(i, overlap_start(i))):
            prev_end = end[i - 1]
            new = overlap_start(i)
            shift = start[i] - new
            start[i] = new
            end[i] -= shift
            for k in ("ch_start", "pf_start", "sp_start", "pl_start"):
                c[k][i] = new
            rec("fault", "HALL_OVERLAP", "overlap", i, pcode[self._partner(i)],
                overlaps_show_start=self.ts(start[i - 1]), overlap_min=int((prev_end - new) // MIN),
                hall_no=int(hall_no[hall[i]]))
        # SHOW_EXTRA: a ghost show only the partner lists (no platform, no orders)
        for i in take(n, lambda i: True):
            c["ghost"][i] = 1
            rec("fault", "SHOW_EXTRA", "ghost", i, pcode[self._partner(i)], hall_no=int(hall_no[hall[i]]))
        # SHOW_MISSING: partner drops a show both platforms list
        for i in take(n, lambda i: True):
            c["pf_ts"][i] = onset()
            c["pf_drop"][i] = 1
            rec("fault", "SHOW_MISSING", "dropped", i, pcode[self._partner(i)], since=self.ts(c["pf_ts"][i]))
        # SHOW_TIME_MISMATCH (partner): last show of the hall-day moved later (no overlap created)
        for i in take(n, lambda i: last[i] and later_shift(i) > 0):
            c["pf_ts"][i] = onset()
            c["pf_start"][i] = start[i] + later_shift(i)
            rec("fault", "SHOW_TIME_MISMATCH", "time_shift", i, pcode[self._partner(i)],
                partner_start=self.ts(c["pf_start"][i]), true_start=self.ts(start[i]))
        # SHOW_TIME_MISMATCH (platform side): one platform off, partner + other platform agree
        for i in take(max(3, n // 2), lambda i: last[i] and later_shift(i) > 0):
            q = int(rng.integers(0, 2))
            c["pl_ts"][i] = onset()
            c["pl_q"][i] = q
            c["pl_start"][i] = start[i] + later_shift(i)
            rec("fault", "SHOW_TIME_MISMATCH", "time_shift", i, PLATFORMS[q],
                platform_start=self.ts(c["pl_start"][i]), true_start=self.ts(start[i]))
        # SHOW_HALL_MISMATCH: partner puts the show into another (idle) hall
        for i in take(n, reserve_hall):
            h = swap_hall[i]
            c["pf_ts"][i] = onset()
            c["pf_hall"][i] = h
            rec("fault", "SHOW_HALL_MISMATCH", "hall_swap", i, pcode[self._partner(i)],
                partner_hall_no=int(hall_no[h]), true_hall_no=int(hall_no[hall[i]]))
        # SHOW_FILM_MISMATCH: partner lists another film of no longer duration
        fv = sh["fv"].to_numpy()
        for i in take(n, lambda i: self._other_film(int(fv[i])) >= 0):
            c["pf_ts"][i] = onset()
            c["pf_fv"][i] = self._other_film(int(fv[i]))
            films = self.world.films
            rec("fault", "SHOW_FILM_MISMATCH", "film_swap", i, pcode[self._partner(i)],
                partner_film_code=films["film_code"][int(c["pf_fv"][i])], true_film_code=films["film_code"][int(fv[i])])
        # SHOW_PRICE_MISMATCH: partner sale price far from what platforms show (>20 %)
        sale = sh["sale_fen"].to_numpy()
        for i in take(n, lambda i: True):
            c["pf_ts"][i] = onset()
            f = rng.choice([0.55, 0.6, 1.45, 1.5])
            lst = int(sh["list_fen"][i])
            new = min(int(round(sale[i] * f / 100) * 100 - 10), lst - 10)  # never above list: no sale_gt_list
            c["pf_sale"][i] = new
            rec("fault", "SHOW_PRICE_MISMATCH", "price", i, pcode[self._partner(i)],
                partner_sale_fen=new, true_sale_fen=int(sale[i]))
        # SHOW_DUPLICATE: the same show twice under two show codes
        for i in take(n, lambda i: True):
            c["dup_ts"][i] = onset()
            rec("fault", "SHOW_DUPLICATE", "two_codes", i, pcode[self._partner(i)],
                show_codes=[self._show_code(i, 0), self._show_code(i, 2)])
        # real changes after sale (ORDER_SHOW_CHANGED rows come once orders exist)
        self.changed: list[tuple[int, str]] = []
        kinds = ["time_shift", "hall_swap", "film_swap"]
        accepted = [0]

        def change_ok(i: int) -> bool:  # the j-th accepted show gets kinds[j % 3]; only a hall swap takes a hall
            if not (last[i] and free_hall(i, start[i], end[i]) >= 0 and self._other_film(int(fv[i])) >= 0):
                return False
            if kinds[accepted[0] % 3] == "hall_swap":
                reserve_hall(i)
            accepted[0] += 1
            return True

        for j, i in enumerate(take(n, change_ok)):
            kind = kinds[j % 3]
            c["ch_ts"][i] = int(self.now - rng.integers(CHANGE_MIN_AGE, 10 * HOUR))
            c["forced"][i] = 1
            if kind == "time_shift":
                c["ch_start"][i] = start[i] + (later_shift(i) or 30 * MIN)
            elif kind == "hall_swap":
                c["ch_hall"][i] = swap_hall[i]
            else:
                c["ch_fv"][i] = self._other_film(int(fv[i]))
            self.changed.append((i, kind))
        # cancellations after sale
        self.cancelled: list[tuple[int, str]] = []
        for j, i in enumerate(take(n, lambda i: True)):
            c["cx_ts"][i] = int(self.now - rng.integers(CHANGE_MIN_AGE, 10 * HOUR))
            c["cx_vanish"][i] = j % 2
            c["forced"][i] = 2
            self.cancelled.append((i, "vanished" if j % 2 else "cancel"))
        # ---- benign churn ----
        for i in take(n, lambda i: True):  # re-issued show code: old code disappears, new one appears
            c["ri_ts"][i] = int(self.now - rng.integers(2 * HOUR, 8 * HOUR))
            rec("benign", "REISSUED_SHOW_CODE", "reissue", i, pcode[self._partner(i)],
                old_code=self._show_code(i, 0), new_code=self._show_code(i, 3), at=self.ts(c["ri_ts"][i]))
        for i in take(n, lambda i: True):
            c["bu_ts"][i] = int(self.now - rng.integers(2 * HOUR, 8 * HOUR))
            rec("benign", "BUMPED_UPDATE_TIME", "bump", i, pcode[self._partner(i)], at=self.ts(c["bu_ts"][i]))
        for i in take(n, lambda i: True):
            c["pr_ts"][i] = int(self.now - rng.integers(CHANGE_MIN_AGE, 10 * HOUR))
            c["pr_sale"][i] = int(round(sale[i] * 0.85 / 100) * 100 - 10)
            rec("benign", "REAL_PRICE_CHANGE", "price_change", i, pcode[self._partner(i)],
                old_sale_fen=int(sale[i]), new_sale_fen=int(c["pr_sale"][i]), at=self.ts(c["pr_ts"][i]))
        self.spurious = take(n, lambda i: last[i])  # assigned a snapshot once the snapshot plan exists

    def _cin_day(self, i: int) -> np.ndarray:
        if self._cin_day_index is None:
            key = self.cin_arr * 100 + self.bday_arr
            order = np.argsort(key, kind="stable")
            ks = key[order]
            bounds = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1], True])
            self._cin_day_index = {int(ks[bounds[j]]): order[bounds[j]:bounds[j + 1]] for j in range(len(bounds) - 1)}
        idx = self._cin_day_index[int(self.cin_arr[i] * 100 + self.bday_arr[i])]
        return idx[self.hall_arr[idx] != self.hall_arr[i]]

    def _partner(self, i: int) -> int:
        return int(self.world.cinemas["partner"][int(self.cin_arr[i])])

    def _other_film(self, fv: int) -> int:
        films = self.world.films
        ver = films["version"][fv]
        title = films["film"][fv]
        ok = films.filter((pl.col("version") == ver) & (pl.col("film") != title)
                          & (pl.col("duration_min") <= films["duration_min"][fv]))
        if ok.height == 0:
            return -1
        return int(ok["fv"][(fv * 7) % ok.height])

    def _show_code(self, sid: int | np.ndarray, variant: int):
        """Partner show code: 0 original, 2 duplicate row, 3 re-issued."""
        x = np.asarray(sid, dtype=np.int64) + variant * 50_000_000
        v = _affine(x, 7_654_321, 1_234_567, 10**10)
        if np.ndim(v) == 0:
            return f"{int(v):010d}"
        return v

    # -------- orders ----------------------------------------------------------------------------------
    def _build_orders(self) -> None:
        rng, cfg = self.rng, self.cfg
        sh = self.shows
        c = self.col
        m = sh.height
        pop = sh["pop"].to_numpy()
        ok = (c["ghost"] == 0)
        lam = cfg.orders_per_show * pop * ok
        k = rng.poisson(lam)
        sid = np.repeat(np.arange(m), k)
        lead = np.minimum(rng.exponential(10 * HOUR, size=len(sid)), 3 * DAY).astype(np.int64) + 10 * MIN
        created = self.start[sid] - lead
        keep = (created >= cfg.sim_start_s) & (created < self.now - MIN) & (created < c["cx_ts"][sid])
        sid, created = sid[keep], created[keep]
        forced_flag = np.zeros(len(sid), dtype=np.int64)
        # forced orders: every changed / cancelled show has live orders bought before the change
        fs = np.flatnonzero(c["forced"] > 0)
        if len(fs):
            eff = np.minimum(c["ch_ts"][fs], c["cx_ts"][fs])
            fsid = np.repeat(fs, 3)
            fcreated = np.repeat(eff, 3) - rng.integers(HOUR, 20 * HOUR, size=len(fsid))
            fcreated = np.maximum(fcreated, cfg.sim_start_s + rng.integers(0, HOUR, size=len(fsid)))
            sid = np.r_[sid, fsid]
            created = np.r_[created, fcreated]
            forced_flag = np.r_[forced_flag, np.tile([1, 2, 1], len(fs))]  # 2: bought via a code channel
        o = np.lexsort((created, sid))
        sid, created, forced_flag = sid[o], created[o], forced_flag[o]
        n = len(sid)
        tickets = rng.choice([1, 2, 3, 4], size=n, p=[0.3, 0.5, 0.1, 0.1])
        # seats: sequential per show (no double sale unless injected), drop orders beyond capacity
        cum = pl.DataFrame({"s": sid, "t": tickets}).with_columns(pl.col("t").cum_sum().over("s").alias("c"))["c"].to_numpy()
        first_seat = cum - tickets
        hall_bought = np.where(created >= c["ch_ts"][sid], c["ch_hall"][sid], self.hall_arr[sid])
        seat_total = self.world.halls["seat_total"].to_numpy()[hall_bought]
        fits = cum <= seat_total * 0.95
        sel = np.flatnonzero(fits)
        sid, created, forced_flag, tickets, first_seat, hall_bought = (
            sid[sel], created[sel], forced_flag[sel], tickets[sel], first_seat[sel], hall_bought[sel])
        n = len(sid)
        channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_W / CHANNEL_W.sum())
        channel = np.where(forced_flag == 2, 3 + (np.arange(n) % 2), np.where(forced_flag == 1, 0, channel))
        forced = forced_flag > 0
        # lifecycle
        paid = (rng.random(n) < 0.88) | forced
        t_paid = created + rng.integers(20, 300, size=n)
        t_cancel = created + 15 * MIN
        fail = paid & (rng.random(n) < 0.015) & ~forced
        t_issue = t_paid + rng.integers(2, 40, size=n)
        start_b = np.where(created >= c["ch_ts"][sid], c["ch_start"][sid], self.start[sid])
        t_refund_user = t_issue + (rng.random(n) * np.maximum(start_b - 30 * MIN - t_issue, 0)).astype(np.int64)
        refund_user = paid & ~fail & (rng.random(n) < 0.03) & ~forced & (t_refund_user > t_issue)
        t_refund = np.where(fail, t_issue + 10 * MIN, t_refund_user)
        refund = fail | refund_user
        t_print = np.maximum(start_b - rng.integers(5 * MIN, 50 * MIN, size=n), t_issue + MIN)
        printed = paid & ~fail & ~refund & (rng.random(n) < 0.6)
        # arrival in the landing: seconds later, a few events hours late, a few out of order
        plain_show = c["forced"][sid] == 0  # orders of changed/cancelled shows arrive on time (exact truth)
        late = (rng.random(n) < 0.01) & ~forced & plain_show
        ooo = (rng.random(n) < 0.006) & ~forced & ~late & plain_show
        self.orders = pl.DataFrame({
            "oi": np.arange(n, dtype=np.int64), "sid": sid, "created": created, "tickets": tickets,
            "first_seat": first_seat, "hall_b": hall_bought, "channel": channel, "forced": forced_flag,
            "paid": paid, "t_paid": t_paid, "t_cancel": t_cancel, "fail": fail, "t_issue": t_issue,
            "refund": refund, "t_refund": t_refund, "printed": printed, "t_print": t_print,
            "late": late, "ooo": ooo,
        })
        self._order_ids()
        self._seat_faults()

    def _order_ids(self) -> None:
        o = self.orders
        n = o.height
        rng = self.rng
        oid = _affine(np.arange(n), 48271, 9_000_001, 10**11)
        users = max(1, int(n * 0.7))
        uidx = rng.integers(0, users, size=n)
        uh = _mix64(uidx.astype(np.uint64) + np.uint64(self.cfg.seed) * np.uint64(1_000_003))
        uh2 = _mix64(uh)
        mob_pre = np.array([133, 135, 136, 138, 139, 150, 152, 158, 177, 180, 186, 188, 189, 199])
        mobile = mob_pre[uidx % len(mob_pre)] * 10**8 + _affine(uidx, 7919, 13, 10**8)
        pno = _affine(np.arange(n), 69621, 5_000_003, 10**9)
        self.orders = o.with_columns(
            pl.Series("order_id", [f"TK{self.cfg.d0:%y%m}{x:011d}" for x in oid]),
            pl.Series("user_id", [f"{a:016x}{b:016x}" for a, b in zip(uh, uh2)]),
            pl.Series("mobile", [str(x) for x in mobile]),
            pl.Series("pno", pno),
        )

    def _final_status(self) -> np.ndarray:
        """Status of each order as the delivered files (event arrival before ``cut``) show it."""
        o = self.orders
        cut = self.cut
        g = lambda k: o[k].to_numpy()  # noqa: E731
        st = np.full(o.height, "CREATED", dtype=object)
        st = np.where(~g("paid") & (g("t_cancel") < cut), "CANCELLED", st)
        st = np.where(g("paid") & (g("t_paid") < cut), "PAID", st)
        st = np.where(g("paid") & ~g("fail") & (g("t_issue") < cut), "ISSUED", st)
        st = np.where(g("fail") & (g("t_issue") < cut), "ISSUE_FAILED", st)
        st = np.where(g("refund") & (g("t_refund") < cut), "REFUNDED", st)
        st = np.where(g("printed") & (g("t_print") < cut), "PRINTED", st)
        # late events may not have arrived yet: be conservative, late orders never count as fault rows
        return st

    def _seat_faults(self) -> None:
        """SEAT_DOUBLE_SOLD: a later live order of a show gets a seat an earlier live order holds."""
        o = self.orders
        c = self.col
        st = self._final_status()
        live = np.isin(st, ["PAID", "ISSUED", "PRINTED"]) & ~o["late"].to_numpy() & ~o["ooo"].to_numpy()
        # settled: no event of the order falls just before the cut (its arrival could miss the last
        # delivered file), so the status the truth relies on is exactly what the files show
        g = lambda k: o[k].to_numpy()  # noqa: E731
        lo, hi = self.cut - 10 * MIN, self.now
        near = lambda t, on: on & (t >= lo) & (t <= hi)  # noqa: E731
        unsettled = (near(g("created"), True) | near(g("t_paid"), g("paid")) | near(g("t_cancel"), ~g("paid"))
                     | near(g("t_issue"), g("paid")) | near(g("t_refund"), g("refund"))
                     | near(g("t_print"), g("printed")))
        live &= ~unsettled
        sid = o["sid"].to_numpy()
        plain = (c["forced"][sid] == 0) & (c["ch_ts"][sid] == NEVER) & (c["pf_ts"][sid] == NEVER) \
            & (c["ri_ts"][sid] == NEVER) & (c["dup_ts"][sid] == NEVER) & (self.start[sid] > self.now)
        idx = np.flatnonzero(live & plain)
        self.seat_override: dict[int, tuple[int, int]] = {}  # order row -> (ticket index, seat index)
        self.double_sold: list[tuple[int, int, int]] = []
        n = self._n()
        perm = self.rng.permutation(len(idx))
        done_shows: set[int] = set()
        by_show: dict[int, list[int]] = {}
        for j in idx:
            by_show.setdefault(int(sid[j]), []).append(int(j))
        for p in perm:
            if len(self.double_sold) >= n:
                break
            s = int(sid[idx[p]])
            if s in done_shows or len(by_show[s]) < 2:
                continue
            earlier, later = by_show[s][0], by_show[s][-1]
            seat = int(o["first_seat"][earlier])
            self.seat_override[later] = (0, seat)
            self.double_sold.append((earlier, later, seat))
            done_shows.add(s)

    def _seat_strings(self) -> pl.Series:
        o = self.orders
        halls = self.world.halls
        st = halls["seat_total"].to_numpy()[o["hall_b"].to_numpy()]
        cols = np.clip(np.round(np.sqrt(st * 1.6)).astype(np.int64), 6, 30)
        ex = pl.DataFrame({"oi": o["oi"], "n": o["tickets"], "f": o["first_seat"], "cols": cols}).with_columns(
            pl.int_ranges(0, pl.col("n")).alias("k")).explode("k").with_columns((pl.col("f") + pl.col("k")).alias("seat"))
        if self.seat_override:
            ov = pl.DataFrame({"oi": list(self.seat_override), "k": [v[0] for v in self.seat_override.values()],
                               "seat2": [v[1] for v in self.seat_override.values()]},
                              schema={"oi": pl.Int64, "k": pl.Int64, "seat2": pl.Int64})
            ex = ex.join(ov, on=["oi", "k"], how="left", maintain_order="left").with_columns(
                pl.coalesce("seat2", "seat").alias("seat"))
        ex = ex.with_columns(pl.format("{}排{}座", pl.col("seat") // pl.col("cols") + 1,
                                       pl.col("seat") % pl.col("cols") + 1).alias("s"))
        return ex.group_by("oi", maintain_order=True).agg(pl.col("s").str.join(","))["s"]

    def _seat_label(self, oi: int, seat: int) -> str:
        st = int(self.world.halls["seat_total"][int(self.orders["hall_b"][oi])])
        cols = int(np.clip(round(np.sqrt(st * 1.6)), 6, 30))
        return f"{seat // cols + 1}排{seat % cols + 1}座"

    # -------- snapshot plan ---------------------------------------------------------------------------
    def _plan_snapshots(self) -> None:
        cfg = self.cfg
        self.snap_times: dict[str, list[int]] = {}
        for p in PARTNERS:
            cadence = HOUR if cfg.snapshots_per_day is None else DAY // cfg.snapshots_per_day
            last = self.now - 65 * MIN + p.offset_min * MIN - (150 * MIN if p.code == LATE_PARTNER else 0)
            t = []
            x = last
            while x >= cfg.sim_start_s:
                t.append(x)
                x -= cadence
            self.snap_times[p.code] = sorted(t)
        self.crawl_times: dict[str, list[int]] = {}
        for q, plat in enumerate(PLATFORMS):
            cadence = 2 * HOUR if cfg.crawls_per_day is None else DAY // cfg.crawls_per_day
            x = self.now - PLATFORM_OFFSET_MIN[q] * MIN
            t = []
            while x >= cfg.sim_start_s:
                t.append(x)
                x -= cadence
            self.crawl_times[plat] = sorted(t)
        # special (non-latest) snapshots: (source, purpose) -> ts
        self.special: dict[tuple[str, int], str] = {}
        used: set[tuple[str, int]] = set()

        def pick(source: str, times: list[int], day: int) -> int | None:
            pool = [t for t in times[:-2] if t // DAY == day and (source, t) not in used]
            if not pool:
                pool = [t for t in times[:-2] if (source, t) not in used]
            if not pool:
                return None
            t = min(pool, key=lambda x: (abs((x % DAY) - 13 * HOUR), x))
            used.add((source, t))
            return t

        last_day = cfg.days - 1
        plan = [("FH", "partial", 0), ("HX", "partial", last_day), ("MAOYAN", "partial", 0),
                ("DX", "volume_drop", 0), ("MTX", "volume_drop", last_day),
                ("JY", "row_parse", 0), ("FH", "row_parse", last_day), ("DX", "row_parse", last_day),
                ("TAOPIAOPIAO", "row_parse", last_day),
                ("MTX", "sale_gt_list", 0), ("HX", "sale_gt_list", last_day), ("DX", "bump_all", last_day),
                ("FH", "seats_available_gt_total", last_day), ("JY", "seats_available_gt_total", last_day)]
        self.file_faults: dict[tuple[str, int], str] = {}
        for source, purpose, day in plan:
            times = self.snap_times.get(source) or self.crawl_times.get(source)
            t = pick(source, times, day)
            if t is not None:
                self.file_faults[(source, t)] = purpose
        if not self.file_faults:
            # National mode (one snapshot per partner): no earlier snapshot can carry a file fault, so a
            # few extra earlier deliveries do -- one of each kind a national day should also show: FH a
            # partial file (3 h before its last snapshot), DX a snapshot with malformed rows (4 h before:
            # also the baseline) and one with a volume drop (3 h before). The latest snapshots stay clean.
            for source, back, purpose in NATIONAL_FILE_FAULTS:
                t = self.snap_times[source][-1] - back
                if t >= cfg.sim_start_s and t not in self.snap_times[source]:
                    self.snap_times[source] = sorted(self.snap_times[source] + [t])
                    self.file_faults[(source, t)] = purpose
        # spurious one-snapshot changes: the second-to-last snapshot of the show's partner
        c = self.col
        for i in self.spurious:
            times = self.snap_times[PARTNERS[self._partner(i)].code]
            if len(times) < 3:
                continue
            t = times[-2]
            if self.file_faults.get((PARTNERS[self._partner(i)].code, t)):
                continue
            c["sp_ts"][i] = t
            c["sp_start"][i] = self.start[i] + 20 * MIN
            self.truth.add("benign", "SPURIOUS_CHANGE_REVERTED", "time_shift_one_snapshot",
                           PARTNERS[self._partner(i)].code,
                           cinema_code=self.world.cinemas["cinema_code"][int(self.cin_arr[i])],
                           business_date=self.day(self.bday_arr[i]), show_start_time=self.ts(self.start[i]),
                           detail={"snapshot_ts": self.ts(t), "shown_start": self.ts(c["sp_start"][i])})
        self.shows = self.shows.with_columns(pl.Series("start_s", self.start),
                                             *[pl.Series(k, v) for k, v in self.col.items()])

    # -------- partner snapshots -----------------------------------------------------------------------
    def _lookup_tables(self) -> None:
        if getattr(self, "_hall_tab", None) is not None:
            return
        h = self.world.halls
        kinds = h["kind"].to_list()
        nos = h["hall_no"].to_list()
        std = [HALL_KINDS[k][1].format(n=n) for k, n in zip(kinds, nos)]
        promo = [s + "(卖品套餐9.9元)" if k == 1 and n % 2 == 1 else s for s, k, n in zip(std, kinds, nos)]
        self._hall_tab = h.with_columns(
            pl.Series("hall_name_std", std), pl.Series("hall_name_promo", promo),
            pl.Series("hall_name_q0", [HALL_KINDS[k][2].format(n=n) for k, n in zip(kinds, nos)]),
            pl.Series("hall_name_q1", [HALL_KINDS[k][3].format(n=n) for k, n in zip(kinds, nos)]),
            pl.Series("hall_type", [HALL_KINDS[k][0] for k in kinds]),
            pl.format("{}", pl.col("hall_no").cast(pl.String).str.zfill(2)).alias("hall_code"),
        ).rename({"hall": "e_hall"})
        f = self.world.films
        suffix = {"2D": "（数字）", "3D": " 3D", "IMAX 3D": "(IMAX 3D)", "中国巨幕": "(中国巨幕)"}
        compact = {"2D": "2D", "3D": "3D", "IMAX 3D": "IMAX3D", "中国巨幕": "中国巨幕"}
        vt0 = [f"{lang} {compact[v]}" for lang, v in zip(f["language"], f["version"])]
        vt1 = [(f"原版{compact[v]}" if lang not in ("国语", "粤语") else f"{lang}{compact[v]}")
               for lang, v in zip(f["language"], f["version"])]
        fid0 = _affine(f["film"].to_numpy(), 9973, 1_200_000, 9_000_000) + 1_000_000
        fid1 = _affine(f["film"].to_numpy(), 7717, 300_000, 900_000) + 100_000
        self._film_tab = f.with_columns(
            pl.Series("film_name_raw", [t + suffix[v] for t, v in zip(f["title"], f["version"])]),
            pl.Series("vt0", vt0), pl.Series("vt1", vt1),
            pl.Series("pfid0", [str(x) for x in fid0]), pl.Series("pfid1", [f"{x}" for x in fid1]),
        ).rename({"fv": "e_fv"})
        cz = self.world.cinemas
        pids = []
        for i, pt in enumerate(cz["partner"].to_list()):
            p = PARTNERS[pt]
            x = int(_affine(np.array([i]), 104723, 3001 + pt, 1_000_000)[0])
            pids.append(f"{p.id_prefix}{x:06d}")
        self._cin_tab = cz.with_columns(pl.Series("partner_cinema_id", pids),
                                        pl.Series("pname0", self._platform_cinema_names(0)),
                                        pl.Series("pname1", self._platform_cinema_names(1)))

    def _partner_state(self, p_idx: int, ts: int, cins: tuple[int, int] | None = None) -> pl.DataFrame:
        d = (ts - 6 * HOUR) // DAY  # business date of the snapshot moment
        s = self.shows.filter((pl.col("partner") == p_idx) & pl.col("bday").is_between(d, d + 2))
        if cins is not None:
            s = s.filter(pl.col("cin").is_between(cins[0], cins[1] - 1))
        t = pl.lit(ts)
        pf = pl.col("pf_ts") <= t
        ch = pl.col("ch_ts") <= t
        s = s.filter(~(((pl.col("cx_ts") <= t) & (pl.col("cx_vanish") == 1)) | (pf & (pl.col("pf_drop") == 1))))
        s = s.with_columns(
            pl.when(pl.col("sp_ts") == t).then("sp_start").when(pf).then("pf_start").when(ch).then("ch_start")
            .otherwise("start_s").alias("e_start"),
            pl.when(pf).then("pf_hall").when(ch).then("ch_hall").otherwise("hall").alias("e_hall"),
            pl.when(pf).then("pf_fv").when(ch).then("ch_fv").otherwise("fv").alias("e_fv"),
            pl.when(pf).then("pf_sale").when(pl.col("pr_ts") <= t).then("pr_sale").otherwise("sale_fen").alias("e_sale"),
            pl.when(pl.col("cx_ts") <= t).then(pl.lit("CANCELLED")).otherwise(pl.lit("ON_SALE")).alias("status"),
            pl.max_horizontal(
                "upd_s", *[pl.when(pl.col(k) <= t).then(pl.col(k)).otherwise(pl.col("upd_s"))
                           for k in ("ch_ts", "pf_ts", "pr_ts", "cx_ts", "bu_ts", "ri_ts")],
                pl.when(pl.col("sp_ts") == t).then(t - 600).otherwise(pl.col("upd_s"))).alias("e_upd"),
            pl.when(pl.col("ri_ts") <= t).then(pl.col("sid") + 3 * 50_000_000).otherwise("sid").alias("code_x"),
        )
        dup = s.filter(pl.col("dup_ts") <= t).with_columns((pl.col("sid") + 2 * 50_000_000).alias("code_x"),
                                                          pl.col("dup_ts").alias("e_upd"))
        s = pl.concat([s, dup])
        s = s.with_columns(
            pl.when((pl.col("status") == "ON_SALE") & (pl.col("e_start") <= t + 15 * MIN)).then(pl.lit("STOP_SALE"))
            .otherwise("status").alias("status"))
        return s.sort(["cin", "e_hall", "e_start", "code_x"])

    def _cin_chunks(self) -> list[tuple[int, int]]:
        n = self.cfg.cinemas
        return [(a, min(a + CHUNK_CINEMAS, n)) for a in range(0, max(n, 1), CHUNK_CINEMAS)]

    def _partner_chunks(self, p: Partner, p_idx: int, ts: int):
        """The snapshot as encoded byte chunks (cinema ranges): national files never sit in memory whole."""
        for k, rng_ in enumerate(self._cin_chunks()):
            df = self._render_partner(p, p_idx, ts, rng_)
            text = df.write_csv(include_header=k == 0, quote_style="always" if p.quote_all else "necessary",
                                line_terminator="\r\n" if p.crlf else "\n")
            enc = p.encoding if k == 0 or p.encoding != "utf-8-sig" else "utf-8"
            yield text.encode(enc), df.height

    def _render_partner(self, p: Partner, p_idx: int, ts: int, cins: tuple[int, int] | None = None) -> pl.DataFrame:
        s = self._partner_state(p_idx, ts, cins)
        s = s.join(self._hall_tab.select("e_hall", "hall_code", "hall_name_std", "hall_name_promo", "hall_type",
                                         "seat_total"), on="e_hall", how="left", maintain_order="left")
        s = s.join(self._film_tab.select("e_fv", "film_code", "title", "film_name_raw", "language", "version",
                                         "duration_min"), on="e_fv", how="left", maintain_order="left")
        s = s.join(self._cin_tab.select("cin", "cinema_code", "partner_cinema_id", "cinema_name"), on="cin",
                   how="left", maintain_order="left")
        tf = ISO if p.iso_times else FMT
        hours_left = ((pl.col("e_start") - ts) / HOUR).clip(0, 72)
        fill = (1.05 * pl.col("pop").clip(0, 2) / 2 * (1 - hours_left / 72) ** 2).clip(0, 1)  # popular + imminent: sold out
        avail = (pl.col("seat_total") - (pl.col("seat_total") * fill).floor()).cast(pl.Int64)
        code = pl.col("code_x").map_batches(lambda x: pl.Series(self._show_code(x.to_numpy(), 0)), return_dtype=pl.Int64)
        out = s.select(
            pl.lit(self.ts(ts, tf)).alias("snapshot_ts"), "cinema_code", "partner_cinema_id", "cinema_name",
            "hall_code",
            pl.col("hall_name_promo" if p.promo_hall_names else "hall_name_std").alias("hall_name"),
            "hall_type", pl.col("seat_total").cast(pl.String),
            code.cast(pl.String).str.zfill(10).alias("show_code"),
            self.date_expr("bday").alias("business_date"),
            self.ts_expr("e_start", tf).alias("start_time"),
            self.ts_expr(pl.col("e_start") + pl.col("duration_min") * MIN, tf).alias("end_time"),
            "film_code", pl.col("film_name_raw" if p.raw_film_names else "title").alias("film_name"),
            "language", "version", pl.col("duration_min").cast(pl.String),
            pl.col("list_fen").cast(pl.String).alias("list_price_fen"),
            pl.col("e_sale").cast(pl.String).alias("sale_price_fen"),
            pl.col("fee_fen").cast(pl.String).alias("service_fee_fen"),
            pl.when(pl.col("status") == "ON_SALE").then(avail).otherwise(pl.lit(0)).cast(pl.String)
            .alias("seats_available"),
            pl.col("status").alias("show_status"),
            self.ts_expr("e_upd", tf).alias("partner_update_time"),
        )
        assert out.columns == FEEDS["partner_schedule"].contract_names
        return out

    def _write_partner_snapshots(self) -> None:
        self._lookup_tables()
        usual: dict[str, int] = {}
        for p_idx, p in enumerate(PARTNERS):
            times = self.snap_times[p.code]
            for ts in times:
                purpose = self.file_faults.get((p.code, ts))
                if purpose is None:
                    d = self.landing.deliver_chunks("partner_schedule", p.code, self.ts(ts, "%Y-%m-%d"),
                                                    self._partner_stem(p, ts), "csv",
                                                    self._partner_chunks(p, p_idx, ts), self.ts(ts))
                    usual[p.code] = d.rows
                else:
                    self._deliver_partner(p, ts, self._render_partner(p, p_idx, ts), purpose, usual)
            if p.code in ("MTX", "HX") and len(times) >= 3:  # next snapshot being written: no manifest yet
                ts = self.now - 3 * MIN
                d = self.landing.deliver_chunks("partner_schedule", p.code, self.ts(ts, "%Y-%m-%d"),
                                                self._partner_stem(p, ts), "csv",
                                                self._partner_chunks(p, p_idx, ts), self.ts(ts), manifest=False)
                self.truth.add("benign", "FILE_WITHOUT_MANIFEST", "in_progress", p.code, business_date=d.day,
                               detail={"file": d.rel})

    def _partner_stem(self, p: Partner, ts: int) -> str:
        return f"{p.code}_schedule_{self.ts(ts, '%Y%m%d_%H%M')}"

    def _deliver_partner(self, p: Partner, ts: int, df: pl.DataFrame, purpose: str | None, usual: dict) -> Delivery:
        stem = self._partner_stem(p, ts)
        day = self.ts(ts, "%Y-%m-%d")
        detail: dict = {}
        rng = self.rng
        if purpose == "volume_drop":
            per = df.group_by("cinema_code", maintain_order=True).len()
            order = rng.permutation(per.height)
            cum = np.cumsum(per["len"].to_numpy()[order])
            keep = per["cinema_code"].gather(order[cum <= 0.4 * df.height])  # well under half the usual rows
            full = df.height
            df = df.filter(pl.col("cinema_code").is_in(keep.implode()))
            detail = {"rows": df.height, "usual_rows": full, "later_snapshot_normal": True}
        if purpose == "bump_all":  # a partner-side re-sync touches every row, nothing really changed
            df = df.with_columns(pl.col("snapshot_ts").alias("partner_update_time"))
        bad_lines: list[dict] = []
        if purpose in ("sale_gt_list", "seats_available_gt_total", "row_parse") and df.height > 10:
            rows = sorted(int(x) for x in rng.choice(df.height, size=3, replace=False))
            ri = pl.int_range(pl.len())
            if purpose == "sale_gt_list":
                df = df.with_columns(pl.when(ri.is_in(rows)).then(
                    (pl.col("sale_price_fen").cast(pl.Int64) - 500).cast(pl.String)).otherwise("list_price_fen")
                    .alias("list_price_fen"))
            elif purpose == "seats_available_gt_total":
                df = df.with_columns(pl.when(ri.is_in(rows)).then(
                    (pl.col("seat_total").cast(pl.Int64) + 30).cast(pl.String)).otherwise("seats_available")
                    .alias("seats_available"))
            else:  # bad timestamp, non-numeric price; the third row gets a wrong field count below
                df = df.with_columns(
                    pl.when(ri == rows[0]).then(pl.lit("2026-02-30 25:70:00")).otherwise("start_time").alias("start_time"),
                    pl.when(ri == rows[1]).then(pl.lit("39.9元")).otherwise("sale_price_fen").alias("sale_price_fen"))
            bad_lines = [{"line": r + 2, "cinema_code": df["cinema_code"][r], "show_code": df["show_code"][r]}
                         for r in rows]
        text = df.write_csv(quote_style="always" if p.quote_all else "necessary",
                            line_terminator="\r\n" if p.crlf else "\n")
        if purpose == "row_parse" and bad_lines:
            nl = "\r\n" if p.crlf else "\n"
            lines = text.split(nl)
            li = bad_lines[2]["line"] - 1
            lines[li] = lines[li].rsplit(",", 1)[0]  # a field short
            text = nl.join(lines)
            for b, k in zip(bad_lines, ("bad_timestamp", "non_numeric_price", "wrong_field_count")):
                b["kind"] = k
        data = text.encode(p.encoding)
        truncate = None
        if purpose == "partial":
            cutpos = int(len(data) * 0.6)
            truncate = cutpos
        d = self.landing.deliver("partner_schedule", p.code, day, stem, "csv", data, df.height, self.ts(ts),
                                 manifest=purpose != "no_manifest", truncate_to=truncate)
        if purpose == "partial":
            self.truth.add("fault", "FEED_PARTIAL", "manifest_mismatch", p.code, business_date=day,
                           detail={"file": d.rel, "rows_manifest": df.height, "bytes_manifest": len(data),
                                   "bytes_in_file": truncate})
        elif purpose == "bump_all":
            self.truth.add("benign", "BUMPED_UPDATE_TIME", "bump_all_rows", p.code, business_date=day,
                           detail={"file": d.rel, "rows": df.height})
        elif purpose == "volume_drop":
            detail["file"] = d.rel
            self.truth.add("fault", "FEED_VOLUME_DROP", "volume_drop", p.code, business_date=day, detail=detail)
        elif purpose in ("sale_gt_list", "seats_available_gt_total", "row_parse") and bad_lines:
            self.truth.add("fault", "VALIDATION_FAILED", purpose, p.code, business_date=day,
                           detail={"file": d.rel, "rows": bad_lines})
        if purpose in (None, "bump_all") and d.manifest:
            usual[p.code] = df.height
        return d

    # -------- platform crawls -------------------------------------------------------------------------
    def _write_crawls(self) -> None:
        self._lookup_tables()
        for q, plat in enumerate(PLATFORMS):
            cov = self.world.cinemas[f"cov{q}"].to_numpy()
            covered = pl.Series(np.flatnonzero(cov > 0).astype(np.int64))
            for ts in self.crawl_times[plat]:
                purpose = self.file_faults.get((plat, ts))
                stem = f"{plat}_{self.ts(ts, '%Y%m%d_%H%M')}"
                if purpose is None:
                    self.landing.deliver_chunks("competitor_schedule", plat, self.ts(ts, "%Y-%m-%d"), stem, "jsonl",
                                                self._crawl_chunks(q, plat, ts, covered), self.ts(ts))
                    continue
                df = self._render_crawl(q, plat, ts, covered)
                lines = df.write_ndjson().splitlines() if df.height else []
                bad = []
                if purpose == "row_parse" and len(lines) > 10:
                    r = sorted(int(x) for x in self.rng.choice(len(lines), size=2, replace=False))
                    lines[r[0]] = lines[r[0]][: len(lines[r[0]]) // 2]  # broken JSON
                    lines[r[1]] = lines[r[1]].replace('"price_yuan":"', '"price_yuan":"约')
                    bad = [{"line": r[0] + 1, "kind": "truncated_json"}, {"line": r[1] + 1, "kind": "non_numeric_price"}]
                data = ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
                day = self.ts(ts, "%Y-%m-%d")
                trunc = int(len(data) * 0.5) if purpose == "partial" else None
                d = self.landing.deliver("competitor_schedule", plat, day, stem, "jsonl", data, len(lines),
                                         self.ts(ts), truncate_to=trunc)
                if purpose == "partial":
                    self.truth.add("fault", "FEED_PARTIAL", "manifest_mismatch", plat, business_date=day,
                                   detail={"file": d.rel, "rows_manifest": len(lines), "bytes_in_file": trunc})
                elif bad:
                    self.truth.add("fault", "VALIDATION_FAILED", "row_parse", plat, business_date=day,
                                   detail={"file": d.rel, "rows": bad})
        # UNMAPPED_ENTITY: platform cinemas with no alias and a name too different to match
        cz = self._cin_tab
        for q, plat in enumerate(PLATFORMS):
            for i in sorted(self.unmapped[q]):
                self.truth.add("fault", "UNMAPPED_ENTITY", "competitor_cinema_unmatched", plat,
                               business_date=self.day(self.cfg.days - 1),
                               detail={"platform_cinema_id": cz[f"pcid{q}"][i], "platform_cinema_name": cz[f"pname{q}"][i],
                                       "city": cz["city"][i], "true_cinema_code": cz["cinema_code"][i]})

    def _crawl_chunks(self, q: int, plat: str, ts: int, covered: pl.Series):
        for rng_ in self._cin_chunks():
            df = self._render_crawl(q, plat, ts, covered, rng_)
            yield (df.write_ndjson().encode("utf-8") if df.height else b""), df.height

    def _render_crawl(self, q: int, plat: str, ts: int, covered: pl.Series,
                      cins: tuple[int, int] | None = None) -> pl.DataFrame:
        d = (ts - 6 * HOUR) // DAY
        t = pl.lit(ts)
        ch = pl.col("ch_ts") <= t
        s = self.shows
        if cins is not None:
            s = s.filter(pl.col("cin").is_between(cins[0], cins[1] - 1))
        s = s.filter(pl.col("cin").is_in(covered.implode()) & pl.col("bday").is_between(d, d + 2)
                     & (pl.col("ghost") == 0) & (pl.col("cx_ts") > t))
        s = s.with_columns(
            pl.when((pl.col("pl_q") == q) & (pl.col("pl_ts") <= t)).then("pl_start").when(ch).then("ch_start")
            .otherwise("start_s").alias("e_start"),
            pl.when(ch).then("ch_hall").otherwise("hall").alias("e_hall"),
            pl.when(ch).then("ch_fv").otherwise("fv").alias("e_fv"),
            pl.when(pl.col("pr_ts") <= t).then("pr_sale").otherwise("sale_fen").alias("e_sale"),
        ).sort(["cin", "e_start", "e_hall"])
        s = s.join(self._hall_tab.select("e_hall", f"hall_name_q{q}", "seat_total"), on="e_hall", how="left",
                   maintain_order="left")
        s = s.join(self._film_tab.select("e_fv", "title", f"vt{q}", f"pfid{q}"), on="e_fv", how="left",
                   maintain_order="left")
        s = s.join(self._cin_tab.select("cin", f"pcid{q}", f"pname{q}", "city"), on="cin", how="left",
                   maintain_order="left")
        disc = ((pl.col("sid") * 2654435761 + q * 97) // 128 % 4) * 100 * (q + 1) // 2
        price = pl.col("e_sale") + pl.col("fee_fen") - disc
        minutes = (pl.col("e_start") % DAY) // MIN
        hours_left = ((pl.col("e_start") - ts) / HOUR).clip(0, 72)
        fill = (1.05 * pl.col("pop").clip(0, 2) / 2 * (1 - hours_left / 72) ** 2).clip(0, 1)  # popular + imminent: sold out
        sold_out = (pl.col("seat_total") * fill).floor() >= pl.col("seat_total")
        show_id = pl.col("sid").map_batches(
            lambda x: pl.Series(_affine(x.to_numpy(), 31337 + 1000 * q, 777 + q, 10**9) + 10**9), return_dtype=pl.Int64)
        out = s.select(
            pl.lit(self.ts(ts)).alias("crawl_ts"), pl.lit(plat).alias("platform"),
            pl.col(f"pcid{q}").alias("platform_cinema_id"), pl.col(f"pname{q}").alias("cinema_name"), "city",
            pl.col(f"pfid{q}").alias("platform_film_id"), pl.col("title").alias("film_name"),
            show_id.cast(pl.String).alias("platform_show_id"),
            self.date_expr("bday").alias("show_date"),
            pl.format("{}:{}", (minutes // 60).cast(pl.String).str.zfill(2),
                      (minutes % 60).cast(pl.String).str.zfill(2)).alias("start_time"),
            pl.col(f"hall_name_q{q}").alias("hall_name"), pl.col(f"vt{q}").alias("version_text"),
            pl.format("{}.{}", (price // 100).cast(pl.String), (price % 100).cast(pl.String).str.zfill(2))
            .alias("price_yuan"),
            sold_out.alias("sold_out"),
        )
        assert out.columns == FEEDS["competitor_schedule"].contract_names
        return out

    # -------- orders feed -----------------------------------------------------------------------------
    def _order_frame(self) -> pl.DataFrame:
        """Order-level columns as bought, joined to the show as it was when the order was created."""
        o = self.orders
        c = self.col
        sid = o["sid"].to_numpy()
        created = o["created"].to_numpy()
        after = created >= c["ch_ts"][sid]
        fv_b = np.where(after, c["ch_fv"][sid], self.shows["fv"].to_numpy()[sid])
        start_b = np.where(after, c["ch_start"][sid], self.start[sid])
        unit = np.where(created >= c["pr_ts"][sid], c["pr_sale"][sid], self.shows["sale_fen"].to_numpy()[sid])
        fee = self.shows["fee_fen"].to_numpy()[sid]
        code_x = np.where(created >= c["ri_ts"][sid], sid + 3 * 50_000_000, sid)
        cin = self.cin_arr[sid]
        pt = self.world.cinemas["partner"].to_numpy()[cin]
        tickets = o["tickets"].to_numpy()
        f = self._film_tab
        h = self._hall_tab
        pcodes = np.array([p.code for p in PARTNERS])
        return o.with_columns(
            pl.Series("partner_code", pcodes[pt]),
            pl.Series("partner_order_id", [f"{PARTNERS[a].code}{x:09d}" for a, x in zip(pt, o["pno"].to_numpy())]),
            pl.Series("channel_code", np.array(CHANNELS)[o["channel"].to_numpy()]),
            pl.Series("cinema_code", self.world.cinemas["cinema_code"].to_numpy()[cin]),
            pl.Series("show_code", [f"{x:010d}" for x in self._show_code(code_x, 0)]),
            pl.Series("start_b", start_b),
            pl.Series("hall_name", h["hall_name_std"].to_numpy()[o["hall_b"].to_numpy()]),
            pl.Series("film_code", f["film_code"].to_numpy()[fv_b]),
            pl.Series("film_name", f["title"].to_numpy()[fv_b]),
            pl.Series("version", f["version"].to_numpy()[fv_b]),
            pl.Series("unit_price_fen", unit), pl.Series("service_fee_fen", fee * tickets),
            pl.Series("total_fen", unit * tickets + fee * tickets),
            self._seat_strings().alias("seats"),
        )

    def _write_orders(self) -> None:
        self._lookup_tables()
        of = self._order_frame()
        self.order_frame = of
        rng = self.rng
        ev = []
        base_cols = ["oi", "late", "ooo"]

        def events(mask: pl.Expr, t: str, status: str, reason: str | pl.Expr) -> pl.DataFrame:
            return of.filter(mask).select(*base_cols, pl.col(t).alias("event_ts"), pl.lit(status).alias("status"),
                                          (reason if isinstance(reason, pl.Expr) else pl.lit(reason)).alias("status_reason"))

        ev.append(events(pl.lit(True), "created", "CREATED", ""))
        ev.append(events(~pl.col("paid"), "t_cancel", "CANCELLED", "支付超时"))
        ev.append(events(pl.col("paid"), "t_paid", "PAID", ""))
        ev.append(events(pl.col("paid") & ~pl.col("fail"), "t_issue", "ISSUED", ""))
        ev.append(events(pl.col("fail"), "t_issue", "ISSUE_FAILED", "影院系统出票超时"))
        ev.append(events(pl.col("refund"), "t_refund", "REFUNDED",
                         pl.when(pl.col("fail")).then(pl.lit("出票失败自动退款")).otherwise(pl.lit("用户申请退票"))))
        ev.append(events(pl.col("printed"), "t_print", "PRINTED", ""))
        e = pl.concat(ev).filter(pl.col("event_ts") < self.now)
        n = e.height
        delay = rng.integers(1, 90, size=n)
        e = e.with_columns(pl.Series("delay", delay))
        # late: the PAID/ISSUED event of the order arrives 1-3 h later
        e = e.with_columns(
            pl.when(pl.col("late") & pl.col("status").is_in(["PAID", "ISSUED"]))
            .then(pl.col("delay") + (pl.col("oi") * 7919 % 7200) + HOUR).otherwise("delay").alias("delay"))
        # out of order: CREATED arrives after PAID
        e = e.with_columns(
            pl.when(pl.col("ooo") & (pl.col("status") == "CREATED")).then(pl.col("delay") + 600)
            .otherwise("delay").alias("delay"))
        e = e.with_columns((pl.col("event_ts") + pl.col("delay")).alias("arrival"))
        # order-outcome faults (outage, stuck orders, undelivered codes, moved shows): simulate/outcome_faults.py
        e, self.outcome_faults = outcome_faults.inject_orders(of, e, self.truth, outcome_faults.Context.of(self))
        e = e.filter(pl.col("arrival") < self.now).select("oi", "event_ts", "status", "status_reason", "arrival")
        e = e.sort(["arrival", "oi", "event_ts"]).with_columns((pl.col("arrival") // HOUR).alias("hour"))
        strings = of.select("oi", "order_id", "partner_code", "partner_order_id", "channel_code", "user_id",
                             "mobile", "cinema_code", "show_code", "start_b", "hall_name", "film_code", "film_name",
                             "version", "tickets", "seats", "unit_price_fen", "service_fee_fen", "total_fen")
        cols = FEEDS["orders"].contract_names
        self.order_files: dict[int, Delivery] = {}
        for (hour,), lean in e.group_by("hour", maintain_order=True):
            part = lean.join(strings, on="oi", how="left", maintain_order="left").select(
                self.ts_expr("event_ts").alias("event_ts"), "order_id", "partner_code", "partner_order_id",
                "channel_code", "user_id", "mobile", "cinema_code", "show_code",
                self.ts_expr("start_b").alias("show_start_time"), "hall_name", "film_code", "film_name", "version",
                pl.col("tickets").alias("ticket_count"), "seats", "unit_price_fen", "service_fee_fen", "total_fen",
                "status", "status_reason")
            assert part.columns == cols
            hour = int(hour)
            data = part.write_csv().encode("utf-8")
            end = (hour + 1) * HOUR
            d = self.landing.deliver("orders", "internal", self.ts(hour * HOUR, "%Y-%m-%d"),
                                     f"orders_{self.ts(hour * HOUR, '%Y%m%d_%H')}", "csv", data, part.height,
                                     self.ts(min(end, self.now)), manifest=end <= self.now)
            self.order_files[hour] = d
            if not d.manifest:
                self.truth.add("benign", "FILE_WITHOUT_MANIFEST", "in_progress", "internal", business_date=d.day,
                               detail={"file": d.rel})
        # benign: late and out-of-order events
        codes = of.select("oi", "order_id", "partner_code", "cinema_code", "start_b").filter(
            pl.col("oi").is_in(pl.Series(np.flatnonzero(of["late"].to_numpy() | of["ooo"].to_numpy())).implode()))
        late = of["late"].to_numpy()
        for oi, oid, pc, cc, sb in codes.iter_rows():
            self.truth.add("benign", "LATE_ORDER_EVENT" if late[oi] else "OUT_OF_ORDER_ORDER_EVENT",
                           "late_event" if late[oi] else "created_after_paid", pc, cinema_code=cc,
                           business_date=self.day((sb - 6 * HOUR) // DAY), show_start_time=self.ts(sb), order_id=oid)
        self._order_truth()

    def _order_truth(self) -> None:
        of = self.order_frame
        st = self._final_status()
        live = np.isin(st, ["PAID", "ISSUED", "PRINTED"])
        sid = of["sid"].to_numpy()
        created = of["created"].to_numpy()
        c = self.col
        films = self.world.films
        hn = self._hall_tab["hall_name_std"].to_numpy()
        codes = self.world.cinemas["cinema_code"].to_numpy()
        oid = of["order_id"].to_numpy()
        pcode = of["partner_code"].to_numpy()
        by_sid: dict[int, list[int]] = {}
        for j in np.flatnonzero(live & (c["forced"][sid] > 0)):
            by_sid.setdefault(int(sid[j]), []).append(int(j))
        self.fault_orders: list[tuple[int, str, str]] = []  # (order row, fault_id, complaint category)
        for i, kind in self.changed:
            if kind == "time_shift":
                det = {"old_start": self.ts(self.start[i]), "new_start": self.ts(c["ch_start"][i])}
                cat = "SHOW_CHANGED"
            elif kind == "hall_swap":
                det = {"old_hall": str(hn[self.hall_arr[i]]), "new_hall": str(hn[c["ch_hall"][i]])}
                cat = "HALL_CHANGED"
            else:
                det = {"old_film_code": films["film_code"][int(self.shows["fv"][i])],
                       "new_film_code": films["film_code"][int(c["ch_fv"][i])]}
                cat = "SHOW_CHANGED"
            det["changed_at"] = self.ts(c["ch_ts"][i])
            for j in by_sid.get(i, []):
                if created[j] >= c["ch_ts"][i]:
                    continue
                fid = self.truth.add("fault", "ORDER_SHOW_CHANGED", kind, str(pcode[j]), cinema_code=str(codes[self.cin_arr[i]]),
                                     business_date=self.day(self.bday_arr[i]), show_start_time=self.ts(c["ch_start"][i]),
                                     order_id=str(oid[j]), detail=det)
                self.fault_orders.append((j, fid, cat))
        for i, kind in self.cancelled:
            for j in by_sid.get(i, []):
                if created[j] >= c["cx_ts"][i]:
                    continue
                fid = self.truth.add("fault", "ORDER_SHOW_CANCELLED", kind, str(pcode[j]),
                                     cinema_code=str(codes[self.cin_arr[i]]), business_date=self.day(self.bday_arr[i]),
                                     show_start_time=self.ts(self.start[i]), order_id=str(oid[j]),
                                     detail={"cancelled_at": self.ts(c["cx_ts"][i])})
                self.fault_orders.append((j, fid, "SHOW_CANCELLED"))
        for earlier, later, seat in self.double_sold:
            i = int(sid[later])
            fid = self.truth.add("fault", "SEAT_DOUBLE_SOLD", "double_sold", str(pcode[later]),
                                 cinema_code=str(codes[self.cin_arr[i]]), business_date=self.day(self.bday_arr[i]),
                                 show_start_time=self.ts(self.start[i]), order_id=str(oid[later]),
                                 detail={"seat": self._seat_label(later, seat), "earlier_order_id": str(oid[earlier])})
            self.fault_orders.append((later, fid, "SEAT_CONFLICT"))

    # -------- pickup codes ----------------------------------------------------------------------------
    def _write_pickup_codes(self) -> None:
        of = self.order_frame
        rng = self.rng
        cut = self.cut
        ch = of["channel_code"].to_numpy()
        issued = of["paid"].to_numpy() & ~of["fail"].to_numpy() & (of["t_issue"].to_numpy() + 5 < cut)
        rows = np.flatnonzero(np.isin(ch, CODE_CHANNELS) & issued & ~of["late"].to_numpy())
        sub = of[rows]
        n = sub.height
        code = _affine(sub["oi"].to_numpy(), 2_147_483_629, 100_000_007, 10**12)
        verify = _affine(sub["oi"].to_numpy(), 7919, 4321, 10**6)
        codes = pl.DataFrame({
            "r": np.arange(n), "oi": sub["oi"], "channel_partner": sub["channel_code"],
            "channel_order_id": [(f"TB{x:016d}" if c == "TAOBAO" else f"CMB{x:014d}")
                                 for c, x in zip(sub["channel_code"], _affine(sub["oi"].to_numpy(), 15485863, 11, 10**14))],
            "order_id": sub["order_id"], "cinema_code": sub["cinema_code"], "show_code": sub["show_code"],
            "start_b": sub["start_b"], "pickup_code": [f"{x:012d}" for x in code],
            "verify_code": [f"{x:06d}" for x in verify], "seats": sub["seats"], "ticket_count": sub["tickets"],
            # CMB_BANK gets its codes in bulk pushes every 30 min; TAOBAO per order, seconds after issue
            "t_alloc": np.where(sub["channel_code"].to_numpy() == "CMB_BANK",
                                (sub["t_issue"].to_numpy() // 1800 + 1) * 1800, sub["t_issue"].to_numpy() + 5),
            "printed": sub["printed"], "t_print": sub["t_print"],
            "refund": sub["refund"], "t_refund": sub["t_refund"], "sid": sub["sid"],
        })
        T = self.truth
        c = self.col
        oid_to_row = {o: r for r, o in enumerate(codes["order_id"].to_list())}
        # cancelled_show: codes of live orders of cancelled shows were never revoked
        cancelled_sids = {i for i, _ in self.cancelled}
        st = self._final_status()
        oi_arr = codes["oi"].to_numpy()
        n_faults = self._n()
        sid_np = codes["sid"].to_numpy()
        invalid_rows: list[tuple[int, str, dict]] = []
        for r in np.flatnonzero(np.isin(sid_np, list(cancelled_sids))) if cancelled_sids else []:
            r = int(r)
            s = int(sid_np[r])
            if s in cancelled_sids and st[oi_arr[r]] in ("PAID", "ISSUED", "PRINTED"):
                invalid_rows.append((r, "cancelled_show", {"cancelled_at": self.ts(c["cx_ts"][s])}))
        sid_np = codes["sid"].to_numpy()
        refund_np = codes["refund"].to_numpy()
        talloc_np = codes["t_alloc"].to_numpy()
        plain = [r for r in rng.permutation(n).tolist()
                 if c["forced"][sid_np[r]] == 0 and not refund_np[r] and talloc_np[r] + 60 < cut
                 and int(oi_arr[r]) not in self.seat_override]
        pick = iter(plain)
        pc = codes["pickup_code"].to_list()
        seats = codes["seats"].to_list()
        # duplicates: a later order gets the code an earlier order of the same channel already holds
        dups: list[tuple[int, int]] = []
        chan_np = codes["channel_partner"].to_numpy()
        waiting: dict[str, int] = {}
        while len(dups) < n_faults:
            r = next(pick, None)
            if r is None:
                break
            if chan_np[r] not in waiting:
                waiting[chan_np[r]] = r
                continue
            a, b = sorted((waiting.pop(chan_np[r]), r), key=lambda x: int(talloc_np[x]))
            pc[b] = pc[a]
            dups.append((a, b))
        mism = []
        for _ in range(n_faults):
            try:
                r = next(pick)
            except StopIteration:
                break
            first = seats[r].split(",")[0]
            rowno, rest = first.split("排")
            seats[r] = seats[r].replace(first, f"{int(rowno) + 3}排{rest}", 1)
            mism.append(r)
        codes = codes.with_columns(pl.Series("pickup_code", pc), pl.Series("seats", seats))
        # unknown_order: codes for orders our order system never saw
        unknown = []
        for k in range(min(n_faults, n)):
            r = int(rng.integers(0, n))
            unknown.append(r)
        extra = codes[unknown].with_columns(
            pl.Series("order_id", [f"TK{self.cfg.d0:%y%m}{x:011d}" for x in
                                   _affine(np.arange(len(unknown)) + 10**9, 48271, 9_000_001, 10**11)]),
            pl.Series("pickup_code", [f"{x:012d}" for x in _affine(np.arange(len(unknown)) + 10**9, 2_147_483_629, 100_000_007, 10**12)]),
            pl.Series("channel_order_id", [f"X{x:015d}" for x in range(len(unknown))]),
            (pl.col("t_alloc") + 1800).alias("t_alloc"), pl.lit(False).alias("printed"), pl.lit(False).alias("refund"),
        ).filter(pl.col("t_alloc") + 60 < cut)
        codes = pl.concat([codes, extra.with_columns((pl.col("r") + n).alias("r"))])
        ev = [codes.select(pl.all(), pl.col("t_alloc").alias("ts"), pl.lit("ALLOCATED").alias("status")),
              codes.select(pl.all(), (pl.col("t_alloc") + 30).alias("ts"), pl.lit("DELIVERED").alias("status")),
              codes.filter("printed").select(pl.all(), pl.max_horizontal("t_print", pl.col("t_alloc") + 60).alias("ts"),
                                             pl.lit("PRINTED").alias("status")),
              codes.filter("refund").select(pl.all(), pl.max_horizontal("t_refund", pl.col("t_alloc") + 60).alias("ts"),
                                            pl.lit("REVOKED").alias("status"))]
        e = pl.concat(ev).filter(pl.col("ts") < cut).sort(["ts", "r", "status"])
        e = outcome_faults.drop_code_deliveries(e, self.outcome_faults)
        out = e.select(self.ts_expr("ts").alias("allocation_ts"), "channel_partner", "channel_order_id", "order_id",
                       "cinema_code", "show_code", self.ts_expr("start_b").alias("show_start_time"), "pickup_code",
                       "verify_code", "seats", "ticket_count", "status", (pl.col("ts") // (4 * HOUR)).alias("bucket"))
        self.pickup_files: list[Delivery] = []
        for (chan, b), part in out.group_by(["channel_partner", "bucket"], maintain_order=True):
            b = int(b)
            data = part.drop("bucket").write_csv().encode("utf-8")
            d = self.landing.deliver("pickup_codes", chan, self.ts(b * 4 * HOUR, "%Y-%m-%d"),
                                     f"{chan}_codes_{self.ts(b * 4 * HOUR, '%Y%m%d_%H')}", "csv", data, part.height,
                                     self.ts(min((b + 1) * 4 * HOUR, cut)))
            self.pickup_files.append(d)
        delivered_codes = set(out["pickup_code"].to_list())

        def rec(r, rule, order_id, code, detail, row_frame=codes):
            row = row_frame.row(r, named=True)
            if code not in delivered_codes:
                return None
            s = int(row["sid"])
            return T.add("fault", "PICKUP_CODE_DUPLICATE" if rule == "duplicate" else "PICKUP_CODE_INVALID", rule,
                         row["channel_partner"], cinema_code=row["cinema_code"], business_date=self.day(self.bday_arr[s]),
                         show_start_time=self.ts(row["start_b"]), order_id=order_id, pickup_code=code, detail=detail)

        for r, rule, det in invalid_rows:
            fid = rec(r, rule, codes["order_id"][r], codes["pickup_code"][r], det)
            if fid:
                self.fault_orders.append((int(oi_arr[r]), fid, "PICKUP_CODE_INVALID"))
        for a, b in dups:
            rec(b, "duplicate", codes["order_id"][b], codes["pickup_code"][b],
                {"first_order_id": codes["order_id"][a], "second_order_id": codes["order_id"][b]})
        for r in mism:
            fid = rec(r, "seat_mismatch", codes["order_id"][r], codes["pickup_code"][r],
                      {"code_seats": codes["seats"][r], "order_seats": self.order_frame["seats"][int(oi_arr[r])]})
            if fid:
                self.fault_orders.append((int(oi_arr[r]), fid, "PICKUP_CODE_INVALID"))
        for k in range(extra.height):
            rec(n + k, "unknown_order", extra["order_id"][k], extra["pickup_code"][k],
                {"order_id_unknown": extra["order_id"][k]})

    # -------- complaints ------------------------------------------------------------------------------
    def _write_complaints(self) -> None:
        rng = self.rng
        of = self.order_frame
        rows = []
        desc = {
            "SHOW_CHANGED": "买的场次时间变了，没人通知我", "HALL_CHANGED": "到了影院才知道换了影厅",
            "SHOW_CANCELLED": "场次被取消了还没退款", "SEAT_CONFLICT": "我的座位上坐着别人，对方也有票",
            "PICKUP_CODE_INVALID": "取票码在影院机器上提示无效", "PRICE_DIFF": "APP上的价格和影院前台不一样",
            "NO_TICKET_ISSUED": "付款后一直没有出票", "REFUND_DENIED": "申请退票被拒绝",
            "SERVICE_FEE": "服务费太高了", "OTHER": "客服电话打不通",
        }
        c = self.col
        links = []
        for j, fid, cat in self.fault_orders:
            if rng.random() < 0.5:
                sid = int(of["sid"][j])
                t0 = min(c["ch_ts"][sid], c["cx_ts"][sid])
                t0 = t0 if t0 < NEVER else int(of["created"][j])
                t = int(t0 + rng.integers(10 * MIN, 3 * HOUR))
                if t < self.now:
                    rows.append((t, of["order_id"][j], of["cinema_code"][j], cat))
                    links.append(fid)
        # price mismatches: complaints without an order, cinema only
        for r in self.truth.rows:
            if r["category"] == "SHOW_PRICE_MISMATCH" and rng.random() < 0.5:
                rows.append((int(self.now - rng.integers(HOUR, 4 * HOUR)), "", r["cinema_code"], "PRICE_DIFF"))
                links.append(r["fault_id"])
        # background: complaints unrelated to any injected fault
        k = max(10, int(of.height * 0.002))
        cats = ["NO_TICKET_ISSUED", "REFUND_DENIED", "SERVICE_FEE", "OTHER", "PRICE_DIFF", "SHOW_CHANGED",
                "PICKUP_CODE_INVALID", "SEAT_CONFLICT"]
        cw = np.array([18, 20, 22, 25, 5, 4, 3, 3], dtype=float)
        pick = rng.integers(0, of.height, size=k)
        cc = rng.choice(len(cats), size=k, p=cw / cw.sum())
        ts = rng.integers(self.cfg.sim_start_s, self.now, size=k)
        has_order = rng.random(k) < 0.7
        for p, ci, t, ho in zip(pick, cc, ts, has_order):
            rows.append((int(t), of["order_id"][int(p)] if ho else "", of["cinema_code"][int(p)] if ho or ci < 4 else "",
                         cats[ci]))
            links.append("")
        outcome_faults.add_complaints(rows, links, self.outcome_faults)
        order = sorted(range(len(rows)), key=lambda i: (rows[i][0], i))
        chans = ["APP", "HOTLINE", "12315", "SOCIAL"]
        recs = []
        truth_links = []
        for n_, i in enumerate(order):
            t, oid, cc_, cat = rows[i]
            cid = f"C{self.cfg.d0:%Y%m%d}{n_ + 1:06d}"
            recs.append({"complaint_id": cid, "created_ts": t, "channel": chans[(n_ * 7 + t) % 4 if n_ % 5 else 0],
                         "order_id": oid, "cinema_code": cc_, "category": cat, "description": desc[cat]})
            truth_links.append((cid, links[i]))
        df = pl.DataFrame(recs, schema={"complaint_id": pl.String, "created_ts": pl.Int64, "channel": pl.String,
                                        "order_id": pl.String, "cinema_code": pl.String, "category": pl.String,
                                        "description": pl.String})
        df = df.with_columns((pl.col("created_ts") // DAY).alias("d"), self.ts_expr("created_ts").alias("created_ts"))
        for (d,), part in df.group_by("d", maintain_order=True):
            d = int(d)
            data = part.drop("d").write_csv().encode("utf-8")
            self.landing.deliver("complaints", "internal", self.day(d), f"complaints_{self.ts(d * DAY, '%Y%m%d')}", "csv",
                                 data, part.height, self.ts(min((d + 1) * DAY, self.now)))
        self.complaint_truth = truth_links

    # -------- re-delivery, late feed, name variants ----------------------------------------------------
    def _redeliveries(self) -> None:
        if self.cfg.days < 2:
            return
        d0 = self.day(0)
        d1 = self.day(1)
        picks = []
        for feed in ("orders", "partner_schedule", "competitor_schedule", "pickup_codes"):
            cands = [d for d in self.landing.deliveries if d.feed == feed and d.day == d0 and d.manifest and not d.partial
                     and d.redelivered_from is None]
            if cands:
                picks.append(cands[-1])
        for d in picks:
            r = self.landing.redeliver(d, d1)
            self.truth.add("benign", "REDELIVERED_FILE", "same_stem_same_bytes", d.source, business_date=d1,
                           detail={"file": r.rel, "first_delivered_as": d.rel})

    def _feed_late_truth(self) -> None:
        last = max(self.snap_times[LATE_PARTNER])
        self.truth.add("fault", "FEED_LATE", "silent", LATE_PARTNER, business_date=self.day(self.cfg.days - 1),
                       detail={"last_snapshot_ts": self.ts(last), "now": self.ts(self.now),
                               "silent_min": int((self.now - last) // MIN)})

    def _name_variant_truth(self) -> None:
        """Benign naming differences a naive exact-match comparison would flag."""
        cz = self._cin_tab
        for q, plat in enumerate(PLATFORMS):
            for i in np.flatnonzero(cz[f"cov{q}"].to_numpy() == 2):
                self.truth.add("benign", "NAME_VARIANT", "cinema_name", plat, cinema_code=cz["cinema_code"][int(i)],
                               detail={"reference_name": cz["cinema_name"][int(i)], "platform_name": cz[f"pname{q}"][int(i)],
                                       "platform_cinema_id": cz[f"pcid{q}"][int(i)]})
        f = self._film_tab
        for p in PARTNERS:
            if p.raw_film_names:
                for code, title, raw in zip(f["film_code"], f["title"], f["film_name_raw"]):
                    self.truth.add("benign", "NAME_VARIANT", "film_name", p.code,
                                   detail={"film_code": code, "partner_name": raw, "platform_name": title})

    # -------- truth + summary -------------------------------------------------------------------------
    def _write_truth(self, elapsed: float) -> dict:
        td = self.out / "_truth"
        td.mkdir(parents=True, exist_ok=True)
        self.truth.write(td / "faults.csv")
        with (td / "complaints.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["complaint_id", "fault_id"])
            w.writerows(self.complaint_truth)
        files: dict[str, dict] = {}
        for d in self.landing.deliveries:
            x = files.setdefault(d.feed, {"files": 0, "rows": 0, "without_manifest": 0, "partial": 0, "redelivered": 0})
            x["files"] += 1
            x["rows"] += d.rows
            x["without_manifest"] += 0 if d.manifest else 1
            x["partial"] += int(d.partial)
            x["redelivered"] += int(d.redelivered_from is not None)
        faults: dict[str, int] = {}
        benign: dict[str, int] = {}
        for r in self.truth.rows:
            tgt = faults if r["kind"] == "fault" else benign
            tgt[r["category"]] = tgt.get(r["category"], 0) + 1
        sim = {
            "seed": self.cfg.seed, "cinemas": self.cfg.cinemas, "days": self.cfg.days, "start_date": self.cfg.start_date,
            "now": self.ts(self.now), "config": asdict(self.cfg),
            "partners": {p.code: {"encoding": p.encoding, "iso_times": p.iso_times, "quote_all": p.quote_all,
                                  "crlf": p.crlf, "raw_film_names": p.raw_film_names,
                                  "promo_hall_names": p.promo_hall_names,
                                  "cinemas": int((self.world.cinemas["partner"] == k).sum()),
                                  "snapshots": len(self.snap_times[p.code])}
                         for k, p in enumerate(PARTNERS)},
            "platforms": [{"platform": plat, "cinemas": int((self.world.cinemas[f"cov{q}"] > 0).sum()),
                           "crawls": len(self.crawl_times[plat])} for q, plat in enumerate(PLATFORMS)],
            "late_partner": LATE_PARTNER,
            "shows": self.shows.height, "orders": self.orders.height,
            "files": files, "faults": dict(sorted(faults.items())), "benign": dict(sorted(benign.items())),
        }
        (td / "sim.json").write_text(json.dumps(sim, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        sim["elapsed_s"] = round(elapsed, 2)
        return sim


def generate(out: str | Path, cfg: SimConfig | None = None, **kw) -> dict:
    """Write a landing area + ``_truth/`` under ``out``; returns the sim.json content (+ elapsed_s)."""
    cfg = cfg or SimConfig(**kw)
    return Simulator(cfg, Path(out)).run()
