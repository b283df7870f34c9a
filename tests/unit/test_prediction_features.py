"""The learned predictor's features (hashed words), its cross-validated penalty, and a predictor warmed on
earlier runs (``difficulty.prior_runs``)."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from test_buffer import make_buffer, samples
from test_config import make_config
from test_prediction import cands, observed

from spo.analysis.predict import evaluate
from spo.buffer.config import DifficultyConfig
from spo.buffer.features import TEXT_FEATURES, WORD_DIMS, prompt_features, word_features
from spo.buffer.history import prior_observations
from spo.buffer.predictors.learned import learned
from spo.config import validate
from spo.errors import ConfigError


def test_word_features_are_stateless_and_see_the_instruction_that_differs():
    a = "Write a poem. Use only uppercase letters."
    b = "Write a poem. Do not use any commas."
    f = word_features([a, b, a])
    assert f.shape == (3, WORD_DIMS) and set(np.unique(f)) <= {0.0, 1.0}
    assert (f[0] == f[2]).all() and (f[0] != f[1]).any()
    assert (word_features([a]) == f[:1]).all()  # the same row in another call (another iteration, another run)
    emb = np.ones((2, 3))
    assert prompt_features([a, b], "text").shape == (2, len(TEXT_FEATURES))
    assert prompt_features([a, b], "words").shape == (2, len(TEXT_FEATURES) + WORD_DIMS)
    assert prompt_features([a, b], "policy", emb).shape == (2, 3 + len(TEXT_FEATURES))
    full = prompt_features([a, b], "policy_words", emb)
    assert full.shape == (2, 3 + len(TEXT_FEATURES) + WORD_DIMS) and (full[:, :3] == 1).all()


def _wide(n, dims, seed):
    """``n`` observations of ``dims`` features, the first of which decides usability; the rest are noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dims))
    y = x[:, 0] + 0.5 * rng.normal(size=n) > 0
    return x, y


def test_a_cross_validated_penalty_ranks_better_than_the_fixed_one_with_more_features_than_observations():
    x, y = _wide(40, 400, 0)
    hist = observed([(f"p{i}", 0, float(y[i]), y[i], x[i]) for i in range(40)])
    x_new, y_new = _wide(300, 400, 1)
    new = cands([f"n{i}" for i in range(300)], x_new)
    auc = {}
    for fit in ("fixed", "l1_cv"):
        pred = learned(new, hist, 1, DifficultyConfig(learned_fit=fit))
        auc[fit] = roc_auc_score(y_new, pred.column("predicted_usable").to_numpy())
        assert pred.column("prediction_source").to_pylist() == ["learned"] * 300
    assert auc["l1_cv"] > 0.75 and auc["l1_cv"] > auc["fixed"] + 0.1, auc


def test_the_cross_validated_fit_does_not_depend_on_numpys_global_generator():
    x, y = _wide(40, 400, 0)
    hist = observed([(f"p{i}", 0, float(y[i]), y[i], x[i]) for i in range(40)])
    new = cands([f"n{i}" for i in range(50)], _wide(50, 400, 1)[0])
    fits = []
    for global_seed in (1, 2):  # a new process's global generator is seeded from the OS
        np.random.seed(global_seed)
        fits.append(learned(new, hist, 1, DifficultyConfig(learned_fit="l1_cv")).column("predicted_usable").to_numpy())
    assert np.array_equal(fits[0], fits[1])


def test_cross_validation_needs_two_of_each_class_and_says_so_by_predicting_nothing():
    rows = [(f"p{i}", 0, i / 20, i == 0, [i, i % 3]) for i in range(20)]  # one usable prompt in 20
    new = cands(["a"], [[1.0, 1.0]])
    assert (
        learned(new, observed(rows), 1, DifficultyConfig(learned_fit="l1_cv")).column("predicted_usable")[0].as_py()
        is None
    )
    assert learned(new, observed(rows), 1, DifficultyConfig(learned_fit="fixed")).column("predicted_usable")[0].is_valid


def _finished_run(path):
    """A run directory with one post-hoc iteration: a usable, b tied, c usable."""
    buf = make_buffer(path)
    buf.add(samples([("a", 0, 0.0), ("a", 1, 1.0), ("b", 0, 0.9), ("b", 1, 0.9), ("c", 0, 0.1), ("c", 1, 0.3)]))
    buf.select_prompts(0)
    (path / "config.yaml").write_text("reward: {primary: rm}\n")
    return path


def test_prior_runs_give_observations_with_features_computed_afresh(tmp_path):
    run = _finished_run(tmp_path / "old")
    obs = prior_observations([str(run)], "rm", "rm", 0.0, "words")
    assert obs.column("prompt_id").to_pylist() == ["a", "b", "c"]
    assert obs.column("usable").to_pylist() == [True, False, True]
    assert obs.column("policy_version").to_pylist() == [0, 0, 0]
    assert len(obs.column("features")[0].as_py()) == len(TEXT_FEATURES) + WORD_DIMS
    with pytest.raises(ValueError, match=r"old/iter_0/prompts.parquet: no column 'difficulty/judge'"):
        prior_observations([str(run)], "judge", "rm", 0.0, "text")
    with pytest.raises(ValueError, match="has no iter_<k>/prompts.parquet"):
        prior_observations([str(tmp_path)], "rm", "rm", 0.0, "text")


def test_a_run_with_prior_runs_ranks_its_first_iteration_from_them(tmp_path):
    old = _finished_run(tmp_path / "old")
    cfg = DifficultyConfig(source="predicted", predictor="history", explore=0.0, features="text", prior_runs=[str(old)])
    buf = make_buffer(tmp_path / "new", difficulty=cfg)
    rows = [{"prompt_id": p, "prompt": f"p-{p}"} for p in "abd"]
    first = buf.rank_candidates(0, rows, None, 0)
    assert first["order"] == ["a", "d", "b"] and first["unranked"] == 1  # a usable before, b tied, d unseen (0.5)
    # offline, the same prior lets the first iteration be scored
    assert [r["iteration"] for r in evaluate(old, "history", features="text", prior_runs=[str(old)])] == [0]


def test_prior_runs_and_the_new_fields_are_checked(tmp_path):
    run = _finished_run(tmp_path / "old")
    validate(make_config("difficulty.source=predicted", "difficulty.features=words", f"difficulty.prior_runs=[{run}]"))
    with pytest.raises(ConfigError, match=r"^difficulty.prior_runs: another run's prompts carry no embedding"):
        validate(make_config("difficulty.source=predicted", f"difficulty.prior_runs=[{run}]"))
    with pytest.raises(ConfigError, match=r"^difficulty.prior_runs: not a run directory"):
        validate(make_config("difficulty.features=text", f"difficulty.prior_runs=[{tmp_path}]"))
    for bad, key in (("difficulty.learned_fit=lasso", "learned_fit"), ("difficulty.features=bag", "features")):
        with pytest.raises(ConfigError, match=key):
            validate(make_config(bad))
