"""The simulated market itself: which platforms list which cinema, the reference files, and the
true schedule of shows (one frame, with the columns later stages fill in).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ticket_dq.lib.contract import REFERENCE
from ticket_dq.simulate.config import (
    DAY, MIN, NEVER, PARTNERS, PLATFORMS, PLATFORM_COVERAGE, UNMATCHABLE_PLACES, affine,
)
from ticket_dq.simulate.world import HALL_KINDS, OTHER_NAMES


class Market:
    """One stage of ``generator.Simulator`` (see its docstring for the state the stages share)."""

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
            ids = affine(np.arange(n), 7919, 104729 + 31 * q, 900000) + 100000
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

    def _n(self) -> int:
        return max(5, round(self.cfg.fault_rate * self.cfg.cinemas))

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
        v = affine(x, 7_654_321, 1_234_567, 10**10)
        if np.ndim(v) == 0:
            return f"{int(v):010d}"
        return v
