"""The knobs of the detection rules, overridable through the environment, and the parameters every
detection script is given (``$now`` and one ``$name`` per knob, the order-outcome rules included)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from ticket_dq import settings
from ticket_dq.lib.detection import outcome_rules


@dataclass(frozen=True)
class Tolerances:
    time_tol_min: int = 10  # start times within this many minutes are the same show
    max_shift_min: int = 180  # a same hall+film show further away than this is another show
    price_tol: float = 0.20  # relative difference of partner sale+fee vs platform price
    cleaning_gap_min: int = 0  # minimum gap between two shows of one hall
    integrity_lookback_h: int = 6  # duplicates / overlaps of shows older than this are not alerted
    cinema_threshold: float = 0.92  # name-match confidence needed to map a platform cinema
    volume_ratio: float = 0.5  # a snapshot below this share of the partner's baseline is a volume drop
    baseline_n: int = 24  # snapshots the baseline (median rows) looks back over
    partner_sla_min: int = 90  # partner silent longer than this is late (CONTRACT.md)
    platform_sla_min: int = 180  # platforms crawl every ~2 h
    orders_sla_min: int = 90  # order events come in hourly files; order-outcome issues wait for them

    @classmethod
    def from_env(cls) -> "Tolerances":
        """Defaults, each overridable by ``TICKET_DQ_<NAME>`` (e.g. ``TICKET_DQ_PRICE_TOL=0.3``)."""
        kw = {}
        for name, value in asdict(cls()).items():
            raw = settings.env(f"TICKET_DQ_{name.upper()}")
            if raw not in (None, ""):
                kw[name] = type(value)(raw)
        return cls(**kw)


def params(now: datetime, tol: Tolerances | None = None,
           rules: outcome_rules.OutcomeRules | None = None) -> dict:
    """What a detection script may bind: ``$now`` (the rules' clock), every tolerance and every
    order-outcome rule (``outcome_rules.params``)."""
    tol = tol or Tolerances.from_env()
    return {"now": now, **asdict(tol), **outcome_rules.params(rules)}
