"""Fault injection on the local Ray cluster: dead generator, dead driver, failing scorer."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import ray
from conftest import actor_pid, wait_restarted
from test_e2e import tiny_config

from spo.buffer.quarantine import RewardFailureError
from spo.io import read_jsonl
from spo.run_state import completed_iteration
from spo.runner import SelfPlayRunner
from spo.schemas import SAMPLE_KEY

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the watcher runs this module's helpers


def _keys(table):
    return list(zip(*(table.column(k).to_pylist() for k in SAMPLE_KEY)))


def _until(done, what: str, timeout: float = 300.0):
    """Poll ``done()`` every 20 ms until it returns something truthy; fail (never hang) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (value := done()):
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.02)
    return value


@ray.remote(num_cpus=0)
class _Watcher:
    """Watches the buffer from a process of its own (its calls are not queued behind the driver's adds)."""

    def __init__(self, buffer):
        self.buffer = buffer

    def ready(self) -> bool:
        return True

    def first_samples(self) -> int:
        return _until(lambda: ray.get(self.buffer.collected.remote()), "samples in the buffer")

    def samples_after(self, metrics_path: str, iteration: int, stage: str) -> int:
        """Wait for ``stage``'s metrics line of ``iteration``, then for the buffer to hold new samples."""

        def written() -> bool:
            try:
                return any(x["iteration"] == iteration and x["stage"] == stage for x in read_jsonl(metrics_path))
            except (OSError, ValueError):  # not there yet, or a line half written
                return False

        _until(written, f"the {stage} line of iteration {iteration}")
        return self.first_samples()


def _kill_generator_when(runner, ready):
    """Kill generator 0 (Ray restarts it) from a thread once ``ready(watcher)`` (a call on a running
    :class:`_Watcher`) returns; returns the worker, its pid, the list that value lands in, and the thread.
    The watcher is up before this returns, so its first poll comes within milliseconds, not after a
    worker process starts (which could take longer than the whole rollout)."""
    worker = runner.generators.workers[0]
    pid, seen = actor_pid(worker), []
    watcher = _Watcher.remote(runner.buffer)
    ray.get(watcher.ready.remote())

    def kill():
        seen.append(ray.get(ready(watcher)))
        ray.kill(worker, no_restart=False)

    killer = threading.Thread(target=kill)
    killer.start()
    return worker, pid, seen, killer


@pytest.mark.usefixtures("ray_cluster")
def test_generator_killed_mid_rollout_restarts_on_the_current_policy_and_loses_nothing(tmp_path, cache_dir):
    run_dir = tmp_path / "run"
    cfg = tiny_config(run_dir, cache_dir, "iterations=2", "prompts_per_iteration=96", "task.n_heldout=16",
                      "generator.chunk_size=8", "cluster.max_restarts=2", "tracking.backends=[]")  # fmt: skip
    runner = SelfPlayRunner(cfg)
    runner.start()
    try:
        runner.initial_stages()
        runner.iterate(0)
        worker, pid, seen_at_kill, killer = _kill_generator_when(runner, lambda w: w.first_samples.remote())
        runner.iterate(1)
        row = _iterations(run_dir)[1]
        killer.join()
        assert seen_at_kill[0] < 96 * 4  # the kill landed mid-rollout
        wait_restarted(worker, pid)  # the actor was restarted
        samples = pq.read_table(run_dir / "iter_1" / "samples.parquet")
        keys = _keys(samples)
        assert len(keys) == len(set(keys)) == 96 * 4  # none lost, none duplicated
        assert set(samples.column("policy_version").to_pylist()) == {1}  # restarted actor loaded version 1 first
        assert row["policy_version"] == 2 and ray.get(worker.get_policy_version.remote()) == 2
    finally:
        runner.shutdown()


@pytest.mark.usefixtures("ray_cluster")
def test_generator_killed_during_an_overlapped_rollout_loses_and_duplicates_nothing(tmp_path, cache_dir):
    """one_step_off: iteration 2's rollout runs while the learner trains on 1; a generator dies in it."""
    run_dir = tmp_path / "run"
    cfg = tiny_config(run_dir, cache_dir, "iterations=3", "prompts_per_iteration=96", "task.n_heldout=16",
                      "generator.chunk_size=8", "cluster.max_restarts=2", "tracking.backends=[]",
                      "pipeline=one_step_off", "keep_checkpoints=2")  # fmt: skip
    runner = SelfPlayRunner(cfg)
    runner.start()
    try:
        runner.initial_stages()
        runner.iterate(0)
        metrics = str(run_dir / "metrics.jsonl")
        worker, pid, seen_at_kill, killer = _kill_generator_when(
            runner, lambda w: w.samples_after.remote(metrics, 1, "select_pairs")
        )
        runner.iterate(1)
        killer.join()
        runner.iterate(2)
        runner.pipeline.finish()
        assert seen_at_kill[0] < 96 * 4  # the kill landed mid-rollout
        wait_restarted(worker, pid)
        samples = pq.read_table(run_dir / "iter_2" / "samples.parquet")
        keys = _keys(samples)
        assert len(keys) == len(set(keys)) == 96 * 4  # none lost, none duplicated
        assert set(samples.column("policy_version").to_pylist()) == {1}  # the restarted actor loaded version 1
        assert _iterations(run_dir)[2]["policy_version"] == 3 and ray.get(worker.get_policy_version.remote()) == 3
        assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["iter_1", "iter_2"]  # keep_checkpoints
    finally:
        runner.shutdown()


@pytest.mark.usefixtures("ray_cluster")
def test_scorer_failures_are_quarantined_and_stop_the_run_past_the_limit(tmp_path, cache_dir):
    faulty = "reward.scorers.rule.fn=tests.faulty_rewards:nan_or_raise"
    run_dir = tmp_path / "tolerant"
    cfg = tiny_config(run_dir, cache_dir, faulty, "reward.max_failure_fraction=0.5", "iterations=1",
                      "prompts_per_iteration=64", "task.n_heldout=16", "tracking.backends=[]")  # fmt: skip
    rows = SelfPlayRunner(cfg).run()
    bad = pq.read_table(run_dir / "iter_0" / "quarantine.parquet")
    clean = pq.read_table(run_dir / "iter_0" / "samples.parquet")
    errors = bad.column("score_error").to_pylist()
    assert any("ValueError: cannot score prompt" in e for e in errors)
    assert any("non-finite reward nan" in e for e in errors)
    assert len(set(_keys(bad)) | set(_keys(clean))) == bad.num_rows + clean.num_rows == 64 * 4
    assert clean.column("score_error").null_count == clean.num_rows
    assert pc.all(pc.is_finite(clean.column("reward/rule"))).as_py()
    lines = read_jsonl(run_dir / "metrics.jsonl")
    select = next(x for x in lines if x["stage"] == "select")
    assert select["quarantined"] == bad.num_rows > 0
    assert rows[-1]["pairs_trained"] > 0

    strict = tmp_path / "strict"
    cfg = tiny_config(strict, cache_dir, faulty, "reward.max_failure_fraction=0.05", "iterations=1",
                      "prompts_per_iteration=64", "task.n_heldout=16", "tracking.backends=[]")  # fmt: skip
    with pytest.raises(RewardFailureError, match=r"iteration 0: \d+ of 256 samples could not be scored .*first error"):
        SelfPlayRunner(cfg).run()
    assert (strict / "iter_0" / "quarantine.parquet").exists()
    assert completed_iteration(strict) == -1  # the failed iteration is not marked complete


def _train(run_dir, cache_dir, *extra) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "spo.train", "experiment=tiny", "iterations=3", "prompts_per_iteration=64",
           "task.n_heldout=32", f"cache_dir={cache_dir}", f"run_dir={run_dir}", f"hydra.run.dir={run_dir}", *extra]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.getcwd()}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)  # fmt: skip


def _iterations(run_dir) -> dict[int, dict]:
    lines = read_jsonl(run_dir / "metrics.jsonl")
    return {x["iteration"]: x for x in lines if x["stage"] == "iteration"}


# sync is the slow tier's (about 3 min); one_step_off covers resume and the overlapped rollout in the default suite
@pytest.mark.parametrize("pipeline", [pytest.param("sync", marks=pytest.mark.slow), "one_step_off"])
def test_driver_killed_mid_iteration_resumes_to_the_same_metrics(tmp_path, cache_dir, tiny_policy, pipeline):
    """In ``one_step_off`` the kill lands while iteration 2's rollout overlaps learning on 1; the resumed run
    samples iteration 2 again from version 1, as the uninterrupted one did."""
    straight = tmp_path / "straight"
    out, _ = _train(straight, cache_dir, f"pipeline={pipeline}").communicate(timeout=600)
    assert completed_iteration(straight) == 2, out

    run_dir = tmp_path / "killed"
    proc = _train(run_dir, cache_dir, f"pipeline={pipeline}")
    deadline = time.time() + 600
    while time.time() < deadline:  # kill the driver (and its local Ray cluster) inside iteration 1
        metrics = run_dir / "metrics.jsonl"
        if metrics.exists() and any(
            '"stage": "learn"' in x and '"iteration": 1,' in x for x in metrics.read_text().splitlines()
        ):
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert completed_iteration(run_dir) == 0
    assert (run_dir / "iter_1" / "pairs.parquet").exists()  # iteration 1 was half written

    out, _ = _train(run_dir, cache_dir, f"pipeline={pipeline}").communicate(timeout=600)  # the same command again
    resumed = next((x for x in out.splitlines() if "resuming" in x), "")
    assert "removed: [" in resumed and "'iter_1'" in resumed, out  # one_step_off may have begun iteration 2 too
    assert completed_iteration(run_dir) == 2
    a, b = _iterations(straight), _iterations(run_dir)
    assert sorted(a) == sorted(b) == [0, 1, 2]
    for it in a:
        for key in ("heldout_reward", "loss", "reward_accuracy", "pairs_trained", "difficulty_mean", "grad_norm"):
            assert b[it][key] == pytest.approx(a[it][key], rel=1e-5, abs=1e-6), (it, key)
    assert pq.read_table(run_dir / "iter_2" / "samples.parquet").equals(
        pq.read_table(straight / "iter_2" / "samples.parquet")
    )


def test_rollback_removes_later_iterations_and_partial_writes(tmp_path):
    from spo.run_state import mark_complete, rollback

    for rel in ("iter_0/samples.parquet", "iter_1/samples.parquet", "checkpoints/iter_0/model.safetensors",
                "checkpoints/.iter_1.abc/model.safetensors", "eval/policy_v0.parquet", "eval/policy_v1.parquet",
                "eval/policy_v2.parquet", "eval/.policy_v2.parquet.xyz", "state/learner_iter_0/rng_rank0.safetensors",
                ".hydra/config.yaml"):  # fmt: skip
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    lines = [{"iteration": i, "stage": s} for i, s in ((-1, "eval"), (0, "iteration"), (1, "rollout"), (1, "learn"))]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    mark_complete(tmp_path, 0)
    removed = rollback(tmp_path, 0)
    assert sorted(removed) == sorted(["checkpoints/.iter_1.abc", "eval/.policy_v2.parquet.xyz", "iter_1",
                                      "eval/policy_v2.parquet", "metrics.jsonl: 2 lines"])  # fmt: skip
    assert (tmp_path / "eval/policy_v1.parquet").exists() and (tmp_path / "state/learner_iter_0").exists()
    assert (tmp_path / ".hydra/config.yaml").exists() and completed_iteration(tmp_path) == 0
    assert [x["iteration"] for x in read_jsonl(tmp_path / "metrics.jsonl")] == [-1, 0]


def test_completing_an_iteration_keeps_only_the_last_checkpoints_asked_for(tmp_path):
    from spo.run_state import mark_complete

    for k in range(4):
        (tmp_path / f"checkpoints/iter_{k}").mkdir(parents=True)
        (tmp_path / f"state/learner_iter_{k}").mkdir(parents=True)
    mark_complete(tmp_path, 2)  # the default keeps every checkpoint
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["iter_0", "iter_1", "iter_2", "iter_3"]
    assert sorted(p.name for p in (tmp_path / "state").glob("learner_*")) == ["learner_iter_2", "learner_iter_3"]
    mark_complete(tmp_path, 2, keep_checkpoints=2)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["iter_1", "iter_2", "iter_3"]
    mark_complete(tmp_path, 3, keep_checkpoints=1)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["iter_3"]
