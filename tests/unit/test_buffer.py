import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spo.buffer.config import DifficultyConfig, SelectionConfig
from spo.buffer.difficulty import prompt_stats
from spo.buffer.pairs import build_pairs, max_min_pairs
from spo.buffer.quarantine import split_nonfinite
from spo.buffer.replay_buffer import DuplicateSampleError, ReplayBuffer
from spo.config import Config, ModelConfig
from spo.errors import ConfigError
from spo.learner.config import LearnerConfig
from spo.reward.config import RewardConfig, ScorerConfig
from spo.schemas import pairs_schema, prompts_schema, samples_schema


def samples(rows: list[tuple[str, int, float]], iteration: int = 0, generator: str = "g") -> pa.Table:
    """Crafted scored samples from (prompt_id, sample_idx, reward)."""
    return pa.Table.from_pylist(
        [
            {
                "prompt_id": pid,
                "prompt": f"p-{pid}",
                "response": f"{pid}-r{idx}",
                "sample_idx": idx,
                "generator": generator,
                "policy_version": 0,
                "iteration": iteration,
                "n_tokens": 3,
                "logprob_sum": -1.0,
                "finish_reason": "stop",
                "reward/rm": reward,
            }
            for pid, idx, reward in rows
        ],
        schema=samples_schema(["rm"]),
    )


def make_buffer(run_dir, scorers=("rm",), selection=None, difficulty=None, judges=(), ranks=1) -> ReplayBuffer:
    """A buffer whose policy pool is ``g`` (as in :func:`samples`), 4 samples per prompt, for ``ranks`` learner ranks."""
    backends = {s: ScorerConfig(backend="rule_judge" if s in judges else "rule", fn="m:f") for s in scorers}
    return ReplayBuffer(
        Config(
            run_dir=str(run_dir),
            iterations=3,
            model=ModelConfig(name="g"),
            reward=RewardConfig(scorers=backends, primary="rm"),
            selection=selection or SelectionConfig(),
            difficulty=difficulty or DifficultyConfig(),
            learner=LearnerConfig(num_ranks=ranks),
        )
    )


def test_prompt_stats_mean_std_max_min():
    t = samples([("a", 0, 1.0), ("a", 1, 3.0), ("b", 0, 0.5), ("b", 1, 0.5), ("b", 2, 2.0)])
    s = prompt_stats(t, ["rm"]).to_pylist()
    assert [r["prompt_id"] for r in s] == ["a", "b"]
    a, b = s
    assert a["difficulty/rm"] == pytest.approx(2.0)
    assert a["reward_std/rm"] == pytest.approx(1.0)  # population std
    assert (a["reward_max/rm"], a["reward_min/rm"], a["n_samples"]) == (3.0, 1.0, 2)
    assert b["difficulty/rm"] == pytest.approx(1.0)
    assert b["reward_std/rm"] == pytest.approx(math.sqrt(((0.5 - 1) ** 2 * 2 + 1.0) / 3))


def test_pairs_take_max_and_min_and_drop_full_ties():
    t = samples(
        [
            ("a", 0, 0.2), ("a", 1, 0.9), ("a", 2, 0.1), ("a", 3, 0.9),  # max tie -> lowest idx wins
            ("b", 0, 0.5), ("b", 1, 0.5),  # all tie -> dropped
            ("c", 0, 0.0), ("c", 1, 1.0),
        ]
    )  # fmt: skip
    pairs, tied = max_min_pairs(t, "rm")
    assert tied == 1
    assert pairs.schema == pairs_schema()
    rows = {r["prompt_id"]: r for r in pairs.to_pylist()}
    assert set(rows) == {"a", "c"}
    assert (rows["a"]["chosen"], rows["a"]["rejected"]) == ("a-r1", "a-r2")
    assert rows["a"]["margin_explicit"] == pytest.approx(0.8)
    assert (rows["c"]["chosen"], rows["c"]["rejected"]) == ("c-r1", "c-r0")
    assert rows["c"]["prompt"] == "p-c"


def test_pairs_carry_each_answers_sampler_logprob_as_the_engine_gave_it():
    t = samples([("a", 0, 0.2), ("a", 1, 0.9), ("c", 0, 0.0), ("c", 1, 1.0)])
    t = t.set_column(t.schema.get_field_index("logprob_sum"), "logprob_sum", pa.array([-1.0, None, -3.0, -4.0]))
    rows = {r["prompt_id"]: r for r in max_min_pairs(t, "rm")[0].to_pylist()}
    assert (rows["a"]["sampler_logps_chosen"], rows["a"]["sampler_logps_rejected"]) == (None, -1.0)
    assert (rows["c"]["sampler_logps_chosen"], rows["c"]["sampler_logps_rejected"]) == (-4.0, -3.0)


def test_nonfinite_rewards_are_quarantined():
    t = samples([("a", 0, 1.0), ("a", 1, float("nan")), ("a", 2, float("inf")), ("a", 3, 0.0)])
    clean, bad = split_nonfinite(t, ["rm"])
    assert clean.column("sample_idx").to_pylist() == [0, 3]
    assert bad.column("sample_idx").to_pylist() == [1, 2]


def test_replay_buffer_writes_iteration_and_never_pairs_quarantined(tmp_path):
    buf = make_buffer(tmp_path)
    buf.add(samples([("a", 0, 0.1), ("a", 1, float("nan"))]))
    buf.add(samples([("a", 2, 0.7), ("b", 0, 0.3), ("b", 1, 0.3)]))
    summary = buf.select_prompts(0)
    assert summary["samples"] == 4 and summary["quarantined"] == 1
    assert summary["pairs_candidates"] == 1 and summary["pairs_dropped"] == 1
    assert buf.choose_pairs(0)["pairs"] == 1
    assert summary["difficulty_mean"] == pytest.approx((0.4 + 0.3) / 2)
    d = tmp_path / "iter_0"
    prompts = pq.read_table(d / "prompts.parquet")
    assert prompts.schema == prompts_schema(["rm"])
    assert prompts.column("reason").to_pylist() == ["all", "all"]
    pairs = pq.read_table(d / "pairs.parquet").to_pylist()
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [("a-r2", "a-r0")]
    assert pq.read_table(d / "quarantine.parquet").column("sample_idx").to_pylist() == [1]
    assert buf.pairs(0).num_rows == 1


def test_replay_buffer_rejects_duplicate_keys(tmp_path):
    buf = make_buffer(tmp_path)
    buf.add(samples([("a", 0, 0.1)]))
    with pytest.raises(DuplicateSampleError):
        buf.add(samples([("a", 0, 0.5)]))
    with pytest.raises(DuplicateSampleError):
        buf.add(samples([("b", 0, 0.5), ("b", 0, 0.6)]))


def test_replay_buffer_rejects_wrong_schema(tmp_path):
    buf = make_buffer(tmp_path, scorers=("rm", "other"))
    with pytest.raises(ValueError, match="missing column 'reward/other'"):
        buf.add(samples([("a", 0, 0.1)]))


def pools() -> pa.Table:
    """Policy pool g (idx 0-3), strong pool s (idx 4-7) and weak pool w (idx 8-11) on prompts a, b."""
    return pa.concat_tables(
        [
            samples([("a", 0, 0.5), ("a", 1, 0.4), ("b", 0, 0.2), ("b", 1, 0.3)], generator="g"),
            samples([("a", 4, 0.9), ("a", 5, 0.6), ("b", 4, 0.1), ("b", 5, 0.15)], generator="s"),
            samples([("a", 8, 0.3), ("a", 9, 0.0), ("b", 8, 0.25), ("b", 9, 0.2)], generator="w"),
        ]
    )


def test_pair_builders_within_cross_mixed():
    within, _ = build_pairs(pools(), "rm", "within", "g")
    assert [(r["chosen"], r["rejected"]) for r in within.to_pylist()] == [("a-r0", "a-r1"), ("b-r1", "b-r0")]
    cross, dropped = build_pairs(pools(), "rm", "cross", "g", strong="s", weak="w")
    assert [(r["chosen"], r["rejected"]) for r in cross.to_pylist()] == [("a-r4", "a-r9")]
    assert dropped == 1  # on b the strong pool's best (0.15) is worse than the weak pool's worst (0.2)
    row = cross.to_pylist()[0]
    assert (row["generator_chosen"], row["generator_rejected"]) == ("s", "w")
    assert row["margin_explicit"] == pytest.approx(0.9)
    mixed, _ = build_pairs(pools(), "rm", "mixed", "g")
    assert [(r["chosen"], r["rejected"]) for r in mixed.to_pylist()] == [("a-r4", "a-r9"), ("b-r1", "b-r4")]


def test_difficulty_is_measured_on_the_policy_pool_only(tmp_path):
    buf = make_buffer(tmp_path)
    buf.add(pools())
    buf.select_prompts(0)
    prompts = pq.read_table(tmp_path / "iter_0" / "prompts.parquet").to_pylist()
    assert [p["difficulty/rm"] for p in prompts] == pytest.approx([0.45, 0.25])
    assert [p["n_samples"] for p in prompts] == [2, 2]


def test_judge_deltas_ride_along_and_missing_judge_scores_are_not_quarantined(tmp_path):
    t = samples([("a", 0, 0.9), ("a", 1, 0.1), ("b", 0, 0.5), ("b", 1, 0.2)])
    t = t.append_column("reward/judge", pa.array([4.0, None, 3.0, 2.0]))
    t = t.append_column("judge/factuality", pa.array([5, 2, None, 2], pa.int64()))
    buf = make_buffer(tmp_path, scorers=("rm", "judge"), judges=("judge",))
    assert buf.add(t) == 4  # a judge that did not answer leaves a null, not a quarantined sample
    buf.select_prompts(0)
    buf.choose_pairs(0)
    pairs = pq.read_table(tmp_path / "iter_0" / "pairs.parquet").to_pylist()
    assert [p["judge_delta/factuality"] for p in pairs] == [3.0, None]


def test_max_pairs_caps_the_pairs_trained_with_a_seeded_random_subset(tmp_path):
    """Arms compared at equal pair counts: at most max_pairs are trained, a seeded random subset of those the
    metric kept (the same subset for the same seed), and the cap is reported."""
    from spo.buffer.pair_metrics.base import cap_selected

    t = pa.table({"prompt_id": list("abcdef"), "selected": [True, True, False, True, True, True]})
    capped, n = cap_selected(t, 3, seed=0)
    kept = capped.column("selected").to_pylist()
    assert n == 2 and sum(kept) == 3 and not kept[2]  # only selected pairs are dropped
    assert cap_selected(t, 3, seed=0)[0].equals(capped)
    draws = {tuple(cap_selected(t, 3, seed=s)[0].column("selected").to_pylist()) for s in range(20)}
    assert len(draws) > 1  # random, not the first or last in some order
    assert cap_selected(t, None, seed=0) == (t, 0) and cap_selected(t, 5, seed=0) == (t, 0)

    sel = SelectionConfig(max_pairs=4)
    buf = make_buffer(tmp_path, selection=sel, ranks=2)
    buf.add(samples([(f"p{i}", k, r) for i in range(7) for k, r in enumerate([0.1 * i, 0.5, 0.9, 0.2])]))
    buf.select_prompts(0)
    summary = buf.choose_pairs(0)
    assert summary["pairs"] == 4 and summary["pairs_capped"] == 3 and summary["pairs_trimmed_for_ranks"] == 0
    assert pq.read_table(tmp_path / "iter_0" / "pairs.parquet").column("selected").to_pylist().count(True) == 4
    with pytest.raises(ConfigError, match="selection.max_pairs"):
        SelectionConfig(max_pairs=0).validate()


def test_selected_pairs_are_exactly_those_the_learner_ranks_train(tmp_path):
    """Each rank trains the same number of pairs: a count that does not divide evenly is trimmed in the
    buffer, so pairs.parquet's selected (and spo export) says exactly what was trained."""
    from spo.buffer.pair_metrics.base import trim_to_multiple

    t = pa.table({"prompt_id": ["c", "a", "e", "b", "d"], "selected": [True, True, True, False, True]})
    trimmed, n = trim_to_multiple(t, 3)
    assert n == 1 and trimmed.column("selected").to_pylist() == [True, True, False, False, True]  # "e" goes
    assert trim_to_multiple(t, 2) == (t, 0) and trim_to_multiple(t, 1) == (t, 0)

    buf = make_buffer(tmp_path, ranks=2)
    buf.add(samples([(f"p{i}", k, r) for i in range(3) for k, r in enumerate([0.1 * i, 0.5, 0.9, 0.2])]))
    buf.select_prompts(0)
    summary = buf.choose_pairs(0)
    assert summary["pairs"] == 2 and summary["pairs_trimmed_for_ranks"] == 1
    written = pq.read_table(tmp_path / "iter_0" / "pairs.parquet")
    assert written.column("selected").to_pylist() == [True, True, False]
    assert buf.pairs(0).column("prompt_id").to_pylist() == ["p0", "p1"]
