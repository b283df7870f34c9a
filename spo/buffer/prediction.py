"""Ranking candidate prompts by predicted usefulness, and how good the predictions were (pure functions)."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
from sklearn.metrics import roc_auc_score

from spo.analysis.stats import spearman

UNKNOWN_USABLE = 0.5  # the Beta(1, 1) prior's mean, for a candidate with no prediction


def rank(predicted_usable: list, eligible: list[bool], explore: float, seed: int) -> list[tuple[int, bool]]:
    """The order to generate candidates in: ``(row, explored)``.

    Eligible rows (those the prompt policy keeps on predicted difficulty) go by predicted probability of a
    usable pair, highest first (no prediction counts as :data:`UNKNOWN_USABLE`; ties keep schedule order).
    Each slot is, with probability ``explore``, instead the next row of a seeded shuffle of every candidate,
    eligible or not, so the predictor keeps seeing prompts it would skip. Ends when the ranking runs out.
    """
    score = [UNKNOWN_USABLE if p is None else p for p in predicted_usable]
    ranked = sorted((i for i, ok in enumerate(eligible) if ok), key=lambda i: -score[i])
    rng = random.Random(seed)
    shuffled = list(range(len(eligible)))
    rng.shuffle(shuffled)
    order, used, r, s = [], set(), 0, 0
    while r < len(ranked):
        pick_random = rng.random() < explore
        if pick_random:
            while s < len(shuffled) and shuffled[s] in used:
                s += 1
            if s == len(shuffled):
                pick_random = False
        if not pick_random:
            while r < len(ranked) and ranked[r] in used:
                r += 1
            if r == len(ranked):
                break
        row = shuffled[s] if pick_random else ranked[r]
        used.add(row)
        order.append((row, pick_random))
    return order


def quality(predicted_difficulty: list, difficulty: list, predicted_usable: list, usable: list) -> dict:
    """Spearman correlation of predicted and realised difficulty, and the AUC of the usable-pair prediction,
    over the prompts that had a prediction (``None`` where undefined: too few, or one class)."""
    out: dict = {"predicted_prompts": sum(p is not None for p in predicted_usable)}
    pd_ = [(p, d) for p, d in zip(predicted_difficulty, difficulty) if p is not None and d is not None]
    if len(pd_) >= 3 and len({p for p, _ in pd_}) > 1 and len({d for _, d in pd_}) > 1:
        predicted, realised = (np.array(v, dtype=float) for v in zip(*pd_))
        out["difficulty_spearman"] = spearman(predicted, realised)
    pu = [(p, u) for p, u in zip(predicted_usable, usable) if p is not None]
    if len({u for _, u in pu}) == 2:
        out["usable_auc"] = float(roc_auc_score([u for _, u in pu], [p for p, _ in pu]))
    return out


def candidates_table(ids: list[str], features: np.ndarray, version: int) -> pa.Table:
    """Candidate prompts with their feature vectors and the version about to sample them."""
    return pa.table({
        "prompt_id": pa.array(ids, pa.string()),
        "features": pa.array([row.tolist() for row in features], pa.list_(pa.float64())),
        "policy_version": pa.array([version] * len(ids), pa.int64()),
    })  # fmt: skip
