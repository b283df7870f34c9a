"""Prompt features for the learned difficulty predictor: cheap text statistics, hashed word n-grams, and
the policy's own embedding of the prompt (read out by the generators).

``difficulty.features`` names a set (:data:`spo.buffer.config.FEATURE_SETS`): ``text`` (the statistics of
:data:`TEXT_FEATURES`), ``words`` (those plus :data:`WORD_DIMS` hashed word uni- and bigrams, which carry a
templated prompt's instructions), ``policy`` (the embedding plus the statistics) and ``policy_words`` (all).
"""

from __future__ import annotations

import string

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from spo.buffer.config import FEATURE_SETS

TEXT_FEATURES = ("log_chars", "log_words", "digit_share", "upper_share", "punctuation_share", "lines")
WORD_DIMS = 512


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


def word_features(prompts: list[str]) -> np.ndarray:
    """One row per prompt: presence (0/1) of its lower-cased word uni- and bigrams, hashed to :data:`WORD_DIMS`
    columns (stateless, so a prompt gets the same row in every run and iteration)."""
    vec = HashingVectorizer(n_features=WORD_DIMS, ngram_range=(1, 2), alternate_sign=False, binary=True, norm=None)
    return vec.transform(prompts).toarray().astype(np.float64)


def prompt_features(prompts: list[str], kind: str, embeddings=None) -> np.ndarray:
    """One row per prompt: feature set ``kind`` (:data:`FEATURE_SETS`), with ``embeddings`` (one row per
    prompt) first when the set reads the policy's and they are given (a predictor that reads no features is
    not given them; a post-hoc run stored none)."""
    policy, words = FEATURE_SETS[kind]
    parts = [text_features(prompts)]
    if words:
        parts.append(word_features(prompts))
    if policy and embeddings is not None:
        parts.insert(0, np.asarray(embeddings, dtype=np.float64).reshape(len(prompts), -1))
    return np.hstack(parts)
