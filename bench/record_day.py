"""Benchmark: a record day (ten times the ordinary order volume) through ingestion and the order checks.

    .venv/bin/python -m bench.record_day [--scale 1.0] [--dir /tmp/record_day] [--days ordinary,record]
                                         [--keep] [--timeout 3600]

A day of the national order feeds is generated with Polars/NumPy in a child process (the shape of a
real day: 15,000 cinemas x ~30 shows a day, five ticketing partners, five sales channels, orders
through the day with a lunch and an evening peak). The ordinary day has ~0.8 M orders / ~2.7 M order
events; the record day adds a flash sale: 7.2 M more orders through the channel partner TAOBAO in
19:00-21:00, mostly for one blockbuster, whose pickup codes TAOBAO receives in bulk pushes every five
minutes (one allocation_ts per push) - ~8 M orders, ~27 M order events and ~15 M pickup-code rows.
``--scale`` shrinks cinemas and orders together (0.05 for development).

Each day also carries one partner snapshot per partner (the next three days of shows, ~1.4 M rows at
scale 1: the order-vs-schedule check needs it) and the reference data, and faults whose keys the
generator records (``<day>/truth.json``):
  ORDER_NOT_ISSUED      not_issued (PAID, never ISSUED), failed_not_refunded, code_not_delivered
  SEAT_DOUBLE_SOLD      a later live order holds a seat an earlier live order of the show holds
  PICKUP_CODE_DUPLICATE a later code-channel order gets the code of an earlier one (a later push)
  PICKUP_CODE_INVALID   unknown_order, seat_mismatch, cancelled_show (codes of the cancelled shows' orders)
  ORDER_SHOW_CANCELLED  every live order of a few shows the partner snapshot lists as CANCELLED
  ORDER_OUTCOME_SPIKE   one partner-hour (HX, 12:00) where 30 % of the tickets fail to issue

Then ``ticket-dq materialize --verbose --select <the order feeds, reference, partner snapshot, the order
checks and dq/issues>`` runs in a child process (the real product path: Dagster, the GX checks of the
selected raw tables, one DuckDB file) with its peak RSS from ``os.wait4``; per-step times come from
Dagster's step log lines. Reported per day: rows and rows/s of ingestion (raw/orders + raw/pickup_codes)
and of the order checks (cur/order_state, cur/order_outcome and the five order comparisons, per order
event), wall, CPU and peak RSS, "nothing lost" (every ledger row has rows_manifest = rows_ingested +
rows_quarantined and every file's raw row count equals its manifest) and the faults found against the
injected ones, per category and rule (exact key sets: found, missed, extra). Writes
bench/results/record_day.json and prints a table. Needs ~12 GB in DIR at scale 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "record_day.json"
EXE = ROOT / ".venv" / "bin" / "ticket-dq"

DAY = 86400
HOUR = 3600
MIN = 60
DATE = "2026-03-08"
CUT = 23 * HOUR  # order and code events up to 23:00 are delivered; later ones are still on the way
NOW = "2026-03-08 23:30:00"  # the run's clock (Beijing)
ORDINARY_ORDERS = 800_000
RECORD_ORDERS = 8_000_000
NATIONAL_CINEMAS = 15_000
PARTNERS = (("FH", 0.30, 300), ("MTX", 0.25, 250), ("DX", 0.20, 200), ("JY", 0.15, 300), ("HX", 0.10, 350))
CHANNELS = ("APP", "MINIPROGRAM", "WEB", "TAOBAO", "CMB_BANK")
CHANNEL_W = (45, 25, 12, 12, 6)
CODE_CHANNELS = (3, 4)  # TAOBAO, CMB_BANK: channel partners that hand out pickup codes
FLASH_CHANNEL = 3
FLASH_WINDOW = (19 * HOUR, 21 * HOUR)
SPIKE_PARTNER, SPIKE_HOUR, SPIKE_RATE = 4, 12, 0.30  # HX, 12:00-13:00
STATUS = ("CREATED", "CANCELLED", "PAID", "ISSUED", "ISSUE_FAILED", "REFUNDED", "PRINTED")
REASON = ("", "支付超时", "", "", "影院系统出票超时", "用户申请退票", "")
CODE_STATUS = ("ALLOCATED", "DELIVERED", "PRINTED", "REVOKED")
CHUNK_ROWS = 1_000_000  # rows formatted and written at a time (bounds the generator's memory)
FILMS = ("哪吒之魔童闹海", "唐探1900", "封神第二部", "熊出没·重启未来", "流浪地球3", "射雕英雄传", "误杀3", "龙猫",
         "蛟龙行动", "你好，李焕英", "独行月球", "满江红", "热辣滚烫", "第二十条", "飞驰人生2", "沙丘2")

# The order checks and what they need, as one Dagster selection; ingestion steps are raw/orders and
# raw/pickup_codes; everything else is context (reference, the partner snapshot, the crawls - none are
# delivered, so their tables are empty - and the issue table).
INGEST_STEPS = ("raw__orders", "raw__pickup_codes")
CHECK_STEPS = ("cur__order_state", "cur__order_outcome", "cand__order_show", "cand__seat_double_sold",
               "cand__pickup_code", "cand__order_not_issued", "cand__order_outcome_spike")
SELECTION = " or ".join(f'key:"{k}"' for k in (
    "raw/orders", "raw/pickup_codes", "raw/partner_schedule", "ref/cinemas", "ref/films", "ref/cinema_aliases",
    "cur/partner_schedule", "raw/competitor_schedule", "map/cinema", "map/film", "cur/competitor_schedule",
    "cur/order_state", "cur/order_outcome", "cand/order_show", "cand/seat_double_sold",
    "cand/pickup_code", "cand/order_not_issued", "cand/order_outcome_spike", "dq/issues"))


# ---------------------------------------------------------------------------------------------- generator

def generate(out: Path, kind: str, scale: float, file_minutes: int = 60, seed: int = 16) -> dict:
    """Write one day's landing area under ``out`` and ``out/truth.json``; returns the truth dict."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed + (1 if kind == "record" else 0))
    t0 = time.perf_counter()
    n_cin = max(60, round(NATIONAL_CINEMAS * scale))
    world = _world(rng, n_cin)
    shows = world["shows"]
    n_bg = round(ORDINARY_ORDERS * scale)
    n_flash = round((RECORD_ORDERS - ORDINARY_ORDERS) * scale) if kind == "record" else 0
    o = _orders(rng, shows, n_bg, n_flash)
    truth: dict = {"kind": kind, "scale": scale, "now": NOW, "cinemas": n_cin, "shows": len(shows["start"]),
                   "faults": {}}
    cancelled_shows = _inject(rng, o, shows, truth)
    _write_reference(out, world)
    _write_partner_snapshots(out, world, cancelled_shows)
    ev = _order_events(rng, o)
    truth["orders"] = int(len(o["sid"]))
    truth["order_events"] = int(ev.height)
    files = _write_orders(out, o, ev, world, file_minutes)
    code_rows, code_files = _write_codes(out, o, world, truth, file_minutes)
    truth["pickup_code_rows"] = code_rows
    truth["files"] = {"orders": files, "pickup_codes": code_files}
    _expected_from_delivered(o, ev, shows, cancelled_shows, truth)
    truth["generate_s"] = round(time.perf_counter() - t0, 1)
    (out / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False), encoding="utf-8")
    return truth


def _world(rng, n_cin: int) -> dict:
    """Cinemas (8-digit codes, one partner each), 3-8 halls, 6 shows a hall a day for three days."""
    import numpy as np

    partner = rng.choice(len(PARTNERS), size=n_cin, p=[p[1] for p in PARTNERS])
    n_halls = rng.integers(3, 9, size=n_cin)
    hall_cin = np.repeat(np.arange(n_cin), n_halls)
    hall_no = np.concatenate([np.arange(1, k + 1) for k in n_halls]) if n_cin else np.zeros(0, int)
    seat_total = rng.integers(80, 400, size=len(hall_cin))
    # shows: hall x day x slot; 09:00 + 2h20 per slot, staggered by hall so no two shows of a hall overlap
    n_h = len(hall_cin)
    slots, days = 6, 3
    hall = np.repeat(np.arange(n_h), slots * days)
    day = np.tile(np.repeat(np.arange(days), slots), n_h)
    slot = np.tile(np.arange(slots), n_h * days)
    start = day * DAY + 9 * HOUR + slot * 140 * MIN + (hall_no[hall] * 7 % 60) * MIN
    n_films = len(FILMS)
    film_w = np.r_[8.0, np.linspace(3, 0.5, n_films - 1)]
    film = rng.choice(n_films, size=len(hall), p=film_w / film_w.sum())
    film = np.where(film == 0, film, film)  # the blockbuster (film 0) holds ~30 % of shows
    sale = rng.integers(30, 61, size=len(hall)) * 100
    return {"partner": partner, "hall_cin": hall_cin, "hall_no": hall_no, "seat_total": seat_total,
            "shows": {"hall": hall, "cin": hall_cin[hall], "day": day, "start": start, "film": film, "sale": sale,
                      "seat_total": seat_total[hall], "partner": partner[hall_cin[hall]]}}


def _diurnal_times(rng, n: int):
    """Order creation times over the day: quiet at night, a lunch peak and an evening peak."""
    import numpy as np

    w = np.array([2, 1, 1, 1, 1, 2, 4, 6, 8, 10, 12, 14, 16, 15, 13, 12, 12, 14, 18, 20, 19, 15, 10, 6], float)
    hour = rng.choice(24, size=n, p=w / w.sum())
    return hour * HOUR + rng.integers(0, HOUR, size=n)


def _orders(rng, shows: dict, n_bg: int, n_flash: int) -> dict:
    """Orders (numeric columns): show, created, tickets, channel, lifecycle times; seats sequential per show."""
    import numpy as np
    import polars as pl

    start = shows["start"]
    m = len(start)
    # demand: evening shows and the blockbuster sell more, today more than tomorrow
    evening = np.where((start % DAY) >= 18 * HOUR, 2.0, 1.0)
    dayw = np.array([1.0, 0.6, 0.3])[shows["day"]]
    filmw = np.where(shows["film"] == 0, 3.0, 1.0)
    w = evening * dayw * filmw
    created_bg = _diurnal_times(rng, n_bg)
    sid_bg = rng.choice(m, size=n_bg, p=w / w.sum())
    # flash sale: 19:00-21:00, the first 20 minutes hottest; shows after 21:30, mostly the blockbuster
    u = rng.random(n_flash)
    created_fl = FLASH_WINDOW[0] + np.where(u < 0.4, rng.integers(0, 20 * MIN, n_flash),
                                            rng.integers(0, FLASH_WINDOW[1] - FLASH_WINDOW[0], n_flash))
    wf = np.where(start >= 21 * HOUR + 30 * MIN, 1.0, 0.0) * dayw * np.where(shows["film"] == 0, 12.0, 1.0)
    sid_fl = rng.choice(m, size=n_flash, p=wf / wf.sum()) if n_flash else np.zeros(0, np.int64)
    sid = np.r_[sid_bg, sid_fl].astype(np.int64)
    created = np.r_[created_bg, created_fl].astype(np.int64)
    flash = np.r_[np.zeros(n_bg, bool), np.ones(n_flash, bool)]
    # nobody buys a started show: an order is made at least 30 min before it starts
    latest = start[sid] - 30 * MIN - rng.integers(0, 2 * HOUR, size=len(sid))
    created = np.where(created > latest, np.maximum(latest, 0), created)
    keep = created >= 0
    sid, created, flash = sid[keep], created[keep], flash[keep]
    o = np.lexsort((created, sid))
    sid, created, flash = sid[o], created[o], flash[o]
    n = len(sid)
    tickets = rng.choice([1, 2, 3, 4], size=n, p=[0.3, 0.5, 0.1, 0.1])
    cum = pl.DataFrame({"s": sid, "t": tickets}).select(pl.col("t").cum_sum().over("s"))["t"].to_numpy()
    fits = cum <= shows["seat_total"][sid] * 0.95  # a sold-out show takes no more orders
    sid, created, flash, tickets, first_seat = sid[fits], created[fits], flash[fits], tickets[fits], (cum - tickets)[fits]
    # shuffle into creation order (ids then follow time, as an order system issues them)
    o = np.argsort(created, kind="stable")
    sid, created, flash, tickets, first_seat = sid[o], created[o], flash[o], tickets[o], first_seat[o]
    n = len(sid)
    cw = np.array(CHANNEL_W, float)
    channel = np.where(flash, FLASH_CHANNEL, rng.choice(len(CHANNELS), size=n, p=cw / cw.sum()))
    paid = rng.random(n) < np.where(flash, 0.92, 0.88)
    t_paid = created + rng.integers(20, 300, size=n)
    t_cancel = created + 15 * MIN
    fail = paid & (rng.random(n) < 0.015)
    t_issue = t_paid + rng.integers(2, 40, size=n)
    st = start[sid]
    # a refund comes hours after the ticket (exponential, mean 3 h), never within 30 min of the show
    t_refund_user = t_issue + rng.exponential(3 * HOUR, size=n).astype(np.int64) + MIN
    refund_user = paid & ~fail & (rng.random(n) < 0.04) & (t_refund_user < st - 30 * MIN)
    t_print = np.maximum(st - rng.integers(5 * MIN, 50 * MIN, size=n), t_issue + MIN)
    printed = paid & ~fail & ~refund_user & (rng.random(n) < 0.6)
    return {"sid": sid, "created": created, "flash": flash, "tickets": tickets, "first_seat": first_seat,
            "channel": channel, "paid": paid, "t_paid": t_paid, "t_cancel": t_cancel, "fail": fail,
            "t_issue": t_issue, "refund_user": refund_user, "t_refund_user": t_refund_user,
            "printed": printed, "t_print": t_print, "seat_override": np.full(n, -1, np.int64),
            # fault marks: no ISSUED (not_issued), failed with no refund, code never delivered
            "no_issue": np.zeros(n, bool), "no_refund": np.zeros(n, bool), "no_delivery": np.zeros(n, bool)}


def _refund(o: dict):
    import numpy as np

    refund = (o["fail"] & ~o["no_refund"]) | o["refund_user"]
    t_refund = np.where(o["fail"], o["t_issue"] + 10 * MIN, o["t_refund_user"])
    return refund, t_refund


def _inject(rng, o: dict, shows: dict, truth: dict):
    """Faults on disjoint orders (marks in ``o``); their keys go into ``truth['faults']``. Returns the
    shows the partner cancels."""
    import numpy as np

    n = len(o["sid"])
    per_class = max(5, round(n / 20_000))
    start = shows["start"][o["sid"]]
    now_s = CUT + 30 * MIN
    taken = np.zeros(n, bool)

    def pick(mask, k):
        idx = np.flatnonzero(mask & ~taken)
        idx = np.sort(rng.choice(idx, size=min(k, len(idx)), replace=False)) if len(idx) else idx
        taken[idx] = True
        return idx

    # shows the partner cancels: future shows with orders; their orders take no other fault
    future = np.flatnonzero(shows["start"] >= now_s + HOUR)
    has = np.zeros(len(shows["start"]), bool)  # shows with a channel-partner order (so codes are affected too)
    has[o["sid"][np.isin(o["channel"], CODE_CHANNELS) & o["paid"]]] = True
    pool = future[has[future]]
    cancelled = np.sort(rng.choice(pool, size=min(max(3, per_class // 10), len(pool)), replace=False))
    taken |= np.isin(o["sid"], cancelled)
    # the spike: HX's tickets due 12:00-13:00 fail 30 % of the time (refunded automatically)
    in_spike = (shows["partner"][o["sid"]] == SPIKE_PARTNER) & (o["t_issue"] // HOUR == SPIKE_HOUR) & o["paid"] & ~taken
    o["fail"] |= in_spike & (rng.random(n) < SPIKE_RATE)
    o["refund_user"] &= ~o["fail"]
    o["printed"] &= ~o["fail"]
    taken |= in_spike
    # settled live orders: paid long before the cut, issued, never refunded
    settled = (o["t_paid"] < CUT - 2 * HOUR) & o["paid"] & ~o["fail"] & ~o["refund_user"]
    ni = pick(settled, per_class)
    o["no_issue"][ni] = True
    fr = pick(settled, per_class)
    o["fail"][fr] = True
    o["no_refund"][fr] = True
    code_order = np.isin(o["channel"], CODE_CHANNELS)
    nd = pick(settled & code_order & (o["t_issue"] < CUT - 3 * HOUR), per_class)
    o["no_delivery"][nd] = True
    o["printed"][np.r_[ni, fr, nd]] = False
    # SEAT_DOUBLE_SOLD: in each chosen show, its last settled order takes the first seat of its first one
    idx = np.flatnonzero(settled & ~taken & (start > now_s))
    sid_l = o["sid"][idx]
    _, first_pos = np.unique(sid_l, return_index=True)
    _, last_rev = np.unique(sid_l[::-1], return_index=True)
    last_pos = len(sid_l) - 1 - last_rev
    two = np.flatnonzero(first_pos != last_pos)
    ch = rng.choice(two, size=min(per_class, len(two)), replace=False) if len(two) else two
    earlier, later = idx[first_pos[ch]], idx[last_pos[ch]]
    o["seat_override"][later] = o["first_seat"][earlier]
    taken[earlier] = True
    taken[later] = True
    # pickup-code faults on settled code-channel orders (applied when the codes are built)
    o["dup"] = pick(settled & code_order & (o["channel"] == FLASH_CHANNEL), 2 * per_class)
    o["mism"] = pick(settled & code_order, per_class)
    o["n_unknown"] = per_class
    truth["faults"] = {
        "ORDER_NOT_ISSUED": {"not_issued": _order_ids(ni), "failed_not_refunded": _order_ids(fr),
                             "code_not_delivered": _order_ids(nd)},
        "SEAT_DOUBLE_SOLD": {"double_sold": _order_ids(later)},
        "ORDER_OUTCOME_SPIKE": {"issue_failure": [f"{PARTNERS[SPIKE_PARTNER][0]}|{DATE} {SPIKE_HOUR:02d}:00"]},
    }
    truth["per_class"] = per_class
    truth["cancelled_shows"] = int(len(cancelled))
    return cancelled


def _order_ids(idx) -> list[str]:
    """Order ids of a few order numbers (the same bijection as ``_oid`` in the files)."""
    return [f"TK2603{(int(i) * 48271 + 9_000_001) % 10**11:011d}" for i in idx]


def _oid(col: str):
    import polars as pl

    return pl.format("TK2603{}", ((pl.col(col) * 48271 + 9_000_001) % 10**11).cast(pl.String).str.zfill(11))


def _ts(col):
    """Seconds after 00:00 of DATE -> 'YYYY-MM-DD HH:MM:SS'."""
    import polars as pl

    c = pl.col(col) if isinstance(col, str) else col
    return pl.from_epoch(c + _base(), time_unit="s").dt.strftime("%Y-%m-%d %H:%M:%S")


def _show_code():
    import polars as pl

    return ((pl.col("sid") * 7919 + 1_000_003) % 10**10).cast(pl.String).str.zfill(10)


def _write_reference(out: Path, world: dict) -> None:
    import numpy as np
    import polars as pl

    ref = out / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    n = len(world["partner"])
    cities = np.array(["北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "西安", "南京", "重庆"])
    pl.DataFrame({"c": np.arange(n)}).select(
        cinema_code=(pl.col("c") + 11_000_000).cast(pl.String),
        cinema_name=pl.format("星光影城（{}店）", pl.col("c")),
        city=pl.Series(cities[np.arange(n) % len(cities)]),
        district=pl.lit("中心区"), brand=pl.lit("星光"), status=pl.lit("OPEN"),
    ).write_csv(ref / "cinemas.csv")
    pl.DataFrame({"source": [], "source_cinema_id": [], "cinema_code": []},
                 schema={"source": pl.String, "source_cinema_id": pl.String, "cinema_code": pl.String}
                 ).write_csv(ref / "cinema_aliases.csv")
    pl.DataFrame({"film_code": [f"{100000000001 + i:012d}" for i in range(len(FILMS))], "film_name": list(FILMS),
                  "version": "2D", "language": "国语", "duration_min": [100 + 5 * i for i in range(len(FILMS))],
                  "release_date": "2026-01-29"}).write_csv(ref / "films.csv")


def _deliver(folder: Path, stem: str, feed: str, source: str, frames, snapshot_ts: str) -> dict:
    """Write ``frames`` (an iterable of DataFrames) as one CSV, then its manifest (rows, sha256) LAST."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.csv"
    h = hashlib.sha256()
    rows = 0
    with path.open("wb") as fh:
        for k, df in enumerate(frames):
            data = df.write_csv(include_header=(k == 0)).encode("utf-8")
            fh.write(data)
            h.update(data)
            rows += df.height
    (folder / f"_manifest_{stem}.json").write_text(json.dumps(
        {"file": path.name, "feed": feed, "source": source, "rows": rows, "sha256": h.hexdigest(),
         "snapshot_ts": snapshot_ts, "schema_version": 1}), encoding="utf-8")
    return {"file": str(path.relative_to(folder.parents[2])), "rows": rows, "bytes": path.stat().st_size}


def _write_partner_snapshots(out: Path, world: dict, cancelled) -> None:
    """One snapshot per partner at 22:30: its cinemas' shows of the three days, the cancelled ones CANCELLED."""
    import numpy as np
    import polars as pl

    sh = world["shows"]
    m = len(sh["start"])
    status = np.full(m, "ON_SALE", dtype=object)
    status[cancelled] = "CANCELLED"
    df = pl.DataFrame({"sid": np.arange(m), "cin": sh["cin"], "hall_no": world["hall_no"][sh["hall"]],
                       "start": sh["start"], "film": sh["film"], "sale": sh["sale"], "seat_total": sh["seat_total"],
                       "partner": sh["partner"], "show_status": pl.Series(status, dtype=pl.String)})
    films = pl.Series(list(FILMS))
    for p, (code, _, fee) in enumerate(PARTNERS):
        part = df.filter(pl.col("partner") == p).select(
            snapshot_ts=pl.lit(f"{DATE} 22:30:00"), cinema_code=(pl.col("cin") + 11_000_000).cast(pl.String),
            partner_cinema_id=pl.format("{}{}", pl.lit(code), pl.col("cin")),
            cinema_name=pl.format("星光影城（{}店）", pl.col("cin")), hall_code=pl.format("H{}", pl.col("hall_no")),
            hall_name=pl.format("{}号厅", pl.col("hall_no")), hall_type=pl.lit("NORMAL"), seat_total="seat_total",
            show_code=_show_code(),
            business_date=pl.from_epoch(pl.col("start") // DAY * DAY + _base(), time_unit="s").dt.strftime("%Y-%m-%d"),
            start_time=_ts("start"), end_time=_ts(pl.col("start") + 2 * HOUR),
            film_code=(pl.col("film") + 100000000001).cast(pl.String),
            film_name=pl.col("film").replace_strict(list(range(len(FILMS))), films),
            language=pl.lit("国语"), version=pl.lit("2D"), duration_min=(pl.col("film") * 5 + 100),
            list_price_fen=pl.lit(8000), sale_price_fen="sale", service_fee_fen=pl.lit(fee),
            seats_available=(pl.col("seat_total") // 2), show_status="show_status",
            partner_update_time=pl.lit(f"{DATE} 22:28:00"))
        _deliver(out / "partner_schedule" / code / DATE, f"{code}_snapshot_20260308_2230", "partner_schedule", code,
                 [part], f"{DATE} 22:30:00")


def _base() -> int:
    """DATE 00:00 as a naive epoch (the feeds' times are Beijing wall-clock text)."""
    import calendar

    return calendar.timegm(time.strptime(DATE, "%Y-%m-%d"))


def _hex32(col: str):
    """A hashed user id: 32 hex digits from two 64-bit hashes of the user number."""
    import polars as pl

    digits = pl.Series(list("0123456789abcdef"))
    parts = []
    for seed in (1, 2):
        h = pl.col(col).hash(seed)
        parts += [((h // (16 ** i)) % 16).cast(pl.Int64).replace_strict(list(range(16)), digits) for i in range(16)]
    return pl.concat_str(parts)


def _order_events(rng, o: dict):
    """Every order event (numeric): order row, event time, status, arrival time in the landing."""
    import numpy as np
    import polars as pl

    refund, t_refund = _refund(o)
    ticket = o["paid"] & ~o["fail"] & ~o["no_issue"]
    oi = np.arange(len(o["sid"]), dtype=np.int64)
    parts = []
    for status, mask, t in (("CREATED", None, "created"), ("CANCELLED", ~o["paid"], "t_cancel"),
                            ("PAID", o["paid"], "t_paid"), ("ISSUED", ticket, "t_issue"),
                            ("ISSUE_FAILED", o["fail"], "t_issue"), ("REFUNDED", refund, t_refund),
                            ("PRINTED", o["printed"] & ticket, "t_print")):
        sel = oi if mask is None else oi[mask]
        ts = (o[t] if isinstance(t, str) else t)[sel]
        parts.append(pl.DataFrame({"oi": sel, "ts": ts, "st": np.full(len(sel), STATUS.index(status), np.int8)}))
    ev = pl.concat(parts)
    # arrival: seconds to a minute and a half after the event; a file per hour of arrival
    ev = ev.with_columns(arrival=pl.col("ts") + pl.Series(rng.integers(1, 90, size=ev.height)))
    return ev.filter(pl.col("arrival") < CUT).sort("arrival")


def _order_table(o: dict, world: dict):
    """The order-level facts of the orders feed, numeric, one row per order (row = order number); the
    text columns are made per written chunk (``_order_cols``), so the generator's memory stays bounded."""
    import numpy as np
    import polars as pl

    sh = world["shows"]
    sid = o["sid"]
    n = len(sid)
    users = np.int64(max(1, int(n * 0.7)))
    return pl.DataFrame({"sid": sid, "p": sh["partner"][sid].astype(np.int64), "ch": o["channel"].astype(np.int64),
                         "cin": sh["cin"][sid], "hall_no": world["hall_no"][sh["hall"][sid]], "start": sh["start"][sid],
                         "film": sh["film"][sid], "tickets": o["tickets"], "unit": sh["sale"][sid],
                         "fee": np.array([p[2] for p in PARTNERS])[sh["partner"][sid]],
                         "u": (np.arange(n, dtype=np.int64) * 2654435761) % users, "f": o["first_seat"],
                         "ov": o["seat_override"], "fail": o["fail"]})


def _seat(s, shift=0):
    import polars as pl

    cols = 20  # seats per row
    return pl.format("{}排{}座", (s // cols + 1 + shift).cast(pl.String), (s % cols + 1).cast(pl.String))


def _order_cols(shift=None) -> dict:
    """Text columns of an order from ``_order_table`` columns (``shift``: rows the first seat is moved by)."""
    import polars as pl

    codes = list(range(len(PARTNERS)))
    pcode = pl.col("p").replace_strict(codes, pl.Series([p[0] for p in PARTNERS]))
    first = pl.when(pl.col("ov") >= 0).then("ov").otherwise("f")
    seats = pl.concat_str([_seat(first, 0 if shift is None else shift)]
                          + [pl.when(pl.col("tickets") > k).then(pl.lit(",") + _seat(pl.col("f") + k)) for k in (1, 2, 3)],
                          ignore_nulls=True)
    return dict(
        partner_code=pcode,
        partner_order_id=pl.format("{}{}", pcode, ((pl.col("oi") * 69621 + 5_000_003) % 10**9).cast(pl.String).str.zfill(9)),
        channel_code=pl.col("ch").replace_strict(list(range(len(CHANNELS))), pl.Series(CHANNELS)),
        user_id=_hex32("u"),
        mobile=pl.format("1{}{}", (pl.col("u") % 7 + 3).cast(pl.String),
                         ((pl.col("u") * 7919 + 13) % 10**9).cast(pl.String).str.zfill(9)),
        cinema_code=(pl.col("cin") + 11_000_000).cast(pl.String), show_code=_show_code(),
        show_start_time=_ts("start"), hall_name=pl.format("{}号厅", pl.col("hall_no")),
        film_code=(pl.col("film") + 100000000001).cast(pl.String),
        film_name=pl.col("film").replace_strict(list(range(len(FILMS))), pl.Series(list(FILMS))), version=pl.lit("2D"),
        ticket_count=pl.col("tickets"), seats=seats, unit_price_fen=pl.col("unit"),
        service_fee_fen=pl.col("fee") * pl.col("tickets"), total_fen=(pl.col("unit") + pl.col("fee")) * pl.col("tickets"))


def _write_orders(out: Path, o: dict, ev, world: dict, file_minutes: int) -> list[dict]:
    import numpy as np
    import polars as pl

    table = _order_table(o, world)
    o["_table"] = table
    cols = _order_cols()
    status = pl.Series(list(STATUS))
    reason = pl.col("st").cast(pl.Int64).replace_strict(list(range(len(STATUS))), pl.Series(REASON))
    files = []
    span = file_minutes * MIN
    buckets = ev.select(h=pl.col("arrival") // span)["h"].to_numpy()
    bounds = np.searchsorted(buckets, np.arange(DAY // span + 1))
    for h in range(DAY // span):
        a, b = int(bounds[h]), int(bounds[h + 1])
        if a == b:
            continue

        def frames(a=a, b=b):
            for c in range(a, b, CHUNK_ROWS):
                chunk = ev.slice(c, min(CHUNK_ROWS, b - c))
                facts = table[chunk["oi"].to_numpy()]
                yield pl.concat([chunk.select("oi", "ts", "st"), facts], how="horizontal").select(
                    event_ts=_ts("ts"), order_id=_oid("oi"), **cols,
                    status=pl.col("st").cast(pl.Int64).replace_strict(list(range(len(STATUS))), status),
                    status_reason=pl.when((pl.col("st") == STATUS.index("REFUNDED")) & pl.col("fail"))
                    .then(pl.lit("出票失败自动退款")).otherwise(reason))

        files.append(_deliver(out / "orders" / "internal" / DATE, f"orders_{_stamp(h, span)}", "orders", "internal",
                              frames(), _until(h, span)))
    return files


def _stamp(k: int, span: int) -> str:
    """File stem time of the k-th delivery window: 20260308_19 (hourly) or 20260308_1915."""
    t = k * span
    return f"{DATE.replace('-', '')}_{t // HOUR:02d}" + (f"{t % HOUR // MIN:02d}" if span < HOUR else "")


def _until(k: int, span: int) -> str:
    """snapshot_ts of the k-th window's file: its last second."""
    t = (k + 1) * span - 1
    return f"{DATE} {t // HOUR:02d}:{t % HOUR // MIN:02d}:{t % MIN:02d}"


def _write_codes(out: Path, o: dict, world: dict, truth: dict, file_minutes: int):
    """Pickup codes of the channel partners' issued orders: ALLOCATED (bulk pushes: every 5 min for the
    flash sale, 30 min for CMB_BANK), DELIVERED 30 s later, PRINTED, REVOKED on a refund."""
    import numpy as np
    import polars as pl

    n = len(o["sid"])
    refund, t_refund = _refund(o)
    ticket = o["paid"] & ~o["fail"] & ~o["no_issue"]
    rows = np.flatnonzero(ticket & np.isin(o["channel"], CODE_CHANNELS))
    t_issue = o["t_issue"][rows]
    chan = o["channel"][rows]
    t_alloc = np.where(o["flash"][rows], (t_issue // 300 + 1) * 300,
                       np.where(chan == 4, (t_issue // 1800 + 1) * 1800, t_issue + 5))
    code = (rows * 2_147_483_629 + 100_000_007) % 10**12
    pos = np.full(n, -1, np.int64)
    pos[rows] = np.arange(len(rows))
    # duplicates: the later-allocated half takes the codes of the earlier half (a later push)
    dup = o["dup"][pos[o["dup"]] >= 0]
    dup = dup[np.argsort(t_alloc[pos[dup]], kind="stable")]
    k = len(dup) // 2
    first, second = dup[:k], dup[k:2 * k]
    differ = t_alloc[pos[first]] < t_alloc[pos[second]]
    first, second = first[differ], second[differ]
    code[pos[second]] = code[pos[first]]
    mism = o["mism"][pos[o["mism"]] >= 0]
    shift = np.zeros(len(rows), np.int64)
    shift[pos[mism]] = 3  # the code's first seat three rows off the order's
    base = pl.DataFrame({"oi": rows, "src": rows, "chan": chan, "t_alloc": t_alloc, "code": code, "shift": shift,
                         "t_print": o["t_print"][rows], "printed": o["printed"][rows] & ticket[rows],
                         "refund": refund[rows], "t_refund": t_refund[rows], "no_delivery": o["no_delivery"][rows]})
    # unknown orders: codes for order numbers our order system never issued (copies of early allocations)
    early = np.flatnonzero((t_alloc < CUT - 2 * HOUR) & ~refund[rows])[: o["n_unknown"]]
    unknown = base[early].with_columns(oi=pl.int_range(0, len(early)) + 10**9, code=pl.int_range(0, len(early)) + 9 * 10**11,
                                       printed=False, refund=False, t_alloc=pl.col("t_alloc") + 1800)
    base = pl.concat([base, unknown])
    keep = ["oi", "src", "chan", "code", "shift"]
    ev = pl.concat([
        base.select(*keep, ts="t_alloc", st=pl.lit(0, pl.Int8)),
        base.filter(~pl.col("no_delivery")).select(*keep, ts=pl.col("t_alloc") + 30, st=pl.lit(1, pl.Int8)),
        base.filter("printed").select(*keep, ts=pl.max_horizontal("t_print", pl.col("t_alloc") + 60), st=pl.lit(2, pl.Int8)),
        base.filter("refund").select(*keep, ts=pl.max_horizontal("t_refund", pl.col("t_alloc") + 60), st=pl.lit(3, pl.Int8)),
    ]).filter(pl.col("ts") < CUT).sort(["chan", "ts", "oi"])
    o["_code_events"] = ev.select("oi", "code", "ts", "st")
    table = o["_table"]
    cols = _order_cols(shift=pl.col("shift"))
    files = []
    for c in CODE_CHANNELS:
        name = CHANNELS[c]
        part_c = ev.filter(pl.col("chan") == c)
        span = file_minutes * MIN
        buckets = (part_c["ts"] // span).to_numpy()
        bounds = np.searchsorted(buckets, np.arange(DAY // span + 1))
        for h in range(DAY // span):
            a, b = int(bounds[h]), int(bounds[h + 1])
            if a == b:
                continue

            def frames(a=a, b=b, part_c=part_c, name=name):
                for s in range(a, b, CHUNK_ROWS):
                    chunk = part_c.slice(s, min(CHUNK_ROWS, b - s))
                    facts = table[chunk["src"].to_numpy()].drop("ch")
                    yield pl.concat([chunk, facts], how="horizontal").select(
                        allocation_ts=_ts("ts"), channel_partner=pl.lit(name),
                        channel_order_id=pl.format("{}{}", pl.lit("TB" if name == "TAOBAO" else "CMB"),
                                                   ((pl.col("oi") * 15485863 + 11) % 10**14).cast(pl.String).str.zfill(14)),
                        order_id=_oid("oi"), cinema_code=cols["cinema_code"], show_code=cols["show_code"],
                        show_start_time=cols["show_start_time"], pickup_code=pl.col("code").cast(pl.String).str.zfill(12),
                        verify_code=((pl.col("oi") * 7919 + 4321) % 10**6).cast(pl.String).str.zfill(6),
                        seats=cols["seats"], ticket_count=pl.col("tickets"),
                        status=pl.col("st").cast(pl.Int64).replace_strict([0, 1, 2, 3], pl.Series(CODE_STATUS)))

            files.append(_deliver(out / "pickup_codes" / name / DATE, f"{name}_codes_{_stamp(h, span)}", "pickup_codes",
                                  name, frames(), _until(h, span)))
    code_str = lambda c: f"{int(c):012d}"  # noqa: E731
    truth["faults"]["PICKUP_CODE_DUPLICATE"] = {"duplicate": [code_str(c) for c in code[pos[second]]]}
    truth["faults"]["PICKUP_CODE_INVALID"] = {
        "seat_mismatch": [code_str(c) for c in code[pos[mism]]],
        "unknown_order": [code_str(c) for c in unknown["code"].to_list()]}
    return int(ev.height), files


def _expected_from_delivered(o: dict, ev, shows: dict, cancelled, truth: dict) -> None:
    """Faults that follow from the cancelled shows, counted on what the delivered files hold: every
    order of them live by its last delivered event, and those orders' codes not revoked."""
    import numpy as np
    import polars as pl

    in_cx = np.flatnonzero(np.isin(o["sid"], cancelled))
    last = (ev.filter(pl.col("oi").is_in(pl.Series(in_cx).implode()))
            .sort(["oi", "ts", pl.col("st").replace_strict([0, 2], [0, 1], default=2)])
            .group_by("oi").agg(pl.col("st").last()))
    live = last.filter(pl.col("st").is_in([STATUS.index(s) for s in ("PAID", "ISSUED", "PRINTED")]))["oi"].to_numpy()
    truth["faults"]["ORDER_SHOW_CANCELLED"] = {"cancel": _order_ids(np.sort(live))}
    codes = (o["_code_events"].filter(pl.col("oi").is_in(pl.Series(live).implode()))
             .sort(["oi", "ts"]).group_by("oi").agg(pl.col("st").last(), pl.col("code").last())
             .filter(pl.col("st") != 3))
    truth["faults"]["PICKUP_CODE_INVALID"]["cancelled_show"] = [f"{int(c):012d}" for c in sorted(codes["code"].to_list())]


# ---------------------------------------------------------------------------------------------- the run

def _generate_child(out: Path, kind: str, scale: float, file_minutes: int, log: Path, timeout: float) -> dict:
    """Generate in a child process, so the parent stays small (Linux carries a parent's peak RSS into the
    children it forks) and the generator's own peak is measured."""
    from bench.national_quality import run_child

    shutil.rmtree(out, ignore_errors=True)
    code = ("import sys; from pathlib import Path; from bench.record_day import generate; "
            "generate(Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))")
    r = run_child([sys.executable, "-c", code, str(out), kind, str(scale), str(file_minutes)], log, dict(os.environ),
                  timeout)
    if r["rc"] != 0:
        raise RuntimeError(f"generating the {kind} day failed: {log.read_text()[-3000:]}")
    return r


def _materialize(landing: Path, wh: Path, log: Path, timeout: float, memory_limit: str | None = None) -> dict:
    """`ticket-dq materialize` of the order feeds and checks in a child; wall, CPU, peak RSS, step times."""
    from datetime import datetime, timezone

    from bench.national_quality import _START, _STEP, parse_duration, run_child

    shutil.rmtree(wh.parent, ignore_errors=True)
    wh.parent.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKET_DQ_")}
    env.update(TICKET_DQ_LANDING=str(landing), TICKET_DQ_WAREHOUSE=str(wh), TICKET_DQ_OUTBOX=str(wh.parent / "outbox"),
               TICKET_DQ_NOW=NOW, DAGSTER_HOME="", PYTHONUNBUFFERED="1")
    if memory_limit:
        env["TICKET_DQ_DUCKDB_MEMORY_LIMIT"] = memory_limit
    samples: list[tuple[float, float]] = []  # (unix time, RSS MB) every 0.25 s
    r = run_child([str(EXE), "materialize", "--verbose", "--quiet", "--select", SELECTION], log, env, timeout, samples)
    text = log.read_text(encoding="utf-8", errors="replace")
    r["succeeded"] = r["rc"] == 0 and " succeeded in " in text
    starts = {key: datetime.strptime(ts, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
              for ts, key in _START.findall(text)}
    steps: dict[str, float] = {}
    step_rss: dict[str, int] = {}
    for key, dur in _STEP.findall(text):
        sec = parse_duration(dur)
        steps[key] = round(steps.get(key, 0.0) + sec, 2)
        if key in starts:  # log times have 1 s resolution: the window is widened to whole seconds
            inside = [mb for t, mb in samples if starts[key] <= t <= starts[key] + sec + 1]
            if inside:
                step_rss[key] = round(max(inside))
    r["steps"] = steps
    r["step_peak_rss_mb"] = step_rss
    r["cpu_s"] = round(r["user_s"] + r["sys_s"], 1)
    return r


def _keyset(con, sql: str) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for cat, rule, key in con.execute(sql).fetchall():
        out.setdefault((cat, rule), set()).add(key)
    return out


FOUND_SQL = """
SELECT category, rule,
       CASE WHEN category LIKE 'PICKUP_CODE_%' THEN pickup_code
            WHEN category = 'ORDER_OUTCOME_SPIKE' THEN source || '|' || strftime(CAST(json_extract_string(evidence, '$.hour') AS TIMESTAMP), '%Y-%m-%d %H:%M')
            ELSE order_id END
FROM dq.issues WHERE category IN ('ORDER_NOT_ISSUED', 'SEAT_DOUBLE_SOLD', 'PICKUP_CODE_DUPLICATE', 'PICKUP_CODE_INVALID',
                                  'ORDER_SHOW_CANCELLED', 'ORDER_SHOW_CHANGED', 'ORDER_OUTCOME_SPIKE')
"""


def verify(wh: Path, truth: dict) -> dict:
    """Nothing lost (ledger conservation, raw rows = manifest rows per file) and faults found vs injected."""
    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    try:
        ledger = con.execute("""SELECT feed, count(*) AS files, sum(rows_manifest), sum(rows_ingested), sum(rows_quarantined),
                                       count(*) FILTER (WHERE rows_manifest <> rows_ingested + rows_quarantined),
                                       count(*) FILTER (WHERE status <> 'INGESTED')
                                FROM meta.ingested_files GROUP BY feed ORDER BY feed""").fetchall()
        per_file = {}
        for feed, table in (("orders", "raw.orders"), ("pickup_codes", "raw.pickup_codes")):
            per_file.update(dict(con.execute(f"SELECT ingest_file, count(*) FROM {table} GROUP BY ALL").fetchall()))
        found = _keyset(con, FOUND_SQL)
        statuses = dict(con.execute("SELECT status, count(*) FROM dq.issues GROUP BY ALL").fetchall())
    finally:
        con.close()
    expected_files = [f for files in truth["files"].values() for f in files]
    raw_mismatch = [f["file"] for f in expected_files if per_file.get(f["file"], 0) != f["rows"]]
    faults = []
    injected = {(c, r): set(keys) for c, rules in truth["faults"].items() for r, keys in rules.items()}
    for cat_rule in sorted(set(injected) | set(found)):
        inj, got = injected.get(cat_rule, set()), found.get(cat_rule, set())
        faults.append({"category": cat_rule[0], "rule": cat_rule[1], "injected": len(inj), "found": len(inj & got),
                       "missed": len(inj - got), "extra": len(got - inj), "missed_sample": sorted(inj - got)[:3],
                       "extra_sample": sorted(got - inj)[:3]})
    led = [{"feed": r[0], "files": r[1], "rows_manifest": int(r[2]), "rows_ingested": int(r[3]),
            "rows_quarantined": int(r[4]), "files_not_conserved": r[5], "files_not_ingested": r[6]} for r in ledger]
    nothing_lost = (all(x["files_not_conserved"] == 0 and x["files_not_ingested"] == 0 for x in led)
                    and not raw_mismatch and all(f["file"] in per_file for f in expected_files))
    return {"ledger": led, "raw_rows_vs_manifest_mismatch": raw_mismatch, "nothing_lost": nothing_lost,
            "faults": faults, "all_found": all(f["missed"] == 0 for f in faults),
            "no_extra": all(f["extra"] == 0 for f in faults), "issue_status": statuses}


def run_day(kind: str, scale: float, base: Path, timeout: float, keep: bool, file_minutes: int = 60,
            memory_limit: str | None = None) -> dict:
    landing, wh = base / kind / "landing", base / kind / "wh" / "ticket_dq.duckdb"
    base.joinpath(kind).mkdir(parents=True, exist_ok=True)
    gen = _generate_child(landing, kind, scale, file_minutes, base / kind / "generate.log", timeout)
    truth = json.loads((landing / "truth.json").read_text(encoding="utf-8"))
    print(f"{kind}: generated {truth['orders']:,} orders, {truth['order_events']:,} order events, "
          f"{truth['pickup_code_rows']:,} pickup-code rows in {gen['wall_s']} s (peak RSS {gen['peak_rss_mb']} MB)",
          flush=True)
    mat = _materialize(landing, wh, base / kind / "materialize.log", timeout, memory_limit)
    print(f"{kind}: materialize {'succeeded' if mat['succeeded'] else 'FAILED'} in {mat['wall_s']} s, "
          f"CPU {mat['cpu_s']} s, peak RSS {mat['peak_rss_mb']} MB", flush=True)
    res = {"kind": kind, "scale": scale, "generate": {k: gen[k] for k in ("wall_s", "peak_rss_mb", "user_s")},
           "orders": truth["orders"], "order_events": truth["order_events"],
           "pickup_code_rows": truth["pickup_code_rows"], "cinemas": truth["cinemas"], "shows": truth["shows"],
           "landing_mb": round(sum(f["bytes"] for fs in truth["files"].values() for f in fs) / 2**20),
           "largest_file": max((f for fs in truth["files"].values() for f in fs), key=lambda f: f["rows"]),
           "materialize": mat}
    if not mat["succeeded"]:
        print((base / kind / "materialize.log").read_text(errors="replace")[-5000:], file=sys.stderr)
        return res
    steps = mat["steps"]
    ingest_s = sum(steps.get(s, 0.0) for s in INGEST_STEPS)
    check_s = sum(steps.get(s, 0.0) for s in CHECK_STEPS)
    rows_in = truth["order_events"] + truth["pickup_code_rows"]
    res.update(ingest_s=round(ingest_s, 1), ingest_rows=rows_in, ingest_rows_per_s=round(rows_in / ingest_s),
               checks_s=round(check_s, 1), checks_rows=truth["order_events"],
               checks_rows_per_s=round(truth["order_events"] / check_s),
               # what the checks read: the order events and (pickup_code, order_not_issued) the codes
               checks_input_rows=rows_in, checks_input_rows_per_s=round(rows_in / check_s),
               validation_s=round(sum(v for k, v in steps.items() if k not in INGEST_STEPS + CHECK_STEPS
                                      and ("VALID" in k or k.startswith("validate"))), 1),
               verify=verify(wh, truth))
    if not keep:
        shutil.rmtree(base / kind / "landing", ignore_errors=True)
        shutil.rmtree(base / kind / "wh", ignore_errors=True)
    return res


def _table(days: list[dict]) -> str:
    ok = [d for d in days if "verify" in d]
    head = "| | " + " | ".join(d["kind"] for d in ok) + " |\n| --- |" + " ---: |" * len(ok)
    rows = [
        ("orders", lambda d: f"{d['orders']:,}"),
        ("order events", lambda d: f"{d['order_events']:,}"),
        ("pickup-code rows", lambda d: f"{d['pickup_code_rows']:,}"),
        ("largest file (rows)", lambda d: f"{d['largest_file']['rows']:,}"),
        ("ingestion s (raw/orders + raw/pickup_codes)", lambda d: f"{d['ingest_s']}"),
        ("ingestion rows/s", lambda d: f"{d['ingest_rows_per_s']:,}"),
        ("order checks s (7 steps)", lambda d: f"{d['checks_s']}"),
        ("order checks events/s", lambda d: f"{d['checks_rows_per_s']:,}"),
        ("order checks input rows/s (events + codes)", lambda d: f"{d['checks_input_rows_per_s']:,}"),
        ("GX checks s (every selected table)", lambda d: f"{d['validation_s']}"),
        ("materialize wall s", lambda d: f"{d['materialize']['wall_s']}"),
        ("materialize CPU s", lambda d: f"{d['materialize']['cpu_s']}"),
        ("peak RSS MB", lambda d: f"{d['materialize']['peak_rss_mb']:,}"),
        ("peak RSS MB outside ingestion (step)", lambda d: "{1:,} ({0})".format(*max(
            ((k, v) for k, v in d["materialize"]["step_peak_rss_mb"].items() if k not in INGEST_STEPS),
            key=lambda kv: kv[1], default=("-", 0)))),
        ("nothing lost", lambda d: "yes" if d["verify"]["nothing_lost"] else "NO"),
        ("faults found / injected", lambda d: f"{sum(f['found'] for f in d['verify']['faults'])} / "
                                              f"{sum(f['injected'] for f in d['verify']['faults'])}"),
        ("extra order alerts", lambda d: f"{sum(f['extra'] for f in d['verify']['faults'])}"),
    ]
    lines = [head] + [f"| {name} | " + " | ".join(fn(d) for d in ok) + " |" for name, fn in rows]
    return "\n".join(lines)


def _fault_table(days: list[dict]) -> str:
    ok = [d for d in days if "verify" in d]
    keys = sorted({(f["category"], f["rule"]) for d in ok for f in d["verify"]["faults"]})
    head = "| category | rule | " + " | ".join(f"{d['kind']} found / injected (extra)" for d in ok) + " |\n| --- | --- |" \
        + " ---: |" * len(ok)
    lines = [head]
    for cat, rule in keys:
        cells = []
        for d in ok:
            f = next((x for x in d["verify"]["faults"] if (x["category"], x["rule"]) == (cat, rule)), None)
            cells.append(f"{f['found']} / {f['injected']} ({f['extra']})" if f else "-")
        lines.append(f"| {cat} | {rule} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench.record_day", description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="cinemas and orders x this (0.05 for development)")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/record_day"))
    ap.add_argument("--days", default="ordinary,record", help="which days, comma separated")
    ap.add_argument("--keep", action="store_true", help="keep each day's landing area and warehouse")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per child process")
    ap.add_argument("--file-minutes", type=int, default=60, choices=(5, 10, 15, 20, 30, 60),
                    help="delivery window of an orders / pickup-codes file (the simulator's is an hour)")
    ap.add_argument("--memory-limit", default="4GB",
                    help="TICKET_DQ_DUCKDB_MEMORY_LIMIT of the materialize run ('' for DuckDB's default, 80 %% of RAM)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    kinds = [k.strip() for k in a.days.split(",") if k.strip()]
    if any(k not in ("ordinary", "record") for k in kinds):
        ap.error("--days takes ordinary and/or record")
    days = [run_day(k, a.scale, a.dir, a.timeout, a.keep, a.file_minutes, a.memory_limit) for k in kinds]
    res = {"scale": a.scale, "file_minutes": a.file_minutes, "duckdb_memory_limit": a.memory_limit or None, "cpus": os.cpu_count(), "load_at_end": os.getloadavg(), "days": days}
    by = {d["kind"]: d for d in days if "verify" in d}
    if {"ordinary", "record"} <= set(by):
        o, r = by["ordinary"], by["record"]
        res["record_vs_ordinary"] = {
            "orders_x": round(r["orders"] / o["orders"], 2),
            "ingest_rows_per_s_ratio": round(r["ingest_rows_per_s"] / o["ingest_rows_per_s"], 2),
            "checks_rows_per_s_ratio": round(r["checks_rows_per_s"] / o["checks_rows_per_s"], 2),
            "checks_input_rows_per_s_ratio": round(r["checks_input_rows_per_s"] / o["checks_input_rows_per_s"], 2),
            "peak_rss_x": round(r["materialize"]["peak_rss_mb"] / o["materialize"]["peak_rss_mb"], 2)}
    print(f"\nrecord day benchmark, scale {a.scale} ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f})")
    print(_table(days))
    print()
    print(_fault_table(days))
    if "record_vs_ordinary" in res:
        print(f"\nrecord / ordinary: {res['record_vs_ordinary']}")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {a.out}")
    good = all(d.get("materialize", {}).get("succeeded") and d.get("verify", {}).get("nothing_lost") for d in days)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
