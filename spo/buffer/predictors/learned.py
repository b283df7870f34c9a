"""``difficulty.predictor=learned``: a model of prompt features, refit on every observation so far.

Difficulty: ridge regression; usable pair: logistic regression; both scikit-learn pipelines on
standardised features (the policy's embedding of the prompt and :mod:`spo.buffer.features`), weighted
by recency. It cannot be fit with fewer than ``difficulty.min_observations`` observations, or when a
target is constant; its predictions are then null (the candidates it cannot rank keep schedule order).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from spo.buffer.predictors.base import predictions, recency_weights
from spo.registry import plugin


def _matrix(table: pa.Table) -> np.ndarray:
    return np.asarray(table.column("features").to_pylist(), dtype=np.float64)


@plugin(needs_features=True)
def learned(candidates: pa.Table, observed: pa.Table | None, version: int, cfg) -> pa.Table:
    ids = candidates.column("prompt_id")
    n = len(ids)
    d, u = np.full(n, np.nan), np.full(n, np.nan)
    if observed is None or observed.num_rows < cfg.min_observations:
        return predictions(ids, d, u, np.zeros(n), ["none"] * n)
    x, x_new = _matrix(observed), _matrix(candidates)
    w = recency_weights(observed.column("policy_version").to_numpy(), version, cfg.discount)
    y_d = observed.column("difficulty").to_numpy(zero_copy_only=False).astype(float)
    y_u = observed.column("usable").to_numpy(zero_copy_only=False).astype(bool)
    if np.ptp(y_d) > 0:
        reg = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
        d = reg.fit(x, y_d, ridge__sample_weight=w).predict(x_new)
    if 0 < y_u.sum() < len(y_u):
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        u = clf.fit(x, y_u, logisticregression__sample_weight=w).predict_proba(x_new)[:, 1]
    fitted = ~np.isnan(u) | ~np.isnan(d)
    return predictions(ids, d, u, np.zeros(n), ["learned" if f else "none" for f in fitted])
