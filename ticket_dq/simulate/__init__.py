"""Synthetic national-scale feeds with injected faults and a ground-truth file (see TRUTH.md)."""

from ticket_dq.simulate.generator import SimConfig, generate

__all__ = ["SimConfig", "generate"]
