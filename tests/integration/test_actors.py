"""Generator and scorer actors on a local Ray cluster, with real tiny models."""

import os

import pyarrow as pa
import pytest
import ray

from spo.reward.pool import ScorerPool
from spo.rollout.base import SamplingParams
from spo.rollout.pool import GeneratorPool
from spo.schemas import generated_schema, samples_schema
from spo.tasks import sort_digits

pytestmark = pytest.mark.usefixtures("ray_cluster")

PROMPTS = [{"prompt_id": f"p{i}", "prompt": sort_digits.make_prompt([3, 1, i % 10, 2])} for i in range(6)]


def test_generator_pool_samples_n_per_prompt(tiny_policy):
    pool = GeneratorPool(2, "hf", {"model_path": tiny_policy}, "tiny", num_cpus=0.5, threads=1)
    try:
        sampling = SamplingParams(n=3, temperature=1.0, top_p=0.9, max_new_tokens=12, seed=5)
        table = ray.get(pool.submit(PROMPTS[:4], 7, sampling))
        assert table.schema == generated_schema()
        assert table.num_rows == 12
        assert table.column("sample_idx").to_pylist() == [0, 1, 2] * 4
        assert set(table.column("iteration").to_pylist()) == {7}
        assert set(table.column("policy_version").to_pylist()) == {0}
        rows = table.to_pylist()
        assert all(1 <= r["n_tokens"] <= 12 for r in rows)
        # the hf engine knows no log-prob of the EOS the learner appends to an answer cut at the limit
        assert all(r["logprob_sum"] < 0 if r["finish_reason"] == "stop" else r["logprob_sum"] is None for r in rows)
        assert all(r["finish_reason"] in ("stop", "length") for r in rows)
        assert any(r["finish_reason"] == "stop" for r in rows)  # the warmed-up policy answers and stops
        # Same seed, other worker: identical samples (seeding is per call, not per actor).
        again = ray.get(pool.submit(PROMPTS[:4], 7, sampling))
        assert again.column("response").to_pylist() == table.column("response").to_pylist()
    finally:
        pool.shutdown()


def test_scorer_pool_chains_rule_and_reward_model(tiny_policy, tiny_classifier):
    scorers = ScorerPool(
        {
            "rule": {"backend": "rule", "num_workers": 1, "kwargs": {"fn": "spo.tasks.sort_digits:reward"}},
            "rm": {
                "backend": "sequence_classifier",
                "num_workers": 1,
                "kwargs": {"path": tiny_classifier, "policy_path": tiny_policy, "batch_size": 4},
            },
        },
        num_cpus=0.25,
        threads=1,
    )
    try:
        responses = ["1 2 3 3", "3 2 1", "", "1 1 2 3"] * 2
        rows = [
            {
                "prompt_id": f"p{i}",
                "prompt": PROMPTS[i % 4]["prompt"],
                "response": r,
                "sample_idx": 0,
                "generator": "g",
                "policy_version": 0,
                "iteration": 0,
                "n_tokens": 1,
                "logprob_sum": None,
                "finish_reason": "stop",
            }
            for i, r in enumerate(responses)
        ]
        table = pa.Table.from_pylist(rows, schema=generated_schema())
        scored = ray.get(scorers.submit(ray.put(table)))
        assert scored.schema == samples_schema(["rule", "rm"])
        rule = scored.column("reward/rule").to_pylist()
        assert rule == [sort_digits.reward(r["prompt"], r["response"]) for r in rows]
        rm = scored.column("reward/rm").to_pylist()
        assert len(set(rm)) > 1  # the RM sees the texts: different responses, different scores
        assert rm[:4] == pytest.approx(rm[4:], abs=1e-5)  # length-sorted batching keeps row order
    finally:
        scorers.shutdown()


def test_rule_scorer_with_bad_function_fails_clearly(ray_cluster):
    from spo.reward.rule import RuleScorer

    with pytest.raises(ValueError, match="cannot import fn 'spo.tasks.sort_digits:nope'"):
        RuleScorer(fn="spo.tasks.sort_digits:nope")


def test_pinned_roles_run_on_their_cores(tiny_policy):
    """Each role's actor runs on the cores its ``cluster.<role>_cores`` names, as its placement records."""
    last = max(os.sched_getaffinity(0))
    gens = GeneratorPool(1, "hf", {"model_path": tiny_policy}, "tiny", num_cpus=0.25, threads=1, cores=(last,))
    rule = {"backend": "rule", "num_workers": 1, "kwargs": {"fn": "spo.tasks.sort_digits:reward"}}
    scorers = ScorerPool({"rule": rule}, 0.25, 1, cores=(0,))
    try:
        assert ray.get(gens.workers[0].placement.remote())["cores"] == [last]
        assert ray.get(scorers.workers["rule"][0].placement.remote())["cores"] == [0]
        table = ray.get(scorers.submit(gens.submit(PROMPTS[:1], 0, SamplingParams(2, 1.0, 1.0, 4, 0))))
        assert table.num_rows == 2  # pinned, they still generate and score
    finally:
        gens.shutdown()
        scorers.shutdown()
