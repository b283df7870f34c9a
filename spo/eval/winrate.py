"""Win rates: raw (ties count half) and length-controlled, with bootstrap CIs.

The length-controlled rate follows AlpacaEval 2: fit a logistic model of the
preference, ``P(win) = sigmoid(b0 + b1 * tanh(dlen / scale))``, where ``dlen`` is
the candidate's length minus the baseline's. Then read it at ``dlen = 0``, which
gives ``sigmoid(b0)``. Ties enter as soft labels of 0.5. The slope carries a small
ridge penalty, so with equal lengths it is 0 and the rate equals the raw one.
"""

from __future__ import annotations

import numpy as np


def outcomes(candidate: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """1 where the candidate's score is higher, 0 where lower, 0.5 for ties."""
    candidate, baseline = np.asarray(candidate, float), np.asarray(baseline, float)
    return np.where(candidate > baseline, 1.0, np.where(candidate < baseline, 0.0, 0.5))


def win_rate(y: np.ndarray) -> float:
    """Mean outcome: wins plus half the ties."""
    return float(np.mean(y))


def _length_feature(dlen: np.ndarray) -> np.ndarray:
    scale = np.std(dlen)
    return np.tanh(dlen / scale) if scale > 0 else np.zeros_like(dlen, dtype=float)


def fit_length_logistic(y: np.ndarray, dlen: np.ndarray, ridge: float = 1e-3, iters: int = 50) -> tuple[float, float]:
    """Newton's method for (b0, b1) on soft labels ``y`` and the length feature."""
    x = np.stack([np.ones_like(y), _length_feature(np.asarray(dlen, float))], axis=1)
    w = np.zeros(2)
    penalty = np.diag([0.0, ridge * len(y)])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + penalty @ w
        hess = x.T @ (x * (p * (1 - p))[:, None]) + penalty + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


def lc_win_rate(y: np.ndarray, dlen: np.ndarray) -> float:
    """Length-controlled win rate: the fitted preference at zero length difference."""
    b0, _ = fit_length_logistic(np.asarray(y, float), dlen)
    return float(1 / (1 + np.exp(-b0)))


def bootstrap(fn, *arrays: np.ndarray, n_boot: int = 500, seed: int = 0) -> tuple[float, float]:
    """Percentile 95% CI of ``fn(*arrays)`` over row resamples."""
    rng = np.random.default_rng(seed)
    n = len(arrays[0])
    values = [fn(*(a[idx] for a in arrays)) for idx in (rng.integers(0, n, n) for _ in range(n_boot))]
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def win_rate_report(candidate: np.ndarray, baseline: np.ndarray, cand_len: np.ndarray, base_len: np.ndarray,
                    seed: int = 0) -> dict:  # fmt: skip
    """Raw and length-controlled win rates with 95% CIs, and both sides' mean length."""
    y = outcomes(candidate, baseline)
    dlen = np.asarray(cand_len, float) - np.asarray(base_len, float)
    return {
        "win_rate": win_rate(y),
        "win_rate_ci95": list(bootstrap(win_rate, y, seed=seed)),
        "lc_win_rate": lc_win_rate(y, dlen),
        "lc_win_rate_ci95": list(bootstrap(lc_win_rate, y, dlen, seed=seed)),
        "ties": float(np.mean(y == 0.5)),
        "length_mean": float(np.mean(cand_len)),
        "baseline_length_mean": float(np.mean(base_len)),
        "n": int(len(y)),
    }
