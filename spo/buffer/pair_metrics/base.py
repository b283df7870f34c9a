"""What the pair metrics share: margins from log-probs, alignment potential, and top-fraction selection.

- ``margin_explicit`` = r(chosen) - r(rejected), from the reward model;
- ``margin_implicit_dpo`` = beta * [(log pi/pi_ref)(chosen) - (log pi/pi_ref)(rejected)];
- ``margin_implicit_norm`` = mean token log-prob(chosen) - mean token log-prob(rejected), reference-free;
- ``margin_implicit``: whichever of the two ``selection.implicit`` names;
- ``alignment_potential`` = z(margin_explicit) - w * z(|margin_implicit|), z-scored over the candidates.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from spo.plugins import PAIR_METRICS
from spo.schemas import REFERENCE_COLUMNS


def column(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=float)


def zscore(x: np.ndarray) -> np.ndarray:
    """(x - mean) / std over the candidates; all zeros when x is constant."""
    std = x.std()
    return (x - x.mean()) / std if std > 0 else np.zeros_like(x)


def compute_alignment_potential(explicit: np.ndarray, implicit: np.ndarray, weight: float) -> np.ndarray:
    """M_AP = z(explicit margin) - weight * z(|implicit margin|)."""
    return zscore(explicit) - weight * zscore(np.abs(implicit))


def add_margins(pairs: pa.Table, beta: float, implicit: str, weight: float) -> pa.Table:
    """Append implicit margins and alignment potential, from the pairs' log-prob columns."""
    pc_, pr_ = column(pairs, "chosen_logps"), column(pairs, "rejected_logps")
    norm = pc_ / column(pairs, "chosen_tokens") - pr_ / column(pairs, "rejected_tokens")
    cols = {"margin_implicit_norm": norm}
    if all(c in pairs.column_names for c in REFERENCE_COLUMNS):
        rc, rr = column(pairs, "ref_chosen_logps"), column(pairs, "ref_rejected_logps")
        cols["margin_implicit_dpo"] = beta * ((pc_ - rc) - (pr_ - rr))
    if implicit == "dpo" and "margin_implicit_dpo" not in cols:
        raise ValueError("selection.implicit=dpo needs reference log-probs (ref_chosen_logps, ref_rejected_logps)")
    cols["margin_implicit"] = cols["margin_implicit_dpo"] if implicit == "dpo" else norm
    cols["alignment_potential"] = compute_alignment_potential(
        column(pairs, "margin_explicit"), cols["margin_implicit"], weight
    )
    for name, values in cols.items():
        pairs = pairs.append_column(name, pa.array(values, pa.float64()))
    return pairs


def mark_top_pairs(pairs: pa.Table, metric: str, fraction: float, judge_dim: str | None, seed: int) -> pa.Table:
    """Append a ``selected`` column: the top ``fraction`` of candidates by ``metric`` (ties by prompt_id).

    Candidates whose score is missing (NaN, e.g. a judge that did not answer) are never selected.
    """
    n = pairs.num_rows
    if PAIR_METRICS.flag(metric, "keeps_all") or n == 0:
        return pairs.append_column("selected", pa.array([True] * n))
    scores = PAIR_METRICS.get(metric)(pairs, judge_dim=judge_dim, seed=seed)
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


def cap_selected(pairs: pa.Table, max_pairs: int | None, seed: int) -> tuple[pa.Table, int]:
    """Keep at most ``max_pairs`` selected pairs, unselecting the others uniformly at random (seeded), so that
    arms of a study train on equal pair counts. Returns the table and how many were unselected."""
    selected = np.asarray(pairs.column("selected").to_pylist(), dtype=bool)
    extra = int(selected.sum()) - max_pairs if max_pairs is not None else 0
    if extra <= 0:
        return pairs, 0
    drop = np.random.default_rng(seed).choice(np.flatnonzero(selected), size=extra, replace=False)
    return _unselect(pairs, selected, drop), extra


def trim_to_multiple(pairs: pa.Table, ranks: int) -> tuple[pa.Table, int]:
    """Unselect the last selected pairs (in ``prompt_id`` order) so that the selected count divides evenly over
    ``ranks`` learner ranks, which each train the same number; ``selected`` then marks exactly the pairs
    trained on. Returns the table and how many were unselected."""
    selected = np.asarray(pairs.column("selected").to_pylist(), dtype=bool)
    extra = int(selected.sum()) % max(ranks, 1)
    if extra == 0:
        return pairs, 0
    ids = np.asarray(pairs.column("prompt_id").to_pylist(), dtype=object)
    chosen = [i for i in np.argsort(ids, kind="stable") if selected[i]]
    return _unselect(pairs, selected, chosen[-extra:]), extra


def _unselect(pairs: pa.Table, selected: np.ndarray, rows) -> pa.Table:
    """``pairs`` with ``selected`` set to the given mask, minus ``rows``."""
    selected = selected.copy()
    selected[rows] = False
    return pairs.set_column(pairs.schema.get_field_index("selected"), "selected", pa.array(selected))
