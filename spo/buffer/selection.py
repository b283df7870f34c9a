"""Prompt selection policies over a prompts table (``selection.prompts``).

Difficulty is a prompt's mean reward, so a *low* value means a *hard* prompt.
Every policy orders prompts deterministically (difficulty, then ``prompt_id``)
and returns the table with ``selected`` and a human-readable ``reason``.
Counts are ``round(fraction * n)`` (half up); keep-policies keep at least one
prompt and ``drop_hardest`` never drops all of them.

Policies:
- ``all``: keep everything;
- ``drop_hardest``: drop the hardest ``fraction``;
- ``keep_easiest``: keep the easiest ``fraction``;
- ``bin``: split into ``n_bins`` equal-count quantile bins (bin 0 is the hardest) and keep ``bin``;
- ``random``: keep as many prompts as the ``match`` policy would, drawn at random (a fair baseline);
- ``curriculum``: keep a window of ``fraction`` of the prompts that slides from easiest to hardest
  over the run's iterations;
- ``informative``: eva-style, keep ``fraction`` by an informativeness ``signal`` (``reward_gap`` =
  max - min, ``max_mean`` = max - mean, ``variance``, ``loo_advantage`` = the best sample's reward
  minus the mean of the others), greedily or by importance-weighted sampling (``sampling=weighted``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from spo.schemas import difficulty_col

SIGNALS = ("reward_gap", "max_mean", "variance", "loo_advantage")
SAMPLINGS = ("greedy", "weighted")


@dataclass(frozen=True)
class SelectionContext:
    """Where in the run a selection happens."""

    iteration: int
    iterations: int
    seed: int


def _count(fraction: float, n: int) -> int:
    return int(math.floor(fraction * n + 0.5))


def _hardest_first(prompts: pa.Table, scorer: str) -> np.ndarray:
    """Row indices from hardest (lowest mean reward) to easiest; ties by prompt_id."""
    d = np.asarray(prompts.column(difficulty_col(scorer)).to_numpy(zero_copy_only=False), dtype=float)
    ids = np.asarray(prompts.column("prompt_id").to_pylist(), dtype=object)
    return np.lexsort((ids, d))


def _rank_mask(order: np.ndarray, lo: int, hi: int, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[order[lo:hi]] = True
    return mask


def _drop_hardest(p, cfg, scorer, ctx):
    n = p.num_rows
    k = min(_count(cfg.fraction, n), max(n - 1, 0))
    keep = ~_rank_mask(_hardest_first(p, scorer), 0, k, n)
    return keep, [f"kept: not among the hardest {k}/{n}" if m else f"dropped: among the hardest {k}/{n}" for m in keep]


def _keep_easiest(p, cfg, scorer, ctx):
    n = p.num_rows
    m = min(max(_count(cfg.fraction, n), 1), n)
    keep = _rank_mask(_hardest_first(p, scorer), n - m, n, n)
    return keep, [f"kept: among the easiest {m}/{n}" if k else f"dropped: not among the easiest {m}/{n}" for k in keep]


def _bin(p, cfg, scorer, ctx):
    n = p.num_rows
    bins = np.empty(n, dtype=int)
    bins[_hardest_first(p, scorer)] = (np.arange(n) * cfg.n_bins) // max(n, 1)
    keep = bins == cfg.bin
    return keep, [
        f"kept: in bin {b} of {cfg.n_bins} (0 = hardest)" if k else f"dropped: in bin {b}, not {cfg.bin}"
        for k, b in zip(keep, bins)
    ]


def _random(p, cfg, scorer, ctx):
    n = p.num_rows
    m = int(POLICIES[cfg.match](p, cfg, scorer, ctx)[0].sum())
    rng = np.random.default_rng([ctx.seed, ctx.iteration, 17])
    keep = np.zeros(n, dtype=bool)
    keep[rng.choice(n, size=m, replace=False)] = True
    return keep, [
        f"kept: random {m}/{n} (as many as {cfg.match})" if k else f"dropped: not in the random {m}/{n}" for k in keep
    ]


def _curriculum(p, cfg, scorer, ctx):
    n = p.num_rows
    m = min(max(_count(cfg.fraction, n), 1), n)
    t = ctx.iteration / (ctx.iterations - 1) if ctx.iterations > 1 else 0.0
    start = int(round((n - m) * (1.0 - t)))  # easiest window first (hardest-first order, high ranks)
    keep = _rank_mask(_hardest_first(p, scorer), start, start + m, n)
    return keep, [
        f"kept: curriculum window {start}-{start + m} of {n} (hardest-first ranks)" if k else "dropped: outside window"
        for k in keep
    ]


def informativeness(p: pa.Table, scorer: str, signal: str) -> np.ndarray:
    """Per-prompt informativeness from the reward statistics."""

    def col(name):
        return np.asarray(p.column(f"{name}/{scorer}").to_numpy(zero_copy_only=False), dtype=float)

    mean, std, hi, lo = col("difficulty"), col("reward_std"), col("reward_max"), col("reward_min")
    if signal == "reward_gap":
        return hi - lo
    if signal == "max_mean":
        return hi - mean
    if signal == "variance":
        return std**2
    if signal == "loo_advantage":
        n = np.asarray(p.column("n_samples").to_numpy(zero_copy_only=False), dtype=float)
        return np.where(n > 1, n / np.maximum(n - 1, 1) * (hi - mean), 0.0)
    raise ValueError(f"selection.signal: unknown signal {signal!r}; known: {SIGNALS}")


def _informative(p, cfg, scorer, ctx):
    n = p.num_rows
    m = min(max(_count(cfg.fraction, n), 1), n)
    score = informativeness(p, scorer, cfg.signal)
    if cfg.sampling == "greedy":
        ids = np.asarray(p.column("prompt_id").to_pylist(), dtype=object)
        chosen = np.lexsort((ids, -score))[:m]
    else:
        rng = np.random.default_rng([ctx.seed, ctx.iteration, 29])
        weight = np.maximum(score, 0) + 1e-12
        chosen = rng.choice(n, size=m, replace=False, p=weight / weight.sum())
    keep = np.zeros(n, dtype=bool)
    keep[chosen] = True
    return keep, [
        f"{'kept' if k else 'dropped'}: {cfg.signal}={s:.4g} ({cfg.sampling} {m}/{n})" for k, s in zip(keep, score)
    ]


POLICIES = {
    "all": lambda p, cfg, scorer, ctx: (np.ones(p.num_rows, dtype=bool), ["all"] * p.num_rows),
    "drop_hardest": _drop_hardest,
    "keep_easiest": _keep_easiest,
    "bin": _bin,
    "random": _random,
    "curriculum": _curriculum,
    "informative": _informative,
}
PRE_COUNT_POLICIES = ("all", "drop_hardest", "keep_easiest", "bin", "informative")


def select_prompts(prompts: pa.Table, cfg, scorer: str, ctx: SelectionContext) -> pa.Table:
    """Apply ``cfg.prompts`` to a prompts table; appends ``selected`` and ``reason``."""
    if difficulty_col(scorer) not in prompts.column_names:
        raise KeyError(f"difficulty.scorer: no column {difficulty_col(scorer)!r} in the prompts table")
    keep, reasons = POLICIES[cfg.prompts](prompts, cfg, scorer, ctx)
    return prompts.append_column("selected", pa.array(np.asarray(keep, dtype=bool))).append_column(
        "reason", pa.array(reasons, pa.string())
    )
