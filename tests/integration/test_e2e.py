"""Two iterations of the tiny experiment through the real runner, Ray and DeepSpeed."""

import json

import pyarrow.parquet as pq
import pytest
import ray
from conftest import CONF_DIR
from hydra import compose, initialize_config_dir
from transformers import AutoModelForCausalLM

from spo.config import register, to_config
from spo.runner import SelfPlayRunner
from spo.schemas import check_schema, pairs_schema, prompts_schema, samples_schema

register()


def tiny_config(run_dir, cache_dir, *overrides: str):
    """The tiny experiment, writing to ``run_dir``, with test-sized overrides."""
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        dcfg = compose(
            "config", overrides=["experiment=tiny", f"run_dir={run_dir}", f"cache_dir={cache_dir}", *overrides]
        )
    return to_config(dcfg)


@pytest.mark.usefixtures("ray_cluster")
def test_two_iterations_of_tiny_experiment(tmp_path, cache_dir, tiny_policy):
    run_dir = tmp_path / "run"
    cfg = tiny_config(run_dir, cache_dir, "iterations=2", "prompts_per_iteration=96", "task.n_heldout=64",
                      "generator.num_workers=2", "cluster.generator_cpus=0.5", "generator.chunk_size=16",
                      f"eval.pairwise_judge={tiny_policy}")  # fmt: skip
    runner = SelfPlayRunner(cfg)
    rows = runner.run()
    roles = runner.roles  # every role's actors stopped with the run (the buffer's too)
    for actor in [roles.buffer, *roles.generators.workers, *(w for ws in roles.scorers.workers.values() for w in ws)]:
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(actor.placement.remote(), timeout=60)

    assert (run_dir / "config.yaml").read_text().startswith("run_name: tiny")
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    stages = [(x["iteration"], x["stage"]) for x in lines]
    for it in (0, 1):
        for stage in ("rollout", "select", "select_pairs", "learn", "sync", "checkpoint", "eval", "iteration"):
            assert (it, stage) in stages
        d = run_dir / f"iter_{it}"
        samples = pq.read_table(d / "samples.parquet")
        assert samples.schema == samples_schema(["rule"])
        assert samples.num_rows == 96 * 4
        keys = set(zip(*(samples.column(c).to_pylist() for c in ("iteration", "prompt_id", "sample_idx"))))
        assert len(keys) == samples.num_rows  # exactly once
        assert set(samples.column("policy_version").to_pylist()) == {it}
        assert set(samples.column("generator").to_pylist()) == {"tiny"}
        assert pq.read_table(d / "prompts.parquet").schema == prompts_schema(["rule"])
        pairs = pq.read_table(d / "pairs.parquet")
        check_schema(pairs, pairs_schema(), "pairs")
        selected = pairs.column("selected").to_pylist()  # all, bar one if the count is odd (2 learner ranks)
        assert selected.count(False) <= 1 and sum(selected) % 2 == 0 and pairs.num_rows > 40
        model = AutoModelForCausalLM.from_pretrained(run_dir / "checkpoints" / f"iter_{it}")
        assert model.config.model_type == "llama"
    for v in (0, 1, 2):
        assert (run_dir / "eval" / f"policy_v{v}.parquet").exists()

    assert 0 <= rows[-1]["win_rate"] <= 1 and 0 <= rows[-1]["lc_win_rate"] <= 1  # vs the initial policy
    assert rows[-1]["n/pairwise"] == 64 * 2  # every held-out answer judged in both orders
    assert rows[-1]["heldout_reward_hard/rule"] < rows[-1]["heldout_reward_easy/rule"]
    # the thirds come from the initial policy's own 4 answers per held-out prompt, drawn apart from the evaluation
    assert pq.read_table(run_dir / "eval" / "heldout_difficulty.parquet").num_rows == 64 * 4
    assert {r["heldout_thirds_from"] for r in rows} == {"heldout_difficulty.parquet"}
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    initial, last = rows[0]["heldout_reward"], rows[-1]["heldout_reward"]
    assert initial > 0.3  # the warmed-up policy is sensible
    assert last > initial - 0.05  # and self-play did not collapse it
    assert rows[-1]["pairs_trained"] > 0 and rows[-1]["policy_version"] == 2


@pytest.mark.usefixtures("ray_cluster")
def test_cross_generator_pairs_selected_by_judge_delta(tmp_path, cache_dir, tiny_policy):
    run_dir = tmp_path / "run"
    cfg = tiny_config(
        run_dir, cache_dir, "reward=sort_rule_judge", "iterations=1", "prompts_per_iteration=48", "task.n_heldout=32",
        "cluster.generator_cpus=0.5", "+generator.extra_pools={weak:{tiny_sft_steps:30}}", "selection.pair_builder=cross",
        "selection.strong=tiny", "selection.weak=weak", "selection.pair_metric=judge_delta", "selection.judge_dim=correctness",
        "selection.pair_fraction=0.5",
    )  # fmt: skip
    rows = SelfPlayRunner(cfg).run()
    samples = pq.read_table(run_dir / "iter_0" / "samples.parquet")
    by_gen = samples.group_by("generator").aggregate([("sample_idx", "min"), ("sample_idx", "max")]).to_pylist()
    assert {(r["generator"], r["sample_idx_min"], r["sample_idx_max"]) for r in by_gen} == {
        ("tiny", 0, 3),
        ("weak", 4, 7),
    }
    assert {"judge/correctness", "judge/length", "reward/judge"} <= set(samples.column_names)
    pairs = pq.read_table(run_dir / "iter_0" / "pairs.parquet")
    assert set(pairs.column("generator_chosen").to_pylist()) == {"tiny"}
    assert set(pairs.column("generator_rejected").to_pylist()) == {"weak"}
    selected = pairs.filter(pairs.column("selected"))
    assert selected.num_rows == round(pairs.num_rows * 0.5)
    deltas = pairs.column("judge_delta/correctness").to_pylist()
    assert (
        min(selected.column("judge_delta/correctness").to_pylist())
        >= sorted(deltas, reverse=True)[selected.num_rows - 1]
    )
    assert rows[-1]["pairs_trained"] > 0
    eval_gens = set(pq.read_table(run_dir / "eval" / "policy_v1.parquet").column("generator").to_pylist())
    assert eval_gens == {"tiny"}  # only the trained policy is evaluated


@pytest.mark.usefixtures("ray_cluster")
def test_a_pinned_eval_chunk_size_evaluates_alike_whatever_the_rollout_chunk_size(tmp_path, cache_dir, tiny_policy):
    """The held-out seeds are per generator call, so runs with another generator.chunk_size draw other answers
    from the same initial policy, unless eval.chunk_size pins the calls."""

    def initial_answers(name, *extra):
        cfg = tiny_config(tmp_path / name, cache_dir, "task.n_heldout=48", "eval.difficulty_samples=0",
                          "tracking.backends=[]", *extra)  # fmt: skip
        runner = SelfPlayRunner(cfg)
        runner.start()
        try:
            runner.initial_stages()
        finally:
            runner.shutdown()
        return pq.read_table(tmp_path / name / "eval" / "policy_v0.parquet").sort_by(
            [("prompt_id", "ascending"), ("sample_idx", "ascending")]
        )

    pinned = initial_answers("a", "generator.chunk_size=8", "eval.chunk_size=16")
    assert pinned.num_rows == 48 * 2
    again = initial_answers("b", "generator.chunk_size=32", "eval.chunk_size=16")
    assert pinned.column("response").to_pylist() == again.column("response").to_pylist()
    unpinned = initial_answers("c", "generator.chunk_size=32")
    assert pinned.column("response").to_pylist() != unpinned.column("response").to_pylist()
