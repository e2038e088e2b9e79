"""The truth file: every injected fault and benign change (``_truth/faults.csv``), which fault each
complaint is about (``_truth/complaints.csv``) and the run's summary (``_truth/sim.json``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ticket_dq.simulate.config import MIN, PARTNERS, PLATFORMS, LATE_PARTNER


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


class TruthRecords:
    """One stage of ``generator.Simulator`` (see its docstring for the state the stages share)."""

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
                                  "promo_hall_names": p.promo_hall_names, "jsonl_yuan": p.jsonl_yuan,
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
