"""Judges: reply parsing, retry-then-missing, and judge columns through the scorer actors."""

import pyarrow as pa
import pytest
import ray

from spo.reward.judge import GenerativeJudge
from spo.reward.pool import ScorerPool
from spo.rollout.base import Completion
from spo.schemas import generated_schema

DIMS = ["factuality", "signal_to_noise"]


def test_generative_judge_retries_once_then_records_missing(tiny_policy):
    judge = GenerativeJudge(path=tiny_policy, dimensions=DIMS)
    calls = []

    def fake_generate(queries, sampling):  # the model boundary: canned replies
        calls.append((len(queries), sampling.temperature))
        replies = {0: ["factuality: 4\nsignal_to_noise: 5", "no idea", "factuality: 2"],
                   1: ["signal_to_noise: 3", "still nothing"]}[len(calls) - 1]  # fmt: skip
        return [[Completion(text=r, n_tokens=1, logprob_sum=None, finish_reason="stop")] for r in replies]

    judge.engine.generate = fake_generate
    scores = judge.judge(["p1", "p2", "p3"], ["r1", "r2", "r3"])
    assert calls == [(3, 0.0), (2, 0.7)]  # greedy first; one sampled retry for the two incomplete replies
    assert scores == {"factuality": [4, None, 2], "signal_to_noise": [5, 3, None]}


def test_generative_judge_really_generates_with_the_tiny_model(tiny_policy):
    judge = GenerativeJudge(path=tiny_policy, dimensions=DIMS, max_new_tokens=8)
    scores = judge.judge(["sort: 2 1"], ["1 2"])
    assert set(scores) == set(DIMS) and all(v in (None, 1, 2, 3, 4, 5) for vals in scores.values() for v in vals)


@pytest.mark.usefixtures("ray_cluster")
def test_rule_judge_columns_through_scorer_actors():
    pool = ScorerPool(
        {"judge": {"backend": "rule_judge", "num_workers": 1,
                   "kwargs": {"fn": "spo.tasks.sort_digits:judge", "dimensions": ["correctness", "length"]}}},
        num_cpus=0.25, threads=1,
    )  # fmt: skip
    try:
        rows = [dict(prompt_id="a", prompt="sort: 3 1 2", response=r, sample_idx=i, generator="g", policy_version=0,
                     iteration=0, n_tokens=1, logprob_sum=None, finish_reason="stop")
                for i, r in enumerate(["1 2 3", "3"])]  # fmt: skip
        scored = ray.get(pool.submit(ray.put(pa.Table.from_pylist(rows, schema=generated_schema()))))
        assert scored.column("judge/correctness").to_pylist() == [5, 1]
        assert scored.column("judge/length").to_pylist() == [5, 3]
        assert scored.column("reward/judge").to_pylist() == [5.0, 2.0]
    finally:
        pool.shutdown()
