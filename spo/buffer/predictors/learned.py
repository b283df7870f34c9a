"""``difficulty.predictor=learned``: a model of prompt features, refit on every observation so far.

Difficulty: linear regression; usable pair: logistic regression; both scikit-learn pipelines on
standardised features (:mod:`spo.buffer.features`), weighted by recency. ``difficulty.learned_fit``
sets their penalty: ``fixed``, an L2 penalty of weight 1 (ridge alpha 1, logistic C 1); or ``l1_cv``, an
L1 penalty (lasso, L1 logistic) whose weight is chosen per fit by 5-fold cross-validation (stratified,
by log-loss, for the classifier; fewer folds when a class has fewer than 5 members). With far more
features than observations (hundreds of embedding and word columns, a few dozen prompts) an L2 fit
spreads its weight over every noise column; L1 keeps the few that carry the signal. It cannot be fit
with fewer than ``difficulty.min_observations`` observations, or when a target is constant, or
(``l1_cv``) when a class of the usable target has a single member; its predictions are then null (the
candidates it cannot rank keep schedule order).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from sklearn.linear_model import LassoCV, LogisticRegression, LogisticRegressionCV, Ridge
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from spo.buffer.predictors.base import predictions, recency_weights
from spo.registry import plugin

CS = np.logspace(-3, 2, 11)  # inverse L1 penalties the classifier tries (learned_fit=l1_cv)
FOLDS = 5


def _matrix(table: pa.Table) -> np.ndarray:
    return np.asarray(table.column("features").to_pylist(), dtype=np.float64)


def _regressor(fit: str, n: int):
    if fit == "fixed":
        return Ridge(alpha=1.0)
    return LassoCV(alphas=20, cv=KFold(min(FOLDS, n), shuffle=True, random_state=0), max_iter=5000)


def _classifier(fit: str, y: np.ndarray):
    if fit == "fixed":
        return LogisticRegression(C=1.0, max_iter=2000)
    folds = StratifiedKFold(min(FOLDS, int(y.sum()), int((~y).sum())), shuffle=True, random_state=0)
    # liblinear shuffles its coordinates: without random_state it draws from numpy's global generator, seeded afresh
    # in every process, and the fitted probabilities (so the ranking of near ties) differ from run to run
    return LogisticRegressionCV(Cs=CS, cv=folds, l1_ratios=(1.0,), solver="liblinear", scoring="neg_log_loss",
                                max_iter=5000, use_legacy_attributes=False, random_state=0)  # fmt: skip


def _fittable(y_u: np.ndarray, fit: str) -> bool:
    """Both classes present (``l1_cv``: at least two of each, for the folds)."""
    least = min(int(y_u.sum()), int((~y_u).sum()))
    return least >= (2 if fit == "l1_cv" else 1)


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
        reg = make_pipeline(StandardScaler(), _regressor(cfg.learned_fit, len(y_d)))
        d = reg.fit(x, y_d, **{f"{reg.steps[-1][0]}__sample_weight": w}).predict(x_new)
    if _fittable(y_u, cfg.learned_fit):
        clf = make_pipeline(StandardScaler(), _classifier(cfg.learned_fit, y_u))
        u = clf.fit(x, y_u, **{f"{clf.steps[-1][0]}__sample_weight": w}).predict_proba(x_new)[:, 1]
    fitted = ~np.isnan(u) | ~np.isnan(d)
    return predictions(ids, d, u, np.zeros(n), ["learned" if f else "none" for f in fitted])
