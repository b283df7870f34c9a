"""Pair metrics and metric-based pair selection (``selection.pairs``).

- ``margin_explicit`` = r(chosen) - r(rejected), from the reward model;
- ``margin_implicit_dpo`` = beta * [(log pi/pi_ref)(chosen) - (log pi/pi_ref)(rejected)];
- ``margin_implicit_norm`` = mean token log-prob(chosen) - mean token log-prob(rejected), reference-free;
- ``margin_implicit``: whichever of the two ``selection.implicit`` names;
- ``alignment_potential`` = z(margin_explicit) - w * z(|margin_implicit|), z-scored over the candidates.

Selection keeps the top ``pair_fraction`` of candidates: the largest explicit margin (M+), the
smallest |implicit margin| (M-), the largest alignment potential, the largest judge delta on one
dimension, or a uniform random draw.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

PAIR_METRICS = ("all", "explicit_margin", "implicit_margin", "alignment_potential", "judge_delta", "uniform")
NEEDS_LOGPROBS = ("implicit_margin", "alignment_potential")
LOGPROB_COLUMNS = ("chosen_logps", "rejected_logps", "chosen_tokens", "rejected_tokens")
REFERENCE_COLUMNS = ("ref_chosen_logps", "ref_rejected_logps")


def _np(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)


def zscore(x: np.ndarray) -> np.ndarray:
    """(x - mean) / std over the candidates; all zeros when x is constant."""
    std = x.std()
    return (x - x.mean()) / std if std > 0 else np.zeros_like(x)


def alignment_potential(explicit: np.ndarray, implicit: np.ndarray, weight: float) -> np.ndarray:
    """M_AP = z(explicit margin) - weight * z(|implicit margin|)."""
    return zscore(explicit) - weight * zscore(np.abs(implicit))


def add_margins(pairs: pa.Table, beta: float, implicit: str, weight: float) -> pa.Table:
    """Append implicit margins and alignment potential, from the pairs' log-prob columns."""
    pc_, pr_ = _np(pairs, "chosen_logps"), _np(pairs, "rejected_logps")
    norm = pc_ / _np(pairs, "chosen_tokens") - pr_ / _np(pairs, "rejected_tokens")
    cols = {"margin_implicit_norm": norm}
    if all(c in pairs.column_names for c in REFERENCE_COLUMNS):
        rc, rr = _np(pairs, "ref_chosen_logps"), _np(pairs, "ref_rejected_logps")
        cols["margin_implicit_dpo"] = beta * ((pc_ - rc) - (pr_ - rr))
    if implicit == "dpo" and "margin_implicit_dpo" not in cols:
        raise ValueError("selection.implicit=dpo needs reference log-probs (ref_chosen_logps, ref_rejected_logps)")
    cols["margin_implicit"] = cols["margin_implicit_dpo"] if implicit == "dpo" else norm
    cols["alignment_potential"] = alignment_potential(_np(pairs, "margin_explicit"), cols["margin_implicit"], weight)
    for name, values in cols.items():
        pairs = pairs.append_column(name, pa.array(values, pa.float64()))
    return pairs


def pair_selection_scores(pairs: pa.Table, metric: str, judge_dim: str | None, seed: int) -> np.ndarray:
    """Higher is better for every metric (M- is negated)."""
    if metric == "explicit_margin":
        return _np(pairs, "margin_explicit")
    if metric == "implicit_margin":
        return -np.abs(_np(pairs, "margin_implicit"))
    if metric == "alignment_potential":
        return _np(pairs, "alignment_potential")
    if metric == "judge_delta":
        col = f"judge_delta/{judge_dim}"
        if col not in pairs.column_names:
            raise KeyError(f"selection.judge_dim: no column {col!r} in the pairs (is a judge scorer configured?)")
        return _np(pairs, col)
    if metric == "uniform":
        return np.random.default_rng([seed, 101]).random(pairs.num_rows)
    raise ValueError(f"selection.pairs: unknown metric {metric!r}; known: {PAIR_METRICS}")


def select_pairs(pairs: pa.Table, metric: str, fraction: float, judge_dim: str | None, seed: int) -> pa.Table:
    """Append a ``selected`` column: the top ``fraction`` of candidates by ``metric`` (ties by prompt_id).

    Candidates whose score is missing (NaN, e.g. a judge that did not answer) are never selected.
    """
    n = pairs.num_rows
    if metric == "all" or n == 0:
        return pairs.append_column("selected", pa.array([True] * n))
    scores = pair_selection_scores(pairs, metric, judge_dim, seed)
    valid = np.isfinite(scores)
    k = min(max(int(math.floor(fraction * n + 0.5)), 1), int(valid.sum()))
    ids = np.asarray(pairs.column("prompt_id").to_pylist(), dtype=object)
    order = np.lexsort((ids, -np.where(valid, scores, -np.inf)))
    keep = np.zeros(n, dtype=bool)
    keep[order[:k]] = True
    return pairs.append_column("selected", pa.array(keep))


def attach_logprobs(pairs: pa.Table, pieces: list[pa.Table]) -> pa.Table:
    """Join the learner ranks' log-prob tables (keyed by ``pair_index``) onto the pairs."""
    logps = pa.concat_tables(pieces).sort_by("pair_index")
    if logps.column("pair_index").to_pylist() != list(range(pairs.num_rows)):
        raise ValueError("learner returned log-probs that do not cover every candidate pair exactly once")
    for name in logps.column_names:
        if name != "pair_index":
            pairs = pairs.append_column(name, logps.column(name))
    return pairs
