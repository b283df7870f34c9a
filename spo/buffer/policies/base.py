"""Helpers every prompt policy shares: counts, the hardest-first order, rank masks, the context.

Difficulty is a prompt's mean reward, so a *low* value means a *hard* prompt. Every policy orders
prompts deterministically (difficulty, then ``prompt_id``). Counts are ``round(fraction * n)``
(half up); keep-policies keep at least one prompt and ``drop_hardest`` never drops all of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from spo.schemas import difficulty_col


@dataclass(frozen=True)
class SelectionContext:
    """Where in the run a selection happens."""

    iteration: int
    iterations: int
    seed: int


def count(fraction: float, n: int) -> int:
    """``round(fraction * n)``, half up."""
    return int(math.floor(fraction * n + 0.5))


def kept_count(fraction: float, n: int) -> int:
    """How many a keep-policy keeps: ``count`` clamped to [1, n]."""
    return min(max(count(fraction, n), 1), n)


def hardest_first(prompts: pa.Table, scorer: str) -> np.ndarray:
    """Row indices from hardest (lowest mean reward) to easiest; ties by prompt_id."""
    d = np.asarray(prompts.column(difficulty_col(scorer)).to_numpy(zero_copy_only=False), dtype=float)
    ids = np.asarray(prompts.column("prompt_id").to_pylist(), dtype=object)
    return np.lexsort((ids, d))


def rank_mask(order: np.ndarray, lo: int, hi: int, n: int) -> np.ndarray:
    """True for the rows at ranks ``lo..hi-1`` of ``order``."""
    mask = np.zeros(n, dtype=bool)
    mask[order[lo:hi]] = True
    return mask


def mask_of(indices, n: int) -> np.ndarray:
    """A boolean mask of length ``n``, True at ``indices``."""
    mask = np.zeros(n, dtype=bool)
    mask[indices] = True
    return mask
