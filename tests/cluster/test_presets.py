"""The GPU presets' layouts on a simulated multi-node cluster: raylets on this machine, each a node with
logical GPUs that Ray schedules and assigns (``CUDA_VISIBLE_DEVICES``), roles computing on CPU with tiny
stand-ins (``cluster.simulate_gpus``). One short iteration per preset; where every actor ran is read
from the run's ``placement.json``."""

import json
import math
import sys
import threading
import time
from collections import Counter

import pytest
import ray
from conftest import CONF_DIR
from hydra import compose, initialize_config_dir
from ray.cluster_utils import Cluster
from safetensors.torch import load_file

from spo.config import register, to_config
from spo.learner.group import LearnerFailedError
from spo.runner import SelfPlayRunner

pytestmark = pytest.mark.cluster
register()
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # _digest runs in the engines

NODES, GPUS_PER_NODE, CPUS_PER_NODE = 3, 4, 32
SMALL = ["iterations=1", "prompts_per_iteration=16", "task.n_train=48", "task.n_heldout=8", "generator.max_new_tokens=8",
         "generator.chunk_size=8", "learner.micro_batch_size=1", "learner.grad_accum=1", "tracking.backends=[]",
         "cluster.simulate_gpus=true"]  # fmt: skip


@pytest.fixture(scope="module")
def gpu_cluster():
    """A head that holds the driver only (no CPUs, no GPUs), and three 4-GPU worker nodes."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": 200 * 2**20})
    for _ in range(NODES):
        cluster.add_node(num_cpus=CPUS_PER_NODE, num_gpus=GPUS_PER_NODE, object_store_memory=200 * 2**20)
    cluster.wait_for_nodes()
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def test_plan_reads_the_running_cluster(gpu_cluster, capsys):
    from spo.cli import main

    ray.shutdown()  # plan joins the cluster only to read its nodes
    assert main(["plan", "experiment=paper_difficulty", "--address", gpu_cluster.address, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted((n["cpus"], n["gpus"]) for n in data["nodes"]) == [(0, 0)] + [(CPUS_PER_NODE, GPUS_PER_NODE)] * 3
    assert data["fits"] and len(set(next(r for r in data["roles"] if r["role"] == "learner")["nodes"])) == 2


def preset_config(run_dir, cache_dir, preset: str, *overrides: str):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        dcfg = compose("config", overrides=[f"experiment={preset}", f"run_dir={run_dir}", f"cache_dir={cache_dir}",
                                            *SMALL, *overrides])  # fmt: skip
    return to_config(dcfg)


def _digest(sink, _rank) -> float:
    return float(sum(p.double().sum() for p in sink.model.parameters()))  # tied weights once, as saved


def _run(tmp_path, cache_dir, address, preset, *extra):
    run_dir = tmp_path / preset
    cfg = preset_config(run_dir, cache_dir, preset, f"cluster.address={address}", *extra)
    runner = SelfPlayRunner(cfg)
    runner.start()
    try:
        runner.initial_stages()
        runner.iterate(0)
        runner.pipeline.finish()
        digests = ray.get(runner.generators.call_receivers(_digest, [()] * len(runner.generators.workers)))
        versions = runner.generators.policy_versions()
    finally:
        runner.shutdown()
    return cfg, run_dir, [d[0] for d in digests], versions


@pytest.mark.parametrize("preset", ["onpolicy_ultrafeedback_armorm", "instruct_8b", "qwen_ladder", "paper_difficulty",
                                    "paper_capacity"])  # fmt: skip
def test_a_gpu_preset_runs_an_iteration_on_its_layout(gpu_cluster, tmp_path, cache_dir, preset):
    cfg, run_dir, digests, versions = _run(tmp_path, cache_dir, gpu_cluster.address, preset)
    placed = json.loads((run_dir / "placement.json").read_text())
    per_actor = {"generators": cfg.cluster.generator_gpus, "scorers": cfg.cluster.scorer_gpus,
                 "learner": cfg.cluster.learner_gpus, "buffer": 0}  # fmt: skip
    head = gpu_cluster.head_node.node_id
    used = Counter()
    for role, actors in placed.items():
        for a in actors:
            assert len(a["gpus"]) == per_actor[role.split("/")[0]], (role, a)  # the role's GPUs, assigned by Ray
            assert a["node"] != head  # the head holds the driver only
            if a["gpus"]:
                assert sorted(a["cuda_visible_devices"].split(",")) == sorted(a["gpus"])
            used.update((a["node"], g) for g in a["gpus"])
    assert used and max(used.values()) == 1  # no two actors share a GPU (colocate is off)
    learner_nodes = {a["node"] for a in placed["learner"]}
    assert len(placed["learner"]) == cfg.learner.num_ranks
    assert len(learner_nodes) >= math.ceil(cfg.learner.num_ranks * cfg.cluster.learner_gpus / GPUS_PER_NODE)
    # the pushed weights (version 1) reached every engine: each equals the checkpoint the learner saved
    saved = load_file(run_dir / "checkpoints" / "iter_0" / "model.safetensors")
    assert versions == [1] * cfg.generator.num_workers
    assert digests == pytest.approx([float(sum(t.double().sum() for t in saved.values()))] * len(digests), rel=1e-6)
    metrics = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert any(m["stage"] == "iteration" for m in metrics)


def test_losing_a_node_mid_training_fails_the_run_naming_the_rank_and_node(gpu_cluster, tmp_path, cache_dir):
    """The learner's ranks on a removed node die; the run fails at once with the rank and node named, never hangs."""
    cfg = preset_config(tmp_path / "run", cache_dir, "qwen_ladder", f"cluster.address={gpu_cluster.address}",
                        "learner.epochs=40", "learner.timeout_s=60")  # fmt: skip
    runner = SelfPlayRunner(cfg)
    runner.start()
    try:
        placed = json.loads((tmp_path / "run" / "placement.json").read_text())
        victim = placed["learner"][1]["node"]
        node = next(n for n in gpu_cluster.list_all_nodes() if n.node_id == victim)
        runner.initial_stages()
        learning = threading.Event()
        real = runner.learner.train

        def train(*args, **kwargs):
            learning.set()
            return real(*args, **kwargs)

        runner.learner.train = train
        killer = threading.Thread(target=lambda: learning.wait() and time.sleep(3) or gpu_cluster.remove_node(node))
        killer.start()
        started = time.monotonic()
        with pytest.raises(LearnerFailedError, match=rf"learner rank \d on node {victim} died during training"):
            runner.iterate(0)
        assert time.monotonic() - started < 120
        killer.join()
    finally:
        runner.shutdown()
        gpu_cluster.add_node(num_cpus=CPUS_PER_NODE, num_gpus=GPUS_PER_NODE, object_store_memory=200 * 2**20)
