"""Verdicts from paired differences over seeds (pure).

A claim's verdict is decided by the 95% Student-t interval of its per-seed paired differences:
``better`` reproduces when the interval lies above 0 and does not reproduce when it lies below;
``matches`` reproduces when the interval lies inside ``±margin`` and does not when it lies outside.
Anything else is inconclusive, and the reason says which seeds and interval decided it.
"""

from __future__ import annotations

import math

from scipy import stats


def paired_interval(diffs: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``diffs`` and its Student-t interval (``nan`` bounds with fewer than two seeds)."""
    n = len(diffs)
    mean = sum(diffs) / n
    if n < 2:
        return mean, math.nan, math.nan
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def verdict(diffs: list[float], kind: str, margin: float = 0.0) -> tuple[str, str]:
    """``("reproduces" | "does not reproduce" | "inconclusive", reason)`` for a claim's paired differences."""
    mean, lo, hi = paired_interval(diffs)
    shown = f"paired mean {mean:+.3f}, 95% CI [{lo:+.3f}, {hi:+.3f}] over {len(diffs)} seeds"
    if math.isnan(lo):
        return "inconclusive", f"{shown}: one seed gives no interval"
    if kind == "better":
        if lo > 0:
            return "reproduces", f"{shown}: the interval lies above 0"
        if hi < 0:
            return "does not reproduce", f"{shown}: the interval lies below 0"
        return "inconclusive", f"{shown}: the interval contains 0"
    if kind == "matches":
        if -margin < lo and hi < margin:
            return "reproduces", f"{shown}: the interval lies within ±{margin:g}"
        if lo >= margin or hi <= -margin:
            return "does not reproduce", f"{shown}: the interval lies outside ±{margin:g}"
        return "inconclusive", f"{shown}: the interval crosses ±{margin:g}"
    raise ValueError(f"unknown claim kind {kind!r}; known: better, matches")
