"""The pipeline modes on the tiny model: which version samples each iteration, staleness, in-flight pushes."""

import pyarrow.parquet as pq
import pytest
import ray
from test_e2e import tiny_config

from spo.io import read_jsonl
from spo.rollout.base import SamplingParams
from spo.runner import SelfPlayRunner
from spo.sync.base import SyncTimeoutError

SMALL = ("iterations=3", "prompts_per_iteration=64", "task.n_heldout=32", "tracking.backends=[]")


def _lines(run_dir, stage):
    return {x["iteration"]: x for x in read_jsonl(run_dir / "metrics.jsonl") if x["stage"] == stage}


def _versions(run_dir, it):
    return sorted(set(pq.read_table(run_dir / f"iter_{it}" / "samples.parquet").column("policy_version").to_pylist()))


@pytest.mark.usefixtures("ray_cluster")
def test_one_step_off_samples_each_iteration_from_the_version_before(tmp_path, cache_dir, tiny_policy):
    run_dir = tmp_path / "run"
    rows = SelfPlayRunner(tiny_config(run_dir, cache_dir, *SMALL, "pipeline=one_step_off")).run()
    assert [r["iteration"] for r in rows] == [-1, 0, 1, 2]
    assert [_versions(run_dir, it) for it in range(3)] == [[0], [0], [1]]  # fixed by the schedule
    for it, lag in ((0, 0), (1, 1), (2, 1)):
        pairs = pq.read_table(run_dir / f"iter_{it}" / "pairs.parquet")
        assert set(pairs.column("staleness").to_pylist()) == {lag}
        trained = pairs.filter(pairs.column("selected")).num_rows  # trimmed to a multiple of the learner ranks
        assert _lines(run_dir, "select_pairs")[it]["pair_staleness_hist"] == {str(lag): trained}
    for version in range(4):  # every evaluation answered by exactly the version it reports
        answers = pq.read_table(run_dir / "eval" / f"policy_v{version}.parquet")
        assert set(answers.column("policy_version").to_pylist()) == {version}
    evals = _lines(run_dir, "eval")
    assert [evals[it]["policy_version"] for it in (-1, 0, 1, 2)] == [0, 1, 2, 3]
    for row in rows[1:]:
        assert 0 <= row["generator_idle_fraction"] <= 1 and 0 <= row["learner_idle_fraction"] <= 1
        assert row["learner_busy_s"] > 0 and row["elapsed_s"] > 0
    assert rows[-1]["policy_version"] == 3


@pytest.mark.usefixtures("ray_cluster")
def test_async_pushes_between_chunks_and_regenerates_what_is_too_stale(tmp_path, cache_dir, tiny_policy):
    run_dir = tmp_path / "run"
    cfg = tiny_config(run_dir, cache_dir, *SMALL, "pipeline=async", "pipeline.max_staleness=0",
                      "pipeline.stale=regenerate", "pipeline.chunks_in_flight=1", "generator.chunk_size=4")  # fmt: skip
    rows = SelfPlayRunner(cfg).run()
    assert [r["iteration"] for r in rows] == [-1, 0, 1, 2]
    fresh = _lines(run_dir, "freshen")
    for it in range(3):
        assert _versions(run_dir, it) == [it]  # after regeneration, every trained sample is current
        assert set(pq.read_table(run_dir / f"iter_{it}" / "pairs.parquet").column("staleness").to_pylist()) == {0}
        stale_file = run_dir / f"iter_{it}" / "stale_samples.parquet"
        stale = pq.read_table(stale_file) if stale_file.exists() else None
        assert fresh[it]["stale_samples"] == (stale.num_rows if stale is not None else 0)
        if stale is not None:  # the stale samples came from the previous version, and were drawn again
            assert set(stale.column("policy_version").to_pylist()) == {it - 1}
            assert fresh[it]["regenerated_samples"] == stale.num_rows
    assert any(fresh[it]["stale_samples"] for it in (1, 2))  # the push did land mid-rollout
    assert rows[-1]["policy_version"] == 3


@pytest.mark.usefixtures("ray_cluster")
def test_async_with_staleness_one_trains_on_samples_of_both_versions_it_saw(tmp_path, cache_dir, tiny_policy):
    run_dir = tmp_path / "run"
    cfg = tiny_config(run_dir, cache_dir, *SMALL, "pipeline=async", "pipeline.chunks_in_flight=1",
                      "generator.chunk_size=4")  # fmt: skip
    SelfPlayRunner(cfg).run()
    for it in (1, 2):
        assert set(_versions(run_dir, it)) <= {it - 1, it}
        assert not (run_dir / f"iter_{it}" / "stale_samples.parquet").exists()
        hist = _lines(run_dir, "freshen")[it]["sample_staleness_hist"]
        assert set(hist) <= {"0", "1"} and sum(hist.values()) == 64 * 4
    pushes = [x for x in read_jsonl(run_dir / "metrics.jsonl") if x["stage"] == "sync"]
    assert [p["policy_version"] for p in pushes] == [1, 2, 3]


@pytest.mark.usefixtures("ray_cluster")
def test_a_push_that_is_not_acknowledged_in_time_fails_with_the_key_named(tmp_path, cache_dir, tiny_policy):
    cfg = tiny_config(tmp_path / "run", cache_dir, *SMALL, "sync.timeout_s=0.5", "generator.max_new_tokens=64")
    runner = SelfPlayRunner(cfg)
    runner.start()
    try:
        rows = runner.schedule.iteration(0) * 2
        busy = runner.generators.submit(rows, 0, SamplingParams(16, 1.0, 1.0, 64, 0))  # many seconds of generating
        with pytest.raises(SyncTimeoutError, match=r"^sync.timeout_s: weight push of policy v1 \(object_store\) was .*"
                           r"\(tiny generator 0 \(no answer\)\)"):  # fmt: skip
            runner.sync(1)
        ray.get(busy)
    finally:
        runner.shutdown()


@pytest.mark.usefixtures("ray_cluster")
def test_one_step_off_with_the_sampling_policy_as_reference_takes_lagged_pairs_reference_from_the_sampler(
    tmp_path, cache_dir, tiny_policy
):
    """Iterations 1 and 2 train on answers of the version before the learner's: a pair's reference is then the
    sampler's log-probs of that version, and a pair without them is counted; iteration 0's own-version pairs are
    checked against a forward pass."""
    run_dir = tmp_path / "run"
    cfg = tiny_config(run_dir, cache_dir, *SMALL, "pipeline=one_step_off", "learner.reference=sampling_policy",
                      "generator.engine=hf_shared")  # fmt: skip
    SelfPlayRunner(cfg).run()
    learn = _lines(run_dir, "learn")
    assert learn[0]["reference_from_sampler"] < learn[0]["pairs_trained"]  # a checked micro-batch per rank
    assert learn[0]["sampler_max_diff"] < 1e-3
    for it in (1, 2):
        assert set(pq.read_table(run_dir / f"iter_{it}" / "pairs.parquet").column("staleness").to_pylist()) == {1}
        taken, without = learn[it]["reference_from_sampler"], learn[it]["reference_not_sampling_policy"]
        assert taken > 0 and taken + without == learn[it]["pairs_trained"]  # the rest: answers without log-probs
