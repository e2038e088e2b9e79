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

import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from ticket_dq.simulate.config import HOUR, FMT, PARTNERS, SimConfig
from ticket_dq.simulate.landing import Landing
from ticket_dq.simulate.market import Market
from ticket_dq.simulate.orders import OrdersAndCodes
from ticket_dq.simulate.rendering import Rendering
from ticket_dq.simulate.schedule_faults import ScheduleFaults
from ticket_dq.simulate.truth import Truth, TruthRecords
from ticket_dq.simulate.world import build_world


class Simulator(Market, ScheduleFaults, OrdersAndCodes, Rendering, TruthRecords):
    """One simulation run. The stages (one module each) share this object's state, built in ``run``'s
    order: ``world`` + coverage (market), ``shows`` (market, then schedule_faults and rendering add
    columns), ``orders`` (orders), ``snap_times`` / ``crawl_times`` (rendering) and ``truth`` (every stage).
    Each stage draws from the one ``rng`` in that order, so a seed gives the same files every time."""

    def __init__(self, cfg: SimConfig, out: Path):
        self.cfg = cfg
        self.out = Path(out)
        self.rng = np.random.default_rng(cfg.seed)
        self.truth = Truth()
        self.landing = Landing(self.out)
        self.base_dt = datetime.combine(cfg.d0, datetime.min.time())
        self.now = cfg.now_s
        self.cut = (self.now // HOUR) * HOUR  # order events from here on are still being written

    def ts(self, s: int, fmt: str = FMT) -> str:
        return (self.base_dt + timedelta(seconds=int(s))).strftime(fmt)

    def day(self, d: int) -> str:
        return (self.cfg.d0 + timedelta(days=int(d))).isoformat()

    def ts_expr(self, col: str | pl.Expr, fmt: str = FMT) -> pl.Expr:
        e = pl.col(col) if isinstance(col, str) else col
        return (pl.lit(self.base_dt) + pl.duration(seconds=e)).dt.strftime(fmt)

    def date_expr(self, col: str) -> pl.Expr:
        return (pl.lit(self.cfg.d0) + pl.duration(days=pl.col(col))).dt.strftime("%Y-%m-%d")

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



def generate(out: str | Path, cfg: SimConfig | None = None, **kw) -> dict:
    """Write a landing area + ``_truth/`` under ``out``; returns the sim.json content (+ elapsed_s)."""
    cfg = cfg or SimConfig(**kw)
    return Simulator(cfg, Path(out)).run()
