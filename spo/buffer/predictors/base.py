"""The predictor contract: predicted difficulty and probability of a usable pair for candidate prompts.

An entry is a function ``predict(candidates, history, version, cfg) -> pa.Table`` with the columns of
:func:`empty_predictions`; a prediction it cannot make is null, with ``prediction_source`` ``"none"``.
``candidates`` holds ``prompt_id`` and ``features`` (a list of floats); ``history`` the observations of
:func:`spo.buffer.history.observations` (or ``None``); ``version`` the policy version about to sample;
``cfg`` the ``difficulty`` config. Flag: ``needs_features`` (the policy's embedding is read only then).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def predictions(ids: pa.Array, difficulty: np.ndarray, usable: np.ndarray, confidence: np.ndarray,
                source: list[str]) -> pa.Table:  # fmt: skip
    """The predictions table; NaN becomes null."""
    return pa.table({
        "prompt_id": ids,
        "predicted_difficulty": pa.array(difficulty, pa.float64(), mask=np.isnan(difficulty)),
        "predicted_usable": pa.array(usable, pa.float64(), mask=np.isnan(usable)),
        "prediction_confidence": pa.array(confidence, pa.float64()),
        "prediction_source": pa.array(source, pa.string()),
    })  # fmt: skip


def recency_weights(versions: np.ndarray, version: int, discount: float) -> np.ndarray:
    """``discount ** (version - v)``: an observation k policy versions old counts ``discount**k``."""
    return np.power(discount, np.maximum(version - versions, 0).astype(float))
