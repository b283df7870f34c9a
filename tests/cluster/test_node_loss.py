"""Losing a node of the simulated cluster: mid-rollout (the actors come back on the surviving nodes, or
the run fails naming what is missing) and mid-training (the run fails at once, then resumes to the same
metrics as a run that never lost it)."""

import json
import threading
import time

import pyarrow.parquet as pq
import pytest
import ray
from conftest import NODES, add_gpu_node
from simulated import node_of, preset_config

from spo.cluster.watch import CapacityLostError
from spo.learner.group import LearnerFailedError
from spo.run_state import completed_iteration
from spo.runner import SelfPlayRunner
from spo.schemas import SAMPLE_KEY

pytestmark = pytest.mark.cluster


def _remove_mid_rollout(cluster, runner, node_id: str, after: int = 6) -> list[int]:
    """Remove node ``node_id`` once the driver has queued ``after`` chunks for scoring; the rest of the
    rollout's chunks are queued while the node is gone. Returns the chunks queued (the real ``submit``
    runs; only the moment of the loss is chosen)."""
    real, queued = runner.scorers.submit, []

    def submit(samples_ref):
        queued.append(1)
        if len(queued) == after:
            cluster.remove_node(node_of(cluster, node_id))
        return real(samples_ref)

    runner.scorers.submit = submit
    return queued


def _placed(run_dir) -> dict:
    return json.loads((run_dir / "placement.json").read_text())


def _nodes(placed: dict, *roles: str) -> set[str]:
    return {a["node"] for role, actors in placed.items() if role.startswith(roles) for a in actors}


ROLLOUT = ["prompts_per_iteration=48", "generator.chunk_size=4", "generator.max_new_tokens=24"]


def _start_scorer_alone(tmp_path, cache_dir, preset: str, apart: tuple[str, ...], *overrides: str):
    """A started runner and the node of one of its scorers that holds none of the ``apart`` roles. Ray picks
    among feasible nodes at random (a CPU-only buffer lands anywhere), so this restarts up to 4 times."""
    for attempt in range(4):
        run_dir = tmp_path / f"run{attempt}"
        cfg = preset_config(run_dir, cache_dir, preset, *overrides)
        runner = SelfPlayRunner(cfg)
        runner.start()
        placed = _placed(run_dir)
        taken = _nodes(placed, *apart)
        alone = [(role, a["node"]) for role, actors in placed.items() if role.startswith("scorers/") for a in actors
                 if a["node"] not in taken]  # fmt: skip
        if alone:
            return cfg, run_dir, runner, *alone[0]
        runner.shutdown()
    pytest.fail(f"Ray placed every scorer beside one of {apart} on 4 starts; this test needs one apart: {placed}")


def test_a_node_lost_mid_rollout_its_scorer_returns_on_a_surviving_node(gpu_cluster, tmp_path, cache_dir):
    cfg, run_dir, runner, role, victim = _start_scorer_alone(
        tmp_path, cache_dir, "qwen_ladder", ("generators", "learner", "buffer"), f"cluster.address={gpu_cluster.address}",
        *ROLLOUT)  # fmt: skip
    total = 48 * cfg.generator.n_samples
    try:
        runner.initial_stages()
        queued = _remove_mid_rollout(gpu_cluster, runner, victim)
        runner.iterate(0)
        assert len(queued) > 12  # the node went after 6 of the rollout's 12 chunks (the evaluation's came later)
        scorer = ray.get(runner.scorers.workers[role.split("/")[1]][0].placement.remote())
        assert scorer["node"] != victim and len(scorer["gpus"]) == cfg.cluster.scorer_gpus  # back, with its GPU
        samples = pq.read_table(run_dir / "iter_0" / "samples.parquet")
        keys = list(zip(*(samples.column(k).to_pylist() for k in SAMPLE_KEY)))
        assert len(keys) == len(set(keys)) == total  # none lost, none duplicated
        assert samples.column("reward/armorm").null_count == 0
        assert completed_iteration(run_dir) == 0 and runner.generators.policy_versions() == [1]
    finally:
        runner.shutdown()
        if len(gpu_cluster.worker_nodes) < NODES:
            add_gpu_node(gpu_cluster)  # put back the node this test removed, and only then


def test_a_node_lost_mid_rollout_with_no_room_left_fails_naming_what_is_missing(gpu_cluster, tmp_path, cache_dir):
    """paper_difficulty takes all 12 GPUs: its scorers cannot come back, and the rollout says so in time."""
    _, run_dir, runner, _, victim = _start_scorer_alone(
        tmp_path, cache_dir, "paper_difficulty", ("generators", "buffer"), f"cluster.address={gpu_cluster.address}",
        *ROLLOUT, "cluster.restart_timeout_s=10")  # fmt: skip
    try:
        runner.initial_stages()
        _remove_mid_rollout(gpu_cluster, runner, victim)
        started = time.monotonic()
        with pytest.raises(CapacityLostError, match=r"scorer \w+ 0 has been \w+ for \d+ s .*missing: [12] GPUs"):
            runner.iterate(0)
        assert time.monotonic() - started < 60
        assert completed_iteration(run_dir) == -1
    finally:
        runner.shutdown()
        if len(gpu_cluster.worker_nodes) < NODES:
            add_gpu_node(gpu_cluster)


def _iterations(run_dir) -> dict[int, dict]:
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {x["iteration"]: x for x in lines if x["stage"] == "iteration"}


def test_a_node_lost_mid_training_fails_the_run_then_it_resumes_to_the_same_metrics(gpu_cluster, tmp_path, cache_dir):
    """The learner's ranks die with their node: the run fails at once naming rank and node; once a node is
    back, running the same config again resumes after iteration 0 and ends where a run without the loss ends."""
    address = f"cluster.address={gpu_cluster.address}"
    two = [address, "iterations=2", "learner.epochs=10", "learner.timeout_s=60"]
    SelfPlayRunner(preset_config(tmp_path / "straight", cache_dir, "qwen_ladder", *two)).run()
    assert completed_iteration(tmp_path / "straight") == 1

    run_dir = tmp_path / "lost"
    runner = SelfPlayRunner(preset_config(run_dir, cache_dir, "qwen_ladder", *two))
    runner.start()
    try:
        victim = _placed(run_dir)["learner"][1]["node"]
        runner.initial_stages()
        runner.iterate(0)
        learning, real = threading.Event(), runner.learner.train

        def train(*args, **kwargs):
            learning.set()
            return real(*args, **kwargs)

        runner.learner.train = train
        remover = threading.Thread(
            target=lambda: learning.wait() and time.sleep(1) or gpu_cluster.remove_node(node_of(gpu_cluster, victim))
        )
        remover.start()
        started = time.monotonic()
        with pytest.raises(LearnerFailedError, match=rf"learner rank \d on node {victim} died during training"):
            runner.iterate(1)
        assert time.monotonic() - started < 120
        remover.join()
    finally:
        runner.shutdown()
        if len(gpu_cluster.worker_nodes) < NODES:
            add_gpu_node(gpu_cluster)
    assert completed_iteration(run_dir) == 0

    SelfPlayRunner(preset_config(run_dir, cache_dir, "qwen_ladder", *two)).run()
    assert completed_iteration(run_dir) == 1
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [x["resumed_after"] for x in lines if x["stage"] == "resume"] == [0]
    a, b = _iterations(tmp_path / "straight"), _iterations(run_dir)
    for it in (0, 1):
        for key in ("heldout_reward", "loss", "reward_accuracy", "pairs_trained", "grad_norm"):
            assert b[it][key] == pytest.approx(a[it][key], rel=1e-5, abs=1e-6), (it, key)
