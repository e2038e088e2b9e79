"""`ticket-dq simulate`: write a simulated landing area (feeds + `_truth/`), or replay issue handlers.

    ticket-dq simulate [feeds|demo|national|custom] --out DIR [--cinemas 60] [--days 2] [--seed 7]
                       [--start-date 2026-03-08] [--snapshots-per-day N] [--crawls-per-day N] [--if-empty]
    ticket-dq simulate handlers --landing DIR [--warehouse PATH] [--truth DIR/_truth] [--now TS] [--seed 7]

`feeds`, `demo` and `custom` are the same thing (the options decide); `national` changes the defaults
to a national day: 15000 cinemas, 1 day, one snapshot per partner and one crawl per platform.
"""

from __future__ import annotations

from pathlib import Path

FEED_WHATS = ("feeds", "demo", "national", "custom")
NATIONAL = {"cinemas": 15000, "days": 1, "snapshots_per_day": 1, "crawls_per_day": 1}
DEMO = {"cinemas": 60, "days": 2, "snapshots_per_day": None, "crawls_per_day": None}


def _positive(text: str) -> int:
    import argparse

    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(sub) -> None:
    p = sub.add_parser("simulate", help="generate simulated feeds with injected faults (or replay handlers)",
                       description=__doc__)
    p.add_argument("what", nargs="?", default="feeds", choices=FEED_WHATS + ("handlers",),
                   help="feeds (default; demo/custom are aliases, national = national-day defaults) or handlers")
    p.add_argument("--out", type=Path, help="landing area to write (feeds)")
    p.add_argument("--cinemas", type=_positive, default=None, help="number of cinemas (demo 60, national 15000)")
    p.add_argument("--days", type=_positive, default=None, help="simulated delivery days (demo 2, national 1)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--start-date", default="2026-03-08", help="first simulated day (Beijing time)")
    p.add_argument("--snapshots-per-day", type=_positive, default=None,
                   help="partner snapshots per day (default: hourly from 06:00 to now)")
    p.add_argument("--crawls-per-day", type=_positive, default=None,
                   help="platform crawls per day (default: every 2 h)")
    p.add_argument("--if-empty", action="store_true", help="do nothing when --out already holds feed folders")
    # handlers (ticket_dq.simulate.handlers)
    p.add_argument("--landing", type=Path, help="landing area to write issue_events into (handlers)")
    p.add_argument("--warehouse", type=Path, default=None, help="warehouse to read issues from (handlers)")
    p.add_argument("--truth", type=Path, default=None, help="truth folder (default <landing>/_truth)")
    p.add_argument("--now", default=None, help="clock for the handlers (default: sim.json now)")
    p.set_defaults(func=run)


def _has_feeds(out: Path) -> bool:
    from ticket_dq.lib.contract import FEEDS

    return any((out / f).is_dir() and any((out / f).iterdir()) for f in FEEDS)


def run(args) -> int:
    if args.what == "handlers":
        from ticket_dq.simulate import handlers

        return int(handlers.main(args) or 0)
    if args.out is None:
        raise SystemExit("ticket-dq simulate: --out DIR is required")
    out: Path = args.out
    if args.if_empty and out.is_dir() and _has_feeds(out):
        print(f"simulate: {out} already holds feed folders; nothing written (--if-empty)")
        return 0
    from ticket_dq.simulate import SimConfig, generate

    preset = NATIONAL if args.what == "national" else DEMO
    kw = {k: (getattr(args, k) if getattr(args, k) is not None else v) for k, v in preset.items()}
    cfg = SimConfig(seed=args.seed, start_date=args.start_date, **kw)
    sim = generate(out, cfg)
    print(summary(sim, out))
    return 0


def summary(sim: dict, out: Path) -> str:
    files = sim["files"]
    nfiles = sum(v["files"] for v in files.values())
    per_feed = ", ".join(f"{k} {v['files']} files/{v['rows']:,} rows" for k, v in sorted(files.items()))
    faults = ", ".join(f"{k} {v}" for k, v in sim["faults"].items())
    nb = sum(sim["benign"].values())
    return (f"simulate: wrote {nfiles} files to {out} in {sim.get('elapsed_s', 0):.1f} s "
            f"({sim['cinemas']} cinemas, {sim['days']} day(s) from {sim['start_date']}, seed {sim['seed']}): "
            f"{per_feed}. Injected faults: {faults}; benign churn rows: {nb}. "
            f"Truth in {out / '_truth'}; replay with TICKET_DQ_NOW='{sim['now']}'.")
