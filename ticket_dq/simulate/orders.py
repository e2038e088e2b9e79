"""Orders, their events, seats (and double-sold seats), pickup codes and complaints: what customers and
channel partners did with the true schedule, rendered as the orders / pickup_codes / complaints feeds.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ticket_dq.lib.contract import FEEDS
from ticket_dq.simulate.config import (
    DAY, HOUR, MIN, NEVER, PARTNERS, CHANNELS, CHANNEL_W, CODE_CHANNELS, affine, mix64,
)
from ticket_dq.simulate import outcome_faults
from ticket_dq.simulate.landing import Delivery


class OrdersAndCodes:
    """One stage of ``generator.Simulator`` (see its docstring for the state the stages share)."""

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
        oid = affine(np.arange(n), 48271, 9_000_001, 10**11)
        users = max(1, int(n * 0.7))
        uidx = rng.integers(0, users, size=n)
        uh = mix64(uidx.astype(np.uint64) + np.uint64(self.cfg.seed) * np.uint64(1_000_003))
        uh2 = mix64(uh)
        mob_pre = np.array([133, 135, 136, 138, 139, 150, 152, 158, 177, 180, 186, 188, 189, 199])
        mobile = mob_pre[uidx % len(mob_pre)] * 10**8 + affine(uidx, 7919, 13, 10**8)
        pno = affine(np.arange(n), 69621, 5_000_003, 10**9)
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

    def _write_pickup_codes(self) -> None:
        of = self.order_frame
        rng = self.rng
        cut = self.cut
        ch = of["channel_code"].to_numpy()
        issued = of["paid"].to_numpy() & ~of["fail"].to_numpy() & (of["t_issue"].to_numpy() + 5 < cut)
        rows = np.flatnonzero(np.isin(ch, CODE_CHANNELS) & issued & ~of["late"].to_numpy())
        sub = of[rows]
        n = sub.height
        code = affine(sub["oi"].to_numpy(), 2_147_483_629, 100_000_007, 10**12)
        verify = affine(sub["oi"].to_numpy(), 7919, 4321, 10**6)
        codes = pl.DataFrame({
            "r": np.arange(n), "oi": sub["oi"], "channel_partner": sub["channel_code"],
            "channel_order_id": [(f"TB{x:016d}" if c == "TAOBAO" else f"CMB{x:014d}")
                                 for c, x in zip(sub["channel_code"], affine(sub["oi"].to_numpy(), 15485863, 11, 10**14))],
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
                                   affine(np.arange(len(unknown)) + 10**9, 48271, 9_000_001, 10**11)]),
            pl.Series("pickup_code", [f"{x:012d}" for x in affine(np.arange(len(unknown)) + 10**9, 2_147_483_629, 100_000_007, 10**12)]),
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
