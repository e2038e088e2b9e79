"""Faults and benign changes planted in the true schedule: moved, swapped, cancelled, duplicated and
overlapping shows, ghost and missing shows, price errors; each recorded in the truth.
"""

from __future__ import annotations

import numpy as np

from ticket_dq.simulate.config import HOUR, MIN, PARTNERS, PLATFORMS, CHANGE_MIN_AGE


class ScheduleFaults:
    """One stage of ``generator.Simulator`` (see its docstring for the state the stages share)."""

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
