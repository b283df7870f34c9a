"""Split-half reliability of difficulty, against SciPy's Spearman on halves computed by hand."""

import numpy as np
import pyarrow as pa
import pytest
from scipy.stats import spearmanr

from spo.analysis.reliability import split_half


def _samples(n_prompts: int, n: int, signal: float, seed: int = 0) -> tuple[pa.Table, np.ndarray]:
    rng = np.random.default_rng(seed)
    true = rng.uniform(0, 1, n_prompts)
    rewards = signal * true[:, None] + rng.normal(0, 0.3, (n_prompts, n))
    rows = [(f"p{i:03d}", j, float(rewards[i, j])) for i in range(n_prompts) for j in range(n)]
    table = pa.table({"prompt_id": [r[0] for r in rows], "sample_idx": pa.array([r[1] for r in rows], pa.int32()),
                      "reward/gold": [r[2] for r in rows]})  # fmt: skip
    return table, rewards


def test_split_half_is_spearman_of_the_even_and_odd_halves_and_spearman_brown():
    table, rewards = _samples(200, 8, signal=1.0)
    out = split_half(table, "gold")
    expected = spearmanr(rewards[:, 0::2].mean(axis=1), rewards[:, 1::2].mean(axis=1)).statistic
    assert out["rho_half"] == pytest.approx(expected, abs=1e-12)
    assert out["rho_full"] == pytest.approx(2 * expected / (1 + expected))
    assert out["prompts"] == 200 and out["samples_per_prompt"] == 8
    lo, hi = out["rho_half_ci95"]
    assert lo < out["rho_half"] < hi


def test_more_samples_and_more_signal_give_a_more_reliable_estimate_and_noise_none():
    weak = split_half(_samples(300, 4, signal=0.5)[0], "gold")["rho_half"]
    strong = split_half(_samples(300, 16, signal=0.5)[0], "gold")["rho_half"]
    assert strong > weak + 0.1
    noise = split_half(_samples(300, 8, signal=0.0)[0], "gold")
    assert noise["rho_half_ci95"][0] < 0 < noise["rho_half_ci95"][1]


def test_a_missing_scorer_or_too_few_prompts_is_named():
    table, _ = _samples(10, 4, signal=1.0)
    with pytest.raises(ValueError, match="reward/proxy"):
        split_half(table, "proxy")
    with pytest.raises(ValueError, match="need at least 3"):
        split_half(table.slice(0, 8), "gold")
