"""``informative``: eva-style, keep ``fraction`` by an informativeness ``signal`` (``selection.signal``),
greedily or by importance-weighted sampling (``sampling=weighted``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from spo.buffer.policies.base import kept_count, mask_of
from spo.plugins import SIGNALS
from spo.registry import plugin


def informativeness(p: pa.Table, scorer: str, signal: str) -> np.ndarray:
    """Per-prompt informativeness from the reward statistics (the ``signal`` entry)."""

    def col(name):
        return np.asarray(p.column(name).to_numpy(zero_copy_only=False), dtype=float)

    stats = {k: col(f"{k}/{scorer}") for k in ("difficulty", "reward_std", "reward_max", "reward_min")}
    n = col("n_samples") if "n_samples" in p.column_names else None
    return SIGNALS.get(signal)(n=n, **stats)


@plugin(matchable=True, uses_fraction=True, needs_sample_stats=True)
def informative(p, cfg, scorer, ctx):
    n = p.num_rows
    m = kept_count(cfg.fraction, n)
    score = informativeness(p, scorer, cfg.signal)
    if cfg.sampling == "greedy":
        ids = np.asarray(p.column("prompt_id").to_pylist(), dtype=object)
        chosen = np.lexsort((ids, -score))[:m]
    else:
        rng = np.random.default_rng([ctx.seed, ctx.iteration, 29])
        weight = np.maximum(score, 0) + 1e-12
        chosen = rng.choice(n, size=m, replace=False, p=weight / weight.sum())
    keep = mask_of(chosen, n)
    return keep, [
        f"{'kept' if k else 'dropped'}: {cfg.signal}={s:.4g} ({cfg.sampling} {m}/{n})" for k, s in zip(keep, score)
    ]
