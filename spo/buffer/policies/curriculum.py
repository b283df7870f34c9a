"""``curriculum``: keep a window of ``fraction`` of the prompts that slides from easiest to hardest over
the run's iterations."""

from __future__ import annotations

from spo.buffer.policies.base import hardest_first, kept_count, rank_mask
from spo.registry import plugin


@plugin(uses_fraction=True)
def curriculum(p, cfg, scorer, ctx):
    n = p.num_rows
    m = kept_count(cfg.fraction, n)
    t = ctx.iteration / (ctx.iterations - 1) if ctx.iterations > 1 else 0.0
    start = int(round((n - m) * (1.0 - t)))  # easiest window first (hardest-first order, high ranks)
    keep = rank_mask(hardest_first(p, scorer), start, start + m, n)
    return keep, [
        f"kept: curriculum window {start}-{start + m} of {n} (hardest-first ranks)" if k else "dropped: outside window"
        for k in keep
    ]
