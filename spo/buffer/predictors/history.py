"""``difficulty.predictor=history``: a prompt seen before is predicted from its own past, recent first.

Predicted difficulty is the recency-weighted mean of its observed difficulties; the confidence is the sum
of its weights ``sum w``. Unseen prompts get no prediction. The probability of a usable pair, by
``difficulty.history_usable``:

- ``share``: the recency-weighted share of usable observations under a Beta(1, 1) prior,
  ``(sum w * usable + 1) / (sum w + 2)``.
- ``pass_rate`` (a pass/fail pair scorer; MoPPS's posterior of a prompt's success rate): the prompt's pass
  rate ``p`` has the posterior ``Beta(a0 + sum w * passes, b0 + sum w * fails)``, with the prior
  ``Beta(a0, b0)`` fit to every observation by the moments of a beta-binomial (empirical Bayes, so a prompt
  seen once is pulled toward the population, as wide or as narrow as the population is); N new samples
  give a pair when they neither all pass nor all fail, ``1 - E[p^N] - E[(1 - p)^N]``, N the prompt's last
  sample count. It reads more than ``share``: 1 pass in 4 and 2 in 4 are both usable, but not equally
  likely to be usable again.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from spo.buffer.predictors.base import predictions, recency_weights
from spo.registry import plugin


def beta_moment(a: float, b: float, n: int) -> float:
    """``E[p^n]`` for ``p ~ Beta(a, b)``: ``prod_{i<n} (a + i) / (a + b + i)``."""
    i = np.arange(n, dtype=float)
    return float(np.prod((a + i) / (a + b + i)))


def passes(observed: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Per observation: the pair scorer's passes and sample count. Refuses a scorer that is not pass/fail, or
    a usable flag that does not mean "some pass and some fail" (``selection.min_reward_spread`` >= 1)."""
    n = observed.column("n_samples").to_numpy().astype(float)
    s = observed.column("pair_mean").to_numpy(zero_copy_only=False).astype(float) * n
    ok = observed.column("usable").to_numpy(zero_copy_only=False).astype(bool)
    bad = np.flatnonzero((np.abs(s - np.round(s)) > 1e-6) | (s < -1e-6) | (s > n + 1e-6))
    if bad.size:
        i, pid = int(bad[0]), observed.column("prompt_id")[int(bad[0])]
        raise ValueError(f"difficulty.history_usable=pass_rate needs a pass/fail pair scorer: prompt {pid} has "
                         f"mean reward {s[i] / n[i]:g} over {n[i]:g} samples")  # fmt: skip
    s = np.round(s)
    if np.any(ok != ((s > 0) & (s < n))):
        raise ValueError("difficulty.history_usable=pass_rate reads a usable pair as some samples passing and "
                         "some failing; selection.min_reward_spread must be below 1")  # fmt: skip
    return s, n


def pass_prior(s: np.ndarray, n: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """``(a0, b0)``: the beta-binomial prior matching the weighted mean and variance of the observed pass
    rates (``Var(s/n) = m(1 - m)/n * (1 + (n - 1) rho)``, ``a0 + b0 = 1/rho - 1``); Beta(1, 1) when the
    observations cannot tell (fewer than 2, one sample each, or every sample passing or failing)."""
    m = float(np.sum(w * s) / np.sum(w * n)) if len(s) else 0.0
    n_bar = float(np.sum(w * n) / np.sum(w)) if len(s) else 0.0
    if len(s) < 2 or n_bar <= 1 or not 0 < m < 1:
        return 1.0, 1.0
    var = float(np.sum(w * (s / n - m) ** 2) / np.sum(w))
    rho = float(np.clip((var * n_bar / (m * (1 - m)) - 1) / (n_bar - 1), 1e-3, 1 - 1e-3))
    k = 1 / rho - 1
    return m * k, (1 - m) * k


def _share_reader(observed: pa.Table, version: int, cfg):
    ok = observed.column("usable").to_numpy(zero_copy_only=False).astype(float)
    return lambda rows, w: float((np.sum(w * ok[rows]) + 1) / (np.sum(w) + 2))


def _pass_rate_reader(observed: pa.Table, version: int, cfg):
    s, n = passes(observed)
    a0, b0 = pass_prior(s, n, recency_weights(observed.column("policy_version").to_numpy(), version, cfg.discount))

    def usable(rows: list[int], w: np.ndarray) -> float:
        a, b = a0 + float(np.sum(w * s[rows])), b0 + float(np.sum(w * (n[rows] - s[rows])))
        last = int(n[rows][-1])
        return 1 - beta_moment(a, b, last) - beta_moment(b, a, last)

    return usable


# difficulty.history_usable -> reader(observed, version, cfg) -> usable(rows, weights): a prompt's chance of a pair
READERS = {"share": _share_reader, "pass_rate": _pass_rate_reader}


@plugin(needs_features=False)
def history(candidates: pa.Table, observed: pa.Table | None, version: int, cfg) -> pa.Table:
    ids = candidates.column("prompt_id")
    n = len(ids)
    d, u, c = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n)
    source = ["none"] * n
    if observed is None or not observed.num_rows:
        return predictions(ids, d, u, c, source)
    past: dict[str, list[int]] = {}
    for i, pid in enumerate(observed.column("prompt_id").to_pylist()):
        past.setdefault(pid, []).append(i)
    versions = observed.column("policy_version").to_numpy()
    diff = observed.column("difficulty").to_numpy(zero_copy_only=False)
    usable = READERS[cfg.history_usable](observed, version, cfg)
    for j, pid in enumerate(ids.to_pylist()):
        rows = past.get(pid)
        if rows:
            w = recency_weights(versions[rows], version, cfg.discount)
            d[j], u[j] = float(np.sum(w * diff[rows]) / np.sum(w)), usable(rows, w)
            c[j], source[j] = float(np.sum(w)), "history"
    return predictions(ids, d, u, c, source)
