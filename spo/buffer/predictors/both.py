"""``difficulty.predictor=both``: history where a prompt has one, blended with the learned model.

``p = (c * p_history + 1 * p_learned) / (c + 1)`` with ``c`` the history's confidence (its recency-weighted
count), so a prompt seen often and recently is predicted from its past, a new one from its features.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from spo.buffer.predictors.base import predictions
from spo.buffer.predictors.history import history
from spo.buffer.predictors.learned import learned
from spo.registry import plugin


def _blend(a: np.ndarray, ca: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.where(np.isnan(a), b, a)
    both = ~np.isnan(a) & ~np.isnan(b)
    out[both] = (ca[both] * a[both] + b[both]) / (ca[both] + 1)
    return out


@plugin(needs_features=True)
def both(candidates: pa.Table, observed: pa.Table | None, version: int, cfg) -> pa.Table:
    h, m = history(candidates, observed, version, cfg), learned(candidates, observed, version, cfg)

    def col(t, name):
        return t.column(name).to_numpy(zero_copy_only=False).astype(float)

    c = col(h, "prediction_confidence")
    d = _blend(col(h, "predicted_difficulty"), c, col(m, "predicted_difficulty"))
    u = _blend(col(h, "predicted_usable"), c, col(m, "predicted_usable"))
    hs, ms = h.column("prediction_source").to_pylist(), m.column("prediction_source").to_pylist()
    source = ["both" if a != "none" and b != "none" else a if a != "none" else b for a, b in zip(hs, ms)]
    return predictions(candidates.column("prompt_id"), d, u, c, source)
