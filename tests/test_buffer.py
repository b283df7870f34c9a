import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spo.buffer.difficulty import prompt_stats
from spo.buffer.pairs import max_min_pairs
from spo.buffer.quarantine import split_nonfinite
from spo.buffer.replay_buffer import DuplicateSampleError, ReplayBuffer
from spo.config import DifficultyConfig, SelectionConfig
from spo.schemas import pairs_schema, prompts_schema, samples_schema


def samples(rows: list[tuple[str, int, float]], iteration: int = 0) -> pa.Table:
    """Crafted scored samples from (prompt_id, sample_idx, reward)."""
    return pa.Table.from_pylist(
        [
            {
                "prompt_id": pid,
                "prompt": f"p-{pid}",
                "response": f"{pid}-r{idx}",
                "sample_idx": idx,
                "generator": "g",
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


def make_buffer(run_dir, scorers=("rm",), selection=None, difficulty=None) -> ReplayBuffer:
    return ReplayBuffer(
        list(scorers), "rm", str(run_dir), selection or SelectionConfig(), difficulty or DifficultyConfig(), 3, 0, 0.1
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


def test_nonfinite_rewards_are_quarantined():
    t = samples([("a", 0, 1.0), ("a", 1, float("nan")), ("a", 2, float("inf")), ("a", 3, 0.0)])
    clean, bad = split_nonfinite(t, ["rm"])
    assert clean.column("sample_idx").to_pylist() == [0, 3]
    assert bad.column("sample_idx").to_pylist() == [1, 2]


def test_replay_buffer_writes_iteration_and_never_pairs_quarantined(tmp_path):
    buf = make_buffer(tmp_path)
    buf.add(samples([("a", 0, 0.1), ("a", 1, float("nan"))]))
    buf.add(samples([("a", 2, 0.7), ("b", 0, 0.3), ("b", 1, 0.3)]))
    summary = buf.finalize(0)
    assert summary["samples"] == 4 and summary["quarantined"] == 1
    assert summary["pairs_candidates"] == 1 and summary["tied_prompts_dropped"] == 1
    assert buf.select_pairs(0)["pairs"] == 1
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
