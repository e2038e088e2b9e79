"""Order-outcome faults of the simulated market (TRUTH.md): a partner's issuing outage for an hour, scattered
orders that never get a ticket, channel orders whose pickup code is never delivered, and shows moved at the
cinema without any feed saying so (seen only through a wave of refunds).

The orders are chosen from the generated orders (``Simulator.order_frame``) and only their events are
rewritten, after the generator drew its random numbers for them. Three hooks in the generator:
``inject_orders`` (order events), ``drop_code_deliveries`` (pickup-code events) and ``add_complaints``. A separate random stream keeps every other injected fault as it was for
the seed; only orders no other fault or benign case rests on are touched (no code-channel order except
the undelivered codes, no order of a changed / cancelled show, of a double-sold seat, or with a late or
out-of-order event).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import polars as pl

DAY = 86400
HOUR = 3600
MIN = 60
NEVER = 2**62
CODE_CHANNELS = ("TAOBAO", "CMB_BANK")

# (partner, hour of the last simulated day, orders left without their automatic refund)
OUTAGES = (("FH", 14, 6), ("DX", 12, 2), ("MTX", 16, 2))
MOVED_SHOWS = 2  # shows moved at the cinema, each seen through its customers' refunds
MOVED_MIN_ORDERS = 6  # issued orders a moved show needs (its refunds must be a visible wave)
STUCK_RATE = 2e-5  # scattered orders with no ticket, per order (at least STUCK_MIN of each rule)
STUCK_MIN = 4
UNDELIVERED_CODES = 4
COMPLAINT_SHARE = 0.6  # customers of a not-issued order who complain (NO_TICKET_ISSUED)


@dataclass(frozen=True)
class Context:
    """What the injection needs from the simulator."""
    seed: int
    now: int  # simulated seconds
    cut: int  # order events from here on are still being written
    sim_start: int
    last_day: int
    ts: Callable[[int], str]
    day: Callable[[int], str]
    show_forced: np.ndarray  # per show: a real change or cancellation (ORDER_SHOW_* truth rests on its orders)
    show_plain: np.ndarray  # per show: no change, fault, re-issue or duplicate at all
    protected_orders: frozenset[int]  # order rows other truth rests on (double-sold seats)

    @classmethod
    def of(cls, sim) -> "Context":
        c = sim.col
        plain = ((c["forced"] == 0) & (c["ch_ts"] == NEVER) & (c["pf_ts"] == NEVER) & (c["ri_ts"] == NEVER)
                 & (c["dup_ts"] == NEVER) & (c["cx_ts"] == NEVER) & (c["ghost"] == 0))
        pairs = frozenset(int(x) for e, later, _ in sim.double_sold for x in (e, later))
        return cls(seed=sim.cfg.seed, now=sim.now, cut=sim.cut, sim_start=sim.cfg.sim_start_s,
                   last_day=sim.cfg.days - 1, ts=sim.ts, day=sim.day, show_forced=c["forced"] > 0,
                   show_plain=plain, protected_orders=pairs)


@dataclass
class Injected:
    """Carried from the order hook to the pickup-code and complaint hooks."""
    undelivered_orders: set[str] = field(default_factory=set)
    complaints: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # (ts, order, cinema, cat, fault)


def _bday(ctx: Context, start: int) -> str:
    return ctx.day((int(start) - 6 * HOUR) // DAY)


def inject_orders(of: pl.DataFrame, events: pl.DataFrame, truth, ctx: Context) -> tuple[pl.DataFrame, Injected]:
    """Return the order events (``oi``, ``late``, ``ooo``, ``event_ts``, ``status``, ``status_reason``, ``delay``,
    ``arrival``) with the outcome faults applied, recording each one in ``truth``. The orders are chosen from
    ``of`` (one row per order, lifecycle times); only events change, after the generator drew every random
    number it draws for them, so nothing else of the seed moves."""
    rng = np.random.default_rng([ctx.seed, 1414])
    g = {k: of[k].to_numpy() for k in ("paid", "fail", "t_paid", "t_issue", "refund", "printed")}
    sid = of["sid"].to_numpy()
    start = of["start_b"].to_numpy()
    partner = of["partner_code"].to_numpy()
    oid = of["order_id"].to_numpy()
    cin = of["cinema_code"].to_numpy()
    chan = of["channel_code"].to_numpy()
    n = of.height
    code_chan = np.isin(chan, CODE_CHANNELS)
    protected = np.zeros(n, dtype=bool)
    protected[list(ctx.protected_orders)] = True
    settled = (g["t_paid"] >= ctx.sim_start + HOUR) & (g["t_paid"] < ctx.cut - 2 * HOUR)
    free = (g["paid"] & ~g["fail"] & ~g["refund"] & ~of["late"].to_numpy() & ~of["ooo"].to_numpy()
            & ~ctx.show_forced[sid] & ~protected & settled)
    used = np.zeros(n, dtype=bool)
    out = Injected()
    edits: list[tuple[int, str, int]] = []  # (order row, action, refund second or -1)

    def not_issued(j: int, rule: str, **detail) -> None:
        fid = truth.add("fault", "ORDER_NOT_ISSUED", rule, str(partner[j]), cinema_code=str(cin[j]),
                        business_date=_bday(ctx, start[j]), show_start_time=ctx.ts(start[j]), order_id=str(oid[j]),
                        detail={"paid_at": ctx.ts(g["t_paid"][j]), **detail})
        if rng.random() < COMPLAINT_SHARE:
            t = int(g["t_paid"][j] + rng.integers(30 * MIN, 3 * HOUR))
            if t < ctx.now:
                out.complaints.append((t, str(oid[j]), str(cin[j]), "NO_TICKET_ISSUED", fid))

    # 1. a partner's issuing interface fails for an hour: every issue attempt of its own channels fails;
    #    the automatic refund follows, except for a few orders it misses
    for code, hour, unrefunded in OUTAGES:
        h0 = ctx.last_day * DAY + hour * HOUR
        hit = np.flatnonzero(free & ~code_chan & (partner == code) & (g["t_issue"] >= h0) & (g["t_issue"] < h0 + HOUR))
        if len(hit) < 5:
            continue
        used[hit] = True
        truth.add("fault", "ORDER_OUTCOME_SPIKE", "issue_failure", code, business_date=ctx.day(ctx.last_day),
                  detail={"hour_from": ctx.ts(h0), "hour_to": ctx.ts(h0), "failed_orders": int(len(hit)),
                          "cause": "partner issuing interface down"})
        missed = set(int(j) for j in rng.choice(hit, size=min(unrefunded, len(hit)), replace=False))
        for j in hit:
            j = int(j)
            if j in missed:
                edits.append((j, "fail", -1))
                not_issued(j, "failed_not_refunded", failed_at=ctx.ts(g["t_issue"][j]), outage=True)
            else:
                edits.append((j, "fail", int(g["t_issue"][j] + 10 * MIN)))

    # 2. shows moved at the cinema without any feed saying so: their customers refund within one hour
    moved = 0
    for s in rng.permutation(np.unique(sid[free & ~code_chan & ctx.show_plain[sid]])):
        if moved >= MOVED_SHOWS:
            break
        st = int(start[np.flatnonzero(sid == s)[0]])
        h0 = (st - 3 * HOUR) // HOUR * HOUR
        # after detection's warm-up (6 h of history from the 06:00 start), delivered before the cut
        if not (ctx.last_day * DAY + 13 * HOUR <= h0 and h0 + HOUR <= ctx.cut - 10 * MIN):
            continue
        rows = np.flatnonzero((sid == s) & free & ~code_chan & ~used & (g["t_issue"] < h0 - 10 * MIN))
        if len(rows) < MOVED_MIN_ORDERS:
            continue
        used[rows] = True
        moved += 1
        fid = truth.add("fault", "ORDER_OUTCOME_SPIKE", "refund", str(partner[rows[0]]), cinema_code=str(cin[rows[0]]),
                        business_date=_bday(ctx, st), show_start_time=ctx.ts(st),
                        detail={"hour_from": ctx.ts(h0), "hour_to": ctx.ts(h0), "refunded_orders": int(len(rows)),
                                "cause": "show moved at the cinema, no feed changed", "moved_to": ctx.ts(st + 2 * HOUR)})
        t_ref = h0 + rng.integers(5 * MIN, 55 * MIN, size=len(rows))
        for j, t in zip(rows, t_ref):
            edits.append((int(j), "refund", int(t)))
        for j, t in list(zip(rows, t_ref))[:2]:
            out.complaints.append((int(t + 20 * MIN), str(oid[j]), str(cin[j]), "SHOW_CHANGED", fid))

    # 3. scattered orders that never get a ticket: no issuing outcome at all, or a failure with no refund
    k = max(STUCK_MIN, round(n * STUCK_RATE))
    pool = rng.permutation(np.flatnonzero(free & ~code_chan & ~used))
    for j in pool[:k]:
        edits.append((int(j), "silent", -1))  # the partner never answered: no ISSUED, no PRINTED
        not_issued(int(j), "not_issued")
    for j in pool[k:2 * k]:
        edits.append((int(j), "fail", -1))
        not_issued(int(j), "failed_not_refunded", failed_at=ctx.ts(g["t_issue"][j]))
    used[pool[:2 * k]] = True

    # 4. channel orders (per-order codes) whose pickup code is allocated but never delivered
    taobao = rng.permutation(np.flatnonzero(free & (chan == "TAOBAO") & ~g["printed"] & ~used))
    for j in taobao[:UNDELIVERED_CODES]:
        out.undelivered_orders.add(str(oid[j]))
        not_issued(int(j), "code_not_delivered", channel_partner="TAOBAO")

    return _apply(events, edits, rng), out


def _apply(events: pl.DataFrame, edits: list[tuple[int, str, int]], rng: np.random.Generator) -> pl.DataFrame:
    """Rewrite the edited orders' events: ``fail`` turns ISSUED into ISSUE_FAILED, ``silent`` drops it, every
    edit drops PRINTED; a refund second adds a REFUNDED event (arriving seconds later)."""
    if not edits:
        return events
    ed = pl.DataFrame({"oi": [e[0] for e in edits], "action": [e[1] for e in edits], "t_ref": [e[2] for e in edits]},
                      schema={"oi": events.schema["oi"], "action": pl.String, "t_ref": pl.Int64})
    e = events.join(ed.select("oi", "action"), on="oi", how="left", maintain_order="left")
    e = e.filter(~(pl.col("action").is_not_null() & ((pl.col("status") == "PRINTED")
                                                      | ((pl.col("status") == "ISSUED") & (pl.col("action") == "silent")))))
    fail = pl.col("action").eq("fail") & pl.col("status").eq("ISSUED")
    e = e.with_columns(pl.when(fail).then(pl.lit("ISSUE_FAILED")).otherwise("status").alias("status"),
                       pl.when(fail).then(pl.lit("影院系统出票超时")).otherwise("status_reason").alias("status_reason"))
    refunds = ed.filter(pl.col("t_ref") >= 0)
    delay = rng.integers(1, 90, size=refunds.height)
    add = refunds.select(
        "oi", pl.lit(False).alias("late"), pl.lit(False).alias("ooo"), pl.col("t_ref").alias("event_ts"),
        pl.lit("REFUNDED").alias("status"),
        pl.when(pl.col("action") == "fail").then(pl.lit("出票失败自动退款")).otherwise(pl.lit("用户申请退票"))
        .alias("status_reason"), pl.Series("delay", delay), (pl.col("t_ref") + pl.Series(delay)).alias("arrival"))
    e = e.drop("action")
    return pl.concat([e, add.select([pl.col(c).cast(t) for c, t in e.schema.items()])])


def drop_code_deliveries(events: pl.DataFrame, injected: Injected) -> pl.DataFrame:
    """Pickup-code events without the DELIVERED rows of the codes that were never delivered."""
    if not injected.undelivered_orders:
        return events
    gone = (pl.col("status") == "DELIVERED") & pl.col("order_id").is_in(sorted(injected.undelivered_orders))
    return events.filter(~gone)


def add_complaints(rows: list, links: list, injected: Injected) -> None:
    """Append the complaints of not-issued orders (NO_TICKET_ISSUED) and moved shows (SHOW_CHANGED)."""
    for t, order_id, cinema, cat, fid in injected.complaints:
        rows.append((t, order_id, cinema, cat))
        links.append(fid)
