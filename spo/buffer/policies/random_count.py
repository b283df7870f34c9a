"""``random``: keep as many prompts as the ``match`` policy would, drawn at random (a fair baseline)."""

from __future__ import annotations

import numpy as np

from spo.buffer.policies.base import mask_of
from spo.plugins import PROMPT_POLICIES
from spo.registry import plugin


@plugin(uses_fraction=True)
def random_count(p, cfg, scorer, ctx):
    n = p.num_rows
    m = int(PROMPT_POLICIES.get(cfg.match)(p, cfg, scorer, ctx)[0].sum())
    rng = np.random.default_rng([ctx.seed, ctx.iteration, 17])
    keep = mask_of(rng.choice(n, size=m, replace=False), n)
    return keep, [
        f"kept: random {m}/{n} (as many as {cfg.match})" if k else f"dropped: not in the random {m}/{n}" for k in keep
    ]
