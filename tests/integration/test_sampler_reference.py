"""Reference log-probs from the sampler: same training as a forward pass, refused when they disagree."""

import time

import pyarrow as pa
import pytest
import ray

from spo.buffer.builders.within import within
from spo.learner.config import LearnerConfig
from spo.learner.group import LearnerGroup
from spo.learner.worker import shard
from spo.rollout.base import SamplingParams
from spo.rollout.pool import GeneratorPool
from spo.tasks import sort_digits

pytestmark = pytest.mark.usefixtures("ray_cluster")


def sampled_pairs(tiny_policy) -> pa.Table:
    """Pairs built by the buffer's own builder from samples of the hf_shared engine at version 0."""
    gens = GeneratorPool(1, "hf_shared", {"model_path": tiny_policy}, "tiny", num_cpus=0.5, threads=1)
    try:
        rows = sort_digits.generate_prompts(24, seed=12, min_len=3, max_len=6)
        samples = ray.get(gens.submit(rows, 0, SamplingParams(n=4, temperature=1.0, max_new_tokens=12, seed=4)))
    finally:
        gens.shutdown()
    reward = [sort_digits.reward(p, r) for p, r in zip(samples.column("prompt").to_pylist(),
                                                         samples.column("response").to_pylist())]  # fmt: skip
    pairs, _ = within(samples.append_column("reward/rule", pa.array(reward, pa.float64())), "rule", "tiny")
    # an answer cut at the length limit has one too: the engine adds the log-prob of the EOS the learner appends.
    # Which answers are cut depends on the machine's kernels, so the 16 pairs are chosen to put one with a cut answer
    # where a rank checks the sampler against a forward pass
    cut = {(r["prompt_id"], r["response"]) for r in samples.to_pylist() if r["finish_reason"] != "stop"}
    rows = pairs.to_pylist()
    with_cut = [i for i, p in enumerate(rows) if {(p["prompt_id"], p["chosen"]), (p["prompt_id"], p["rejected"])} & cut]
    assert with_cut, "no pair holds an answer cut at max_new_tokens"
    picked = [r for i, r in enumerate(rows) if i != with_cut[0]][:15]
    picked.insert(checked_positions(16, iteration=0)[0], rows[with_cut[0]])
    return pa.Table.from_pylist(picked, schema=pairs.schema)


def checked_positions(n: int, iteration: int, ranks: int = 2, micro_batch: int = 4) -> list[int]:
    """Which of ``n`` pairs the ranks check against a forward pass in training call ``iteration``: each rank's first
    micro-batch of the shard the learner gives it (seed 0)."""
    return [i for r in range(ranks) for i in shard(range(n), 0, iteration, r, ranks)[:micro_batch]]


def test_sampler_reference_trains_like_a_forward_pass_and_refuses_a_wrong_one(tiny_policy):
    pairs = sampled_pairs(tiny_policy)
    assert pairs.num_rows == 16 and None not in pairs.column("sampler_logps_chosen").to_pylist()
    cfg = dict(lr=1e-3, epochs=1, micro_batch_size=4, zero_stage=2, reference="iteration_start")
    results = {}
    runs = (("forward", False, False, False), ("sampler", True, False, False), ("shared", True, True, False),
            ("one_row", True, True, True))  # the demo's: the sampler's reference and a shared prompt  # fmt: skip
    for name, from_sampler, share, padding_free in runs:
        group = LearnerGroup(LearnerConfig(**cfg, reference_from_sampler=from_sampler, share_prompt=share,
                                           padding_free=padding_free),
                             tiny_policy, num_cpus=0.25, threads=1, seed=0)  # fmt: skip
        try:
            results[name] = group.train(ray.put(pairs), 0, ("tiny", 0) if from_sampler else None)
            if name == "sampler":
                other = group.train(ray.put(pairs), 1, ("tiny", 1))  # samples of version 0 are not version 1's
                assert "reference_from_sampler" in other and other["reference_from_sampler"] == 0
                bad = pairs.set_column(pairs.schema.get_field_index("sampler_logps_chosen"), "sampler_logps_chosen",
                                       pa.compute.add(pairs.column("sampler_logps_chosen"), 0.5))  # fmt: skip
                with pytest.raises(ray.exceptions.RayTaskError, match=r"differ from a teacher-forced pass by up to \d"):
                    group.train(ray.put(bad), 2, ("tiny", 2 - 2))
                # only rank 0's shard is wrong: rank 0 raises while rank 1 waits in a collective; the call fails
                # at once with rank 0's error, not after learner.timeout_s (30 min)
                rows = pairs.to_pylist()
                for r in shard(rows, 0, 3, 0, 2):  # rank 0's shard in training call 3 (the dicts are shared)
                    r["sampler_logps_chosen"] += 0.5
                start = time.monotonic()
                with pytest.raises(ray.exceptions.RayTaskError, match=r"differ from a teacher-forced pass by up to \d"):
                    group.train(ray.put(pa.Table.from_pylist(rows, schema=pairs.schema)), 3, ("tiny", 0))
                assert time.monotonic() - start < 120
        finally:
            group.shutdown()
    forward, sampler = results["forward"], results["sampler"]
    assert sampler["reference_from_sampler"] == 16 - 2 * 4  # each rank checks one micro-batch by a forward pass
    assert sampler["sampler_max_diff"] < 1e-3
    assert sampler["loss_first"] == pytest.approx(forward["loss_first"], abs=1e-4)
    # after updates the runs drift apart a little: Adam magnifies 1e-5 differences in the reference
    assert sampler["loss"] == pytest.approx(forward["loss"], abs=0.02)
    # one row per pair (learner.share_prompt) checks the sampler against its own teacher-forced pass
    shared = results["shared"]
    assert shared["reference_from_sampler"] == 8 and shared["sampler_max_diff"] < 1e-3
    assert shared["loss_first"] == pytest.approx(forward["loss_first"], abs=1e-4)
    assert shared["loss"] == pytest.approx(forward["loss"], abs=0.02)
    # a micro-batch in one row without padding (learner.padding_free) trains as one row per pair does
    packed = results["one_row"]
    assert packed["reference_from_sampler"] == 8 and packed["sampler_max_diff"] < 1e-3
    assert packed["loss_first"] == pytest.approx(shared["loss_first"], abs=1e-5)
    assert packed["loss"] == pytest.approx(shared["loss"], abs=1e-3)
