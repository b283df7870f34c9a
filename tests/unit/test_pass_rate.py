"""``difficulty.history_usable=pass_rate``: a Beta posterior of a pass/fail prompt's pass rate, checked
against scipy's Beta and beta-binomial distributions."""

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats

from spo.buffer.config import HISTORY_USABLE, DifficultyConfig
from spo.buffer.predictors.history import READERS, beta_moment, history, pass_prior, passes


def test_every_accepted_history_usable_has_a_reader():
    assert set(READERS) == set(HISTORY_USABLE)


def observed(rows):
    """Observations from ``(prompt_id, version, passes, n_samples)`` of a pass/fail scorer."""
    return pa.table({
        "prompt_id": [r[0] for r in rows], "policy_version": pa.array([r[1] for r in rows], pa.int64()),
        "difficulty": [r[2] / r[3] for r in rows], "usable": [0 < r[2] < r[3] for r in rows],
        "pair_mean": [r[2] / r[3] for r in rows], "n_samples": pa.array([r[3] for r in rows], pa.int64()),
        "features": pa.array([[0.0]] * len(rows), pa.list_(pa.float64())),
    })  # fmt: skip


def cands(ids):
    return pa.table({"prompt_id": ids, "features": pa.array([[0.0]] * len(ids), pa.list_(pa.float64()))})


@pytest.mark.parametrize("a,b,n", [(1.0, 1.0, 4), (0.3, 2.7, 4), (5.5, 1.25, 8), (2.0, 3.0, 1)])
def test_beta_moment_is_scipys(a, b, n):
    assert beta_moment(a, b, n) == pytest.approx(stats.beta(a, b).moment(n), rel=1e-10)


def test_the_prior_recovers_a_beta_binomial_population():
    rng = np.random.default_rng(0)
    p = rng.beta(0.4, 1.6, size=20000)
    s, n = rng.binomial(4, p).astype(float), np.full(20000, 4.0)
    a0, b0 = pass_prior(s, n, np.ones_like(s))
    assert a0 == pytest.approx(0.4, rel=0.1) and b0 == pytest.approx(1.6, rel=0.1)
    assert pass_prior(np.zeros(5), n[:5], np.ones(5)) == (1.0, 1.0)  # every sample failed: nothing to fit
    assert pass_prior(s[:1], n[:1], np.ones(1)) == (1.0, 1.0)


def test_history_gives_the_posterior_chance_that_new_samples_both_pass_and_fail():
    cfg = DifficultyConfig(history_usable="pass_rate", discount=0.5)
    pop = [(f"p{i}", 0, i % 5, 4) for i in range(50)]  # a population of 0..4 passes in 4
    obs = observed([*pop, ("one", 1, 1, 4), ("two", 1, 2, 4), ("none", 1, 0, 4), ("old", 0, 2, 4), ("old", 1, 0, 4)])
    out = {r["prompt_id"]: r for r in history(cands(["one", "two", "none", "old", "new"]), obs, 2, cfg).to_pylist()}
    s, n = passes(obs)
    a0, b0 = pass_prior(s, n, np.power(0.5, 2 - obs.column("policy_version").to_numpy()))
    for pid, k, w in (("one", 1, 0.5), ("two", 2, 0.5), ("none", 0, 0.5)):  # seen once, one version ago
        bb = stats.betabinom(4, a0 + w * k, b0 + w * (4 - k))
        assert out[pid]["predicted_usable"] == pytest.approx(1 - bb.pmf(0) - bb.pmf(4), rel=1e-9)
    assert out["two"]["predicted_usable"] > out["one"]["predicted_usable"] > out["none"]["predicted_usable"]
    bb = stats.betabinom(4, a0 + 0.25 * 2 + 0.5 * 0, b0 + 0.25 * 2 + 0.5 * 4)  # two visits, the older weighs less
    assert out["old"]["predicted_usable"] == pytest.approx(1 - bb.pmf(0) - bb.pmf(4), rel=1e-9)
    assert out["old"]["prediction_confidence"] == pytest.approx(0.75)
    assert out["new"]["predicted_usable"] is None and out["new"]["prediction_source"] == "none"


def test_pass_rate_refuses_a_graded_scorer_and_a_spread_threshold_it_cannot_read():
    cfg = DifficultyConfig(history_usable="pass_rate")
    graded = observed([("a", 0, 1, 4)]).set_column(4, "pair_mean", pa.array([0.3]))
    with pytest.raises(ValueError, match=r"needs a pass/fail pair scorer: prompt a has mean reward 0.3 over 4 samples"):
        history(cands(["a"]), graded, 1, cfg)
    strict = observed([("a", 0, 2, 4)]).set_column(3, "usable", pa.array([False]))  # min_reward_spread >= 1
    with pytest.raises(ValueError, match="min_reward_spread must be below 1"):
        history(cands(["a"]), strict, 1, cfg)
