"""``drop_hardest``: drop the hardest ``fraction`` (never every prompt)."""

from __future__ import annotations

from spo.buffer.policies.base import count, hardest_first, rank_mask
from spo.registry import plugin


@plugin(matchable=True, uses_fraction=True, fraction_dropped=True)
def drop_hardest(p, cfg, scorer, ctx):
    n = p.num_rows
    k = min(count(cfg.fraction, n), max(n - 1, 0))
    keep = ~rank_mask(hardest_first(p, scorer), 0, k, n)
    return keep, [f"kept: not among the hardest {k}/{n}" if m else f"dropped: among the hardest {k}/{n}" for m in keep]
