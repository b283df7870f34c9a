"""Predicting difficulty before generating: history, the learned model, ranking, and their quality figures."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_buffer import make_buffer, samples
from test_config import make_config

from spo.buffer.config import DifficultyConfig, SelectionConfig
from spo.buffer.features import TEXT_FEATURES, text_features
from spo.buffer.history import read_history, usable
from spo.buffer.prediction import quality, rank
from spo.buffer.predictors.both import both
from spo.buffer.predictors.history import history
from spo.buffer.predictors.learned import learned
from spo.config import validate
from spo.errors import ConfigError


def observed(rows):
    """Observations from ``(prompt_id, version, difficulty, usable, features)``."""
    return pa.table({
        "prompt_id": [r[0] for r in rows], "policy_version": pa.array([r[1] for r in rows], pa.int64()),
        "difficulty": [float(r[2]) for r in rows], "usable": [bool(r[3]) for r in rows],
        "features": pa.array([list(map(float, r[4])) for r in rows], pa.list_(pa.float64())),
    })  # fmt: skip


def cands(ids, feats):
    return pa.table({"prompt_id": ids, "features": pa.array([list(map(float, f)) for f in feats],
                                                            pa.list_(pa.float64()))})  # fmt: skip


def test_history_weighs_recent_observations_more_and_leaves_unseen_prompts_unpredicted():
    cfg = DifficultyConfig(discount=0.5)
    obs = observed([("a", 0, 0.0, False, [0]), ("a", 2, 1.0, True, [0]), ("b", 1, 0.4, True, [0])])
    out = history(cands(["a", "b", "c"], [[0]] * 3), obs, 2, cfg).to_pylist()
    # a: weights 0.25 (v0) and 1 (v2): difficulty (0 * .25 + 1) / 1.25, usable (1 + 1) / (1.25 + 2)
    assert out[0]["predicted_difficulty"] == pytest.approx(0.8)
    assert out[0]["predicted_usable"] == pytest.approx(2 / 3.25)
    assert out[1]["prediction_confidence"] == pytest.approx(0.5) and out[1]["prediction_source"] == "history"
    assert out[2]["predicted_usable"] is None and out[2]["prediction_source"] == "none"


def test_learned_model_finds_the_feature_that_decides_and_refuses_too_few_or_constant_targets():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    rows = [(f"p{i}", 0, 0.5 + 0.4 * np.tanh(x[i, 0]), x[i, 0] > 0, x[i]) for i in range(60)]
    cfg = DifficultyConfig(min_observations=16)
    out = learned(cands(["hi", "lo"], [[2, 0, 0], [-2, 0, 0]]), observed(rows), 0, cfg).to_pylist()
    assert out[0]["predicted_usable"] > 0.9 > 0.1 > out[1]["predicted_usable"]
    assert out[0]["predicted_difficulty"] > 0.7 > 0.3 > out[1]["predicted_difficulty"]
    assert {r["prediction_source"] for r in out} == {"learned"}
    few = learned(cands(["hi"], [[2, 0, 0]]), observed(rows[:10]), 0, cfg).to_pylist()[0]
    assert few["predicted_usable"] is None and few["prediction_source"] == "none"
    same = [(r[0], 0, 0.5, True, r[4]) for r in rows]  # constant targets: nothing to fit
    flat = learned(cands(["hi"], [[2, 0, 0]]), observed(same), 0, cfg).to_pylist()[0]
    assert flat["predicted_usable"] is None and flat["predicted_difficulty"] is None


def test_both_blends_by_the_historys_confidence():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 2))
    rows = [(f"p{i}", 3, 0.5, x[i, 0] > 0, x[i]) for i in range(40)] + [("seen", 3, 0.9, False, [5.0, 0.0])] * 3
    cfg = DifficultyConfig(min_observations=16, discount=1.0)
    c = cands(["seen", "new"], [[5.0, 0.0], [5.0, 0.0]])
    h, m = history(c, observed(rows), 3, cfg).to_pylist(), learned(c, observed(rows), 3, cfg).to_pylist()
    out = both(c, observed(rows), 3, cfg).to_pylist()
    assert out[0]["predicted_usable"] == pytest.approx((3 * h[0]["predicted_usable"] + m[0]["predicted_usable"]) / 4)
    assert out[1]["predicted_usable"] == pytest.approx(m[1]["predicted_usable"])
    assert [r["prediction_source"] for r in out] == ["both", "learned"]


def test_rank_orders_eligible_candidates_and_explores_a_seeded_share():
    p = [0.9, None, 0.1, 0.7, 0.95]
    order = rank(p, [True, True, True, True, False], explore=0.0, seed=0)
    assert order == [(0, False), (3, False), (1, False), (2, False)]  # no prediction counts as 0.5; 4 is dropped
    explored = rank([0.5] * 200, [i % 2 == 0 for i in range(200)], explore=0.3, seed=1)
    share = sum(e for _, e in explored) / len(explored)
    assert 0.2 < share < 0.4 and len({r for r, _ in explored}) == len(explored)
    assert any(r % 2 for r, e in explored if e)  # exploration reaches prompts the policy dropped
    assert explored == rank([0.5] * 200, [i % 2 == 0 for i in range(200)], explore=0.3, seed=1)


def test_quality_is_undefined_rather_than_made_up():
    q = quality([0.1, 0.5, 0.9, None], [0.2, 0.4, 0.8, 0.5], [0.2, 0.6, 0.9, None], [False, True, True, True])
    assert q["difficulty_spearman"] == pytest.approx(1.0) and q["usable_auc"] == 1.0 and q["predicted_prompts"] == 3
    assert "usable_auc" not in quality([0.1, 0.2], [0.1, 0.2], [0.3, 0.4], [True, True])


def test_usable_reads_the_spread_with_a_tolerance_and_features_are_finite():
    t = pa.table({"reward_max/rm": [1.0, 0.5, 0.5 + 1e-12, None], "reward_min/rm": [0.0, 0.5, 0.5, None]})
    assert usable(t, "rm", 0.0).tolist() == [True, False, False, False]
    assert usable(t, "rm", 0.9).tolist() == [True, False, False, False]
    assert usable(t, "rm", 1.0).tolist() == [False, False, False, False]
    f = text_features(["Sort 3 1 2.", "", "A\\nB"])
    assert f.shape == (3, len(TEXT_FEATURES)) and np.isfinite(f).all()


def test_the_buffer_ranks_candidates_writes_them_and_rebuilds_history_from_the_run(tmp_path):
    buf = make_buffer(tmp_path, difficulty=DifficultyConfig(source="predicted", predictor="history", explore=0.0),
                      selection=SelectionConfig(prompts="drop_hardest", fraction=0.34))  # fmt: skip
    rows = [{"prompt_id": p, "prompt": f"p-{p}"} for p in "abcd"]
    first = buf.rank_candidates(0, rows, None, 0)
    assert first["order"] == list("abcd") and first["unranked"] == 4  # nothing known: schedule order
    buf.add(samples([("a", 0, 0.0), ("a", 1, 1.0), ("b", 0, 0.9), ("b", 1, 0.9), ("c", 0, 0.1), ("c", 1, 0.3)]))
    assert buf.usable_count() == 2
    summary = buf.select_prompts(0)
    assert summary["usable_prompts"] == 2 and summary["candidates"] == 4
    prompts = pq.read_table(tmp_path / "iter_0" / "prompts.parquet")
    assert prompts.column("reason").to_pylist() == ["predicted"] * 3
    hist = read_history(tmp_path, 1, "rm", "rm", 0.0)
    assert hist.column("prompt_id").to_pylist() == ["a", "b", "c"] and hist.column("usable").to_pylist() == [
        True, False, True]  # fmt: skip
    second = buf.rank_candidates(1, rows, None, 1)
    # history: a usable (2/3), b tied (1/3), c usable (2/3); the hardest third of the known (c: 0.2) is dropped;
    # d, unseen, counts as 0.5
    assert second["order"] == ["a", "d", "b"] and second["unranked"] == 1
    cands = pq.read_table(tmp_path / "iter_1" / "candidates.parquet").to_pylist()
    assert [r["eligible"] for r in cands] == [True, True, False, True]


def test_a_wave_refits_the_predictor_and_ranks_the_rest_again(tmp_path):
    """No history: the first wave goes in schedule order; after it, the learned model fits what it gave (short
    prompts usable, long ones tied) and the rest are ranked again, the short one first."""
    cfg = DifficultyConfig(source="predicted", predictor="learned", explore=0.0, min_observations=4)
    buf = make_buffer(tmp_path, difficulty=cfg)
    text = {"a": "x", "b": "x " * 40, "c": "y", "d": "y " * 40, "e": "z " * 40, "f": "z"}
    rows = [{"prompt_id": p, "prompt": t} for p, t in text.items()]
    assert buf.rank_candidates(0, rows, None, 0)["order"] == list("abcdef")  # unranked: schedule order
    buf.add(samples([(p, i, float(i % 2) if p in "ac" else 0.5) for p in "abcd" for i in range(2)]))
    again = buf.rerank(0, list("abcd"), 1)
    assert again["order"] == ["f", "e"] and again["unranked"] == 0 and again["candidates"] == 6
    cands = {r["prompt_id"]: r for r in pq.read_table(tmp_path / "iter_0" / "candidates.parquet").to_pylist()}
    assert [cands[p]["rank"] for p in "abcdef"] == [0, 1, 2, 3, 5, 4]
    assert cands["a"]["prediction_source"] == "none" and cands["f"]["prediction_source"] == "learned"
    assert cands["f"]["predicted_usable"] > 0.5 > cands["e"]["predicted_usable"]
    with pytest.raises(ValueError, match="none of its 1 generated prompts is collected"):
        buf.rerank(0, ["f"], 2)


def test_predicted_difficulty_config_is_checked():
    validate(make_config("difficulty.source=predicted", "selection=drop_hardest"))
    with pytest.raises(ConfigError, match=r"^selection.prompts: informative reads the samples' reward spread"):
        validate(make_config("difficulty.source=predicted", "selection.prompts=informative"))
    with pytest.raises(ConfigError, match=r"^difficulty.features: the vllm engine cannot read the policy's embedding"):
        validate(make_config("difficulty.source=predicted", "generator=vllm"))
    validate(make_config("difficulty.source=predicted", "generator=vllm", "difficulty.features=text"))
    for bad, key in (("difficulty.oversample=0.5", "oversample"), ("difficulty.explore=1.5", "explore"),
                     ("difficulty.predictor=oracle", "predictor"), ("selection.min_reward_spread=-1", "spread"),
                     ("difficulty.refit=epoch", "refit"), ("difficulty.history_usable=mean", "history_usable")):  # fmt: skip
        with pytest.raises(ConfigError, match=key):
            validate(make_config("difficulty.source=predicted", bad))


def test_pairs_narrower_than_the_minimum_spread_are_dropped_as_ties_are(tmp_path):
    buf = make_buffer(tmp_path, selection=SelectionConfig(min_reward_spread=0.5))
    buf.add(samples([("a", 0, 0.0), ("a", 1, 1.0), ("b", 0, 0.4), ("b", 1, 0.6), ("c", 0, 0.5), ("c", 1, 0.5)]))
    assert buf.usable_count() == 1
    summary = buf.select_prompts(0)
    assert summary["pairs_candidates"] == 1 and summary["pairs_dropped"] == 2  # b too narrow, c tied
