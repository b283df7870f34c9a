"""Cheap text features of a prompt, for the learned difficulty predictor (beside the policy's own embedding)."""

from __future__ import annotations

import string

import numpy as np

TEXT_FEATURES = ("log_chars", "log_words", "digit_share", "upper_share", "punctuation_share", "lines")


def text_features(prompts: list[str]) -> np.ndarray:
    """One row per prompt: :data:`TEXT_FEATURES`."""
    rows = []
    for p in prompts:
        n = max(len(p), 1)
        rows.append([
            np.log1p(len(p)),
            np.log1p(len(p.split())),
            sum(c.isdigit() for c in p) / n,
            sum(c.isupper() for c in p) / n,
            sum(c in string.punctuation for c in p) / n,
            p.count("\n") + 1,
        ])  # fmt: skip
    return np.asarray(rows, dtype=np.float64).reshape(len(prompts), len(TEXT_FEATURES))
