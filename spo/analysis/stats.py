"""Rank statistics: average ranks, Spearman's rho, Kendall's tau-b, bootstrap CIs."""

from __future__ import annotations

import numpy as np


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the average of their ranks."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=float)
    sorted_x = x[order]
    boundaries = np.flatnonzero(np.diff(sorted_x)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(x)]])
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho: Pearson correlation of average ranks (NaN if either side is constant)."""
    rx, ry = average_ranks(x), average_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx**2).sum() * (ry**2).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


def kendall_tau_b(x: np.ndarray, y: np.ndarray, block: int = 2048) -> float:
    """Kendall's tau-b, exact, in O(n^2) blocks (fine up to tens of thousands of prompts)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    s = 0.0
    for start in range(0, n, block):
        xi, yi = x[start : start + block, None], y[start : start + block, None]
        j = np.arange(n)[None, :] > np.arange(start, min(start + block, n))[:, None]
        s += float((np.sign(x[None, :] - xi) * np.sign(y[None, :] - yi) * j).sum())
    n0 = n * (n - 1) / 2

    def tied_pairs(v):
        _, counts = np.unique(v, return_counts=True)
        return float((counts * (counts - 1) / 2).sum())

    denom = np.sqrt((n0 - tied_pairs(x)) * (n0 - tied_pairs(y)))
    return s / denom if denom > 0 else float("nan")


def bootstrap_ci(x: np.ndarray, y: np.ndarray, stat, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Percentile 95% CI of ``stat(x, y)`` over paired resamples."""
    rng = np.random.default_rng(seed)
    n = len(x)
    values = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        v = stat(x[idx], y[idx])
        if np.isfinite(v):
            values.append(v)
    if not values:
        return float("nan"), float("nan")
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def cluster_bootstrap_ci(
    values: np.ndarray, groups: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile 95% CI of the mean of ``values``, resampling whole groups (e.g. prompts).

    Pairs from one prompt are correlated; resampling prompts rather than pairs keeps the CI honest.
    """
    values, groups = np.asarray(values, dtype=float), np.asarray(groups)
    keys, inverse = np.unique(groups, return_inverse=True)
    sums = np.bincount(inverse, weights=values, minlength=len(keys))
    counts = np.bincount(inverse, minlength=len(keys))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(keys), size=(n_boot, len(keys)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)
