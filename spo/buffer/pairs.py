"""Building candidate pairs with the configured builder (the builders are in :mod:`spo.buffer.builders`)."""

from __future__ import annotations

import pyarrow as pa

from spo.buffer.builders.base import max_min_pairs
from spo.plugins import PAIR_BUILDERS

__all__ = ["build_pairs", "max_min_pairs"]


def build_pairs(
    samples: pa.Table, scorer: str, builder: str, policy: str, strong: str | None = None, weak: str | None = None
) -> tuple[pa.Table, int]:
    """Candidate pairs by ``builder``; returns ``(pairs, n_dropped)`` (ties, or reward disagreeing)."""
    return PAIR_BUILDERS.get(builder)(samples, scorer, policy=policy, strong=strong, weak=weak)
