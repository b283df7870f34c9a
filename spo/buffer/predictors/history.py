"""``difficulty.predictor=history``: a prompt seen before is predicted from its own past, recent first.

Predicted difficulty is the recency-weighted mean of its observed difficulties; the probability of a
usable pair is the recency-weighted share of usable observations under a Beta(1, 1) prior,
``(sum w * usable + 1) / (sum w + 2)``; the confidence is ``sum w``. Unseen prompts get no prediction.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from spo.buffer.predictors.base import predictions, recency_weights
from spo.registry import plugin


@plugin(needs_features=False)
def history(candidates: pa.Table, observed: pa.Table | None, version: int, cfg) -> pa.Table:
    ids = candidates.column("prompt_id")
    n = len(ids)
    d, u, c = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n)
    source = ["none"] * n
    if observed is not None and observed.num_rows:
        past: dict[str, list[int]] = {}
        for i, pid in enumerate(observed.column("prompt_id").to_pylist()):
            past.setdefault(pid, []).append(i)
        versions = observed.column("policy_version").to_numpy()
        diff = observed.column("difficulty").to_numpy(zero_copy_only=False)
        ok = observed.column("usable").to_numpy(zero_copy_only=False).astype(float)
        for j, pid in enumerate(ids.to_pylist()):
            rows = past.get(pid)
            if rows:
                w = recency_weights(versions[rows], version, cfg.discount)
                d[j] = float(np.sum(w * diff[rows]) / np.sum(w))
                u[j] = float((np.sum(w * ok[rows]) + 1) / (np.sum(w) + 2))
                c[j], source[j] = float(np.sum(w)), "history"
    return predictions(ids, d, u, c, source)
