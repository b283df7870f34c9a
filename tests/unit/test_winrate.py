"""Win rates on crafted judgments."""

import numpy as np
import pytest

from spo.eval.winrate import bootstrap, lc_win_rate, outcomes, win_rate, win_rate_report


def test_outcomes_and_ties_count_half():
    y = outcomes(np.array([1.0, 0.2, 0.5, 0.7]), np.array([0.5, 0.3, 0.5, 0.1]))
    assert y.tolist() == [1.0, 0.0, 0.5, 1.0]
    assert win_rate(y) == pytest.approx(2.5 / 4)


def test_lc_equals_raw_when_lengths_are_equal():
    rng = np.random.default_rng(0)
    y = rng.choice([0.0, 0.5, 1.0], size=200, p=[0.3, 0.1, 0.6])
    assert lc_win_rate(y, np.zeros(200)) == pytest.approx(win_rate(y), abs=1e-6)


def test_lc_discounts_wins_bought_with_length():
    # The judge prefers longer answers; the candidate is often longer. Raw rate is inflated.
    rng = np.random.default_rng(1)
    dlen = rng.normal(20, 30, 2000)
    p_win = 1 / (1 + np.exp(-(0.0 + 2.0 * np.tanh(dlen / np.std(dlen)))))  # no quality edge at equal length
    y = (rng.random(2000) < p_win).astype(float)
    raw, lc = win_rate(y), lc_win_rate(y, dlen)
    assert raw > 0.6 and abs(lc - 0.5) < 0.05 and lc < raw
    assert lc_win_rate(1 - y, dlen) == pytest.approx(1 - lc, abs=1e-6)


def test_bootstrap_ci_covers_the_true_rate():
    rng = np.random.default_rng(2)
    covered = 0
    for _ in range(40):
        y = (rng.random(300) < 0.65).astype(float)
        lo, hi = bootstrap(win_rate, y, n_boot=300, seed=int(rng.integers(1 << 30)))
        covered += lo <= 0.65 <= hi
    assert covered >= 35


def test_report_fields():
    r = win_rate_report(np.array([1.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0, 0.0, 0.0]), np.array([3, 3, 3, 3]),
                        np.array([3, 3, 3, 3]))  # fmt: skip
    assert r["win_rate"] == 0.75 and r["lc_win_rate"] == pytest.approx(0.75, abs=1e-6) and r["n"] == 4
    assert r["win_rate_ci95"][0] <= 0.75 <= r["win_rate_ci95"][1]
