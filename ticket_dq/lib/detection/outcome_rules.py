"""The rules of the order-outcome comparisons (paid orders that never got a ticket, hours whose failure or
refund rate spikes): their knobs, bound into every detection script by ``tolerances.params``, and the
Python reference of the spike test. Three scripts in ``sql/``, one concern each:

- ``order_outcome.sql``  -> ``cur.order_outcome``: each paid order's issuing timeline by event time
  (first PAID, first issuing outcome, first ticket, last ISSUE_FAILED, refund) and when its events were
  delivered. Shared by both detectors.
- ``order_not_issued.sql`` -> ``cand.order_not_issued`` (ORDER_NOT_ISSUED, one row per order).
- ``order_outcome_spike.sql`` -> ``cand.order_outcome_spike`` (ORDER_OUTCOME_SPIKE, one row per partner
  or show and hour).

Settled before judged: the orders feed has been seen up to ``horizon`` = the newest event time in
``raw.orders`` (capped by the clock). Each delivered file has been seen up to its own newest event, so an
order whose events arrived in a file that is younger than the window (a late PAID with its ISSUED still
on the way) waits for the next delivery instead of raising an alarm that the next file withdraws.

The spike rule (docs/detection.md): for each partner, hour and kind (``issue_failure``: ISSUE_FAILED
among the hour's issuing outcomes; ``refund``: refunds among the issued orders live in the hour, a
hazard), ``k`` events out of ``n`` against the partner's own trailing baseline ``p0`` (the previous
``baseline_days``, smoothed towards all partners' rate with weight ``prior_weight``). A spike needs all
of ``k >= min_count``, ``k/n >= ratio_floor * p0`` and the Chernoff bound of the binomial upper tail
``P(X >= k | n, p0) <= exp(-n * KL(k/n || p0))`` at most ``alpha``. The same test runs per show (refunds:
the show's live orders against the partner's refunds per issued order, a bound on any one hour); a partner-hour that one show
carries (``show_share`` of its events) is reported as that show.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ticket_dq import settings


@dataclass(frozen=True)
class OutcomeRules:
    issuing_window_min: int = 10  # PAID -> ISSUED/PRINTED (settings.issuing_window_min)
    refund_window_min: int = 30  # ISSUE_FAILED -> the automatic REFUNDED
    code_window_min: int = 45  # PAID -> pickup code DELIVERED (some channels push codes in bulk every 30 min)
    min_count: int = 5  # events an hour (or show) needs before it can be a spike
    ratio_floor: float = 3.0  # rate at least this many times the baseline
    alpha: float = 1e-6  # Chernoff bound on the binomial tail under the baseline
    baseline_days: int = 7  # trailing window of the partner's baseline
    min_history_h: int = 6  # hours of the partner's history before its hours are judged at all
    prior_weight: float = 50.0  # pseudo-events pulling a thin baseline towards all partners' rate
    show_share: float = 0.5  # a partner-hour whose top show holds this share of events is that show's spike
    refund_after_start_h: int = 3  # refunds are watched until this long after the show's start

    @classmethod
    def from_env(cls) -> "OutcomeRules":
        """Defaults, each overridable by ``TICKET_DQ_<NAME>``; the issuing window through settings."""
        kw = {"issuing_window_min": settings.issuing_window_min()}
        for name, value in asdict(cls()).items():
            raw = settings.env(f"TICKET_DQ_{name.upper()}")
            if name != "issuing_window_min" and raw not in (None, ""):
                kw[name] = type(value)(raw)
        return cls(**kw)


def params(rules: OutcomeRules | None = None) -> dict:
    """What the outcome scripts bind: every rule, and ``$min_score`` = -ln(alpha)."""
    rules = rules or OutcomeRules.from_env()
    return {**asdict(rules), "min_score": math.log(1 / rules.alpha)}


def kl_score(k: int, n: int, p0: float) -> float:
    """``n * KL(k/n || p0)`` when k/n > p0, else 0: -ln of the Chernoff bound on P(X >= k), X ~ Bin(n, p0).
    The reference the SQL twin (order_outcome_spike.sql, ``spike_score``) is tested against."""
    if n <= 0:
        return 0.0
    q = k / n
    if q <= p0:
        return 0.0
    a = q * math.log(q / p0)
    b = 0.0 if q >= 1 else (1 - q) * math.log((1 - q) / (1 - p0))
    return n * (a + b)


def is_spike(k: int, n: int, p0: float, rules: OutcomeRules | None = None) -> bool:
    """The spike rule for one cell (see the module docstring)."""
    r = rules or OutcomeRules()
    return k >= r.min_count and n > 0 and k / n >= r.ratio_floor * p0 and kl_score(k, n, p0) >= math.log(1 / r.alpha)
