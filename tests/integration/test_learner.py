"""The real 2-rank DeepSpeed learner (gloo on CPU) and the object-store weight push."""

import time

import pyarrow as pa
import pytest
import ray
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from spo.buffer.pair_metrics.base import attach_logprobs
from spo.learner.config import LearnerConfig
from spo.learner.group import LearnerGroup
from spo.learner.phases import PHASES
from spo.rollout.base import SamplingParams
from spo.rollout.pool import GeneratorPool
from spo.sync.config import SyncConfig
from spo.sync.object_store import ObjectStoreTransport
from spo.tasks import sort_digits

pytestmark = pytest.mark.usefixtures("ray_cluster")


def learner_cfg(stage: int, **kw) -> LearnerConfig:
    return LearnerConfig(lr=1e-3, epochs=1, micro_batch_size=4, zero_stage=stage, reference="initial", **kw)


def fixed_pairs(n: int = 16) -> pa.Table:
    rows = sort_digits.generate_prompts(n, seed=11, min_len=3, max_len=5)
    return pa.Table.from_pylist(
        [
            {
                "prompt_id": r["prompt_id"],
                "prompt": r["prompt"],
                "chosen": sort_digits.solution(r["prompt"]),
                "rejected": "9 9 9 9 9 9",
            }
            for r in rows
        ]
    )


@pytest.mark.parametrize("stage", [1, 3])
def test_learner_loss_decreases_and_push_changes_generator(tiny_policy, tmp_path, stage):
    learner = LearnerGroup(learner_cfg(stage), tiny_policy, num_cpus=0.25, threads=1, seed=0)
    gens = GeneratorPool(1, "hf", {"model_path": tiny_policy}, "tiny", num_cpus=0.5, threads=1)
    try:
        pairs = ray.put(fixed_pairs())
        losses = [learner.train(pairs, it)["loss"] for it in range(3)]
        assert losses[0] < 0.7  # starts near log 2 against the initial reference
        assert losses[2] < losses[1] < losses[0]
        start = time.perf_counter()
        metrics = learner.train(pairs, 3)
        wall = time.perf_counter() - start
        assert metrics["pairs_trained"] == 16 and metrics["steps"] == 2
        tok = AutoTokenizer.from_pretrained(tiny_policy)
        responses = [r[k] + tok.eos_token for r in fixed_pairs().to_pylist() for k in ("chosen", "rejected")]
        expected = sum(len(ids) for ids in tok(responses, add_special_tokens=False)["input_ids"])
        assert metrics["response_tokens_trained"] == expected
        phases = [metrics[f"train_{p}_s"] for p in PHASES]
        assert all(t > 0 for t in phases) and sum(phases) < wall  # each phase timed, inside the call
        assert metrics["reward_accuracy"] > 0.5 and metrics["grad_norm"] > 0

        sampling = SamplingParams(n=2, temperature=1.0, max_new_tokens=10, seed=3)
        prompts = [{"prompt_id": "a", "prompt": "sort: 5 2 8 1"}, {"prompt_id": "b", "prompt": "sort: 7 3"}]
        before = ray.get(gens.submit(prompts, 0, sampling))
        ObjectStoreTransport(SyncConfig()).push(learner, gens, version=1)
        assert gens.policy_versions() == [1]
        after = ray.get(gens.submit(prompts, 1, sampling))
        assert set(after.column("policy_version").to_pylist()) == {1}
        assert after.column("logprob_sum").to_pylist() != before.column("logprob_sum").to_pylist()

        odd = fixed_pairs(7)
        pieces = ray.get(learner.pair_logprobs(ray.put(odd), with_reference=True))
        joined = attach_logprobs(odd, pieces)  # exactly once per pair, though 7 is odd and ranks run in lockstep
        col = lambda name: torch.tensor(joined.column(name).to_pylist())  # noqa: E731
        ratio_margin = (col("chosen_logps") - col("ref_chosen_logps")) - (
            col("rejected_logps") - col("ref_rejected_logps")
        )
        assert (ratio_margin > 0).all()  # DPO moved every pair's log-ratio margin the right way
        tok = AutoTokenizer.from_pretrained(tiny_policy)
        expected = [
            len(tok(r + tok.eos_token, add_special_tokens=False).input_ids) for r in odd.column("chosen").to_pylist()
        ]
        assert joined.column("chosen_tokens").to_pylist() == expected

        learner.save_checkpoint(str(tmp_path / "ckpt"))
        saved = AutoModelForCausalLM.from_pretrained(tmp_path / "ckpt")
        initial = AutoModelForCausalLM.from_pretrained(tiny_policy)
        w_saved = saved.get_input_embeddings().weight
        assert w_saved.shape == initial.get_input_embeddings().weight.shape
        assert not w_saved.allclose(initial.get_input_embeddings().weight)
    finally:
        learner.shutdown()
        gens.shutdown()


@pytest.mark.parametrize("loss", ["kto", "simpo"])
def test_other_losses_train_on_the_deepspeed_learner(tiny_policy, loss):
    learner = LearnerGroup(learner_cfg(2, loss=loss), tiny_policy, num_cpus=0.25, threads=1, seed=0)
    try:
        pairs = ray.put(fixed_pairs())
        first = learner.train(pairs, 0)
        later = [learner.train(pairs, it)["loss"] for it in (1, 2)]
        assert later[1] < later[0] < first["loss"]
        assert first["pairs_trained"] == 16
        assert first["train_forward_s"] > 0 and first["train_backward_s"] > 0
        if loss == "simpo":  # reference-free: no reference pass
            assert first["train_reference_s"] < 0.01 * first["train_forward_s"]
    finally:
        learner.shutdown()


def test_set_up_runs_in_the_background_and_its_error_reaches_the_first_call(tmp_path):
    missing = str(tmp_path / "no-such-model")
    learner = LearnerGroup(learner_cfg(2), missing, num_cpus=0.25, threads=1, seed=0)  # returns while ranks set up
    try:
        assert len(learner.placements) == 2 and learner.nodes
        with pytest.raises(ray.exceptions.RayTaskError, match="no-such-model"):
            learner.train(ray.put(fixed_pairs(4)), 0)  # the set-up's own error, not a missing engine
    finally:
        learner.shutdown()


def test_zero_stage_0_reports_the_gradient_norm_that_zero_2_reports(tiny_policy):
    """Without ZeRO, DeepSpeed clips fp32 gradients itself and keeps no norm: the learner measures it (it was 0)."""
    norms = {}
    for stage in (0, 2):
        learner = LearnerGroup(learner_cfg(stage), tiny_policy, num_cpus=0.25, threads=1, seed=0)
        try:
            norms[stage] = learner.train(ray.put(fixed_pairs()), 0)["grad_norm"]
        finally:
            learner.shutdown()
    assert norms[2] > 0 and norms[0] == pytest.approx(norms[2], rel=1e-4)


def test_a_state_save_runs_behind_the_driver_and_the_next_training_call(tiny_policy, tmp_path):
    """``save_state`` returns while the ranks write; a training call made meanwhile runs while the files are
    written, yet the saved state is the one before that call; a save never waited for leaves no directory."""
    learner = LearnerGroup(learner_cfg(0), tiny_policy, num_cpus=0.25, threads=1, seed=0)
    try:
        pairs = ray.put(fixed_pairs())
        learner.train(pairs, 0)
        save = learner.save_state(str(tmp_path / "state"))
        assert not (tmp_path / "state").exists()  # written to a temporary sibling until waited for
        after_save = learner.train(pairs, 1)["loss"]  # queued behind the in-memory copy on every rank
        assert save.wait() >= 0 and (tmp_path / "state" / "rng_rank1.safetensors").exists()
        assert learner.train(pairs, 2)["loss"] < after_save
        learner.load_state(str(tmp_path / "state"))
        assert learner.train(pairs, 1)["loss"] == pytest.approx(after_save, abs=1e-6)  # the state before it
        unfinished = learner.save_state(str(tmp_path / "unfinished"))
    finally:
        learner.shutdown()
    unfinished.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]
