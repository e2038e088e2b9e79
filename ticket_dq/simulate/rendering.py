"""How each source delivers the true schedule: partner snapshots in each partner's style (encoding,
times, quoting, names), platform crawls as JSON Lines, file faults (partial, volume drop, bad rows),
late feeds and re-deliveries; written chunk by chunk.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ticket_dq.lib.contract import FEEDS
from ticket_dq.simulate.config import (
    DAY, HOUR, MIN, FMT, ISO, Partner, PARTNERS, PLATFORMS, PLATFORM_OFFSET_MIN, LATE_PARTNER,
    CHUNK_CINEMAS, affine, NATIONAL_FILE_FAULTS, LATEST_FAULT_PARTNER, LATEST_FAULT_AFTER_S,
)
from ticket_dq.simulate.landing import Delivery
from ticket_dq.simulate.world import HALL_KINDS


class Rendering:
    """One stage of ``generator.Simulator`` (see its docstring for the state the stages share)."""

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
        # One partner's latest delivery is a corrupt file, after its last regular snapshot (which stays
        # current, so its show-level faults stand). Placed after the spurious changes: those stay one
        # regular snapshot long.
        times = self.snap_times[LATEST_FAULT_PARTNER]
        t = times[-1] + LATEST_FAULT_AFTER_S
        if t < self.now:
            self.snap_times[LATEST_FAULT_PARTNER] = times + [t]
            self.file_faults[(LATEST_FAULT_PARTNER, t)] = "partial"

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
        fid0 = affine(f["film"].to_numpy(), 9973, 1_200_000, 9_000_000) + 1_000_000
        fid1 = affine(f["film"].to_numpy(), 7717, 300_000, 900_000) + 100_000
        self._film_tab = f.with_columns(
            pl.Series("film_name_raw", [t + suffix[v] for t, v in zip(f["title"], f["version"])]),
            pl.Series("vt0", vt0), pl.Series("vt1", vt1),
            pl.Series("pfid0", [str(x) for x in fid0]), pl.Series("pfid1", [f"{x}" for x in fid1]),
        ).rename({"fv": "e_fv"})
        cz = self.world.cinemas
        pids = []
        for i, pt in enumerate(cz["partner"].to_list()):
            p = PARTNERS[pt]
            x = int(affine(np.array([i]), 104723, 3001 + pt, 1_000_000)[0])
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
            enc = p.encoding if k == 0 or p.encoding != "utf-8-sig" else "utf-8"
            yield self._partner_text(p, df, header=k == 0).encode(enc), df.height

    @staticmethod
    def _partner_ext(p: Partner) -> str:
        return "jsonl" if p.jsonl_yuan else "csv"

    @staticmethod
    def _partner_text(p: Partner, df: pl.DataFrame, header: bool = True) -> str:
        """The partner's encoding of rows: CSV in its quoting / line ends, or JSON Lines with yuan money."""
        if p.jsonl_yuan:
            fen = [c for c in df.columns if c.endswith("_fen")]
            v = {c: pl.col(c).cast(pl.Int64) for c in fen}
            df = df.with_columns(*[((v[c] // 100).cast(pl.String) + "." + (v[c] % 100).cast(pl.String).str.zfill(2))
                                   .alias(c) for c in fen]).rename({c: c[:-4] + "_yuan" for c in fen})
            return df.write_ndjson()
        return df.write_csv(include_header=header, quote_style="always" if p.quote_all else "necessary",
                            line_terminator="\r\n" if p.crlf else "\n")

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
                                                    self._partner_stem(p, ts), self._partner_ext(p),
                                                    self._partner_chunks(p, p_idx, ts), self.ts(ts))
                    usual[p.code] = d.rows
                else:
                    self._deliver_partner(p, ts, self._render_partner(p, p_idx, ts), purpose, usual)
            if p.code in ("MTX", "HX") and len(times) >= 3:  # next snapshot being written: no manifest yet
                ts = self.now - 3 * MIN
                d = self.landing.deliver_chunks("partner_schedule", p.code, self.ts(ts, "%Y-%m-%d"),
                                                self._partner_stem(p, ts), self._partner_ext(p),
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
            bad_lines = [{"line": r + (1 if p.jsonl_yuan else 2), "cinema_code": df["cinema_code"][r], "show_code": df["show_code"][r]}
                         for r in rows]
        text = self._partner_text(p, df)
        if purpose == "row_parse" and bad_lines:
            nl = "\r\n" if p.crlf else "\n"
            lines = text.split(nl)
            li = bad_lines[2]["line"] - 1
            lines[li] = lines[li].rsplit(",", 1)[0]  # a field short
            text = nl.join(lines)
            for b, k in zip(bad_lines, ("bad_timestamp", "non_numeric_price", "wrong_field_count")):
                b["kind"] = k
        data = text.encode(p.encoding)
        if purpose == "partial" and df.height == 0:
            purpose = None  # an empty snapshot cut short is the same bytes: no partial delivery to detect
        truncate = None
        if purpose == "partial":
            cutpos = int(len(data) * 0.6)
            truncate = cutpos
        d = self.landing.deliver("partner_schedule", p.code, day, stem, self._partner_ext(p), data, df.height, self.ts(ts),
                                 manifest=purpose != "no_manifest", truncate_to=truncate)
        if purpose == "partial":
            self.truth.add("fault", "FEED_PARTIAL", "manifest_mismatch", p.code, business_date=day,
                           detail={"file": d.rel, "rows_manifest": df.height, "bytes_manifest": len(data),
                                   "bytes_in_file": truncate, "latest_delivery": ts == self.snap_times[p.code][-1]})
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
            lambda x: pl.Series(affine(x.to_numpy(), 31337 + 1000 * q, 777 + q, 10**9) + 10**9), return_dtype=pl.Int64)
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
