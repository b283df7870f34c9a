"""``keep_easiest``: keep the easiest ``fraction``."""

from __future__ import annotations

from spo.buffer.policies.base import hardest_first, kept_count, rank_mask
from spo.registry import plugin


@plugin(matchable=True, uses_fraction=True)
def keep_easiest(p, cfg, scorer, ctx):
    n = p.num_rows
    m = kept_count(cfg.fraction, n)
    keep = rank_mask(hardest_first(p, scorer), n - m, n, n)
    return keep, [f"kept: among the easiest {m}/{n}" if k else f"dropped: not among the easiest {m}/{n}" for k in keep]
