"""The GPU presets' layouts on a simulated multi-node cluster: raylets on this machine, each a node with
logical GPUs that Ray schedules and assigns (``CUDA_VISIBLE_DEVICES``), roles computing on CPU with tiny
stand-ins (``cluster.simulate_gpus``). One short iteration per preset; where every actor ran is read
from the run's ``placement.json``."""

import json
import math
import sys
from collections import Counter

import pytest
import ray
from conftest import CPUS_PER_NODE, GPUS_PER_NODE
from safetensors.torch import load_file
from simulated import preset_config

from spo.runner import SelfPlayRunner

pytestmark = pytest.mark.cluster
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # _digest runs in the engines


def test_plan_reads_the_running_cluster(gpu_cluster, capsys):
    from spo.cli import main

    ray.shutdown()  # plan joins the cluster only to read its nodes
    assert main(["plan", "experiment=paper_difficulty", "--address", gpu_cluster.address, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted((n["cpus"], n["gpus"]) for n in data["nodes"]) == [(0, 0)] + [(CPUS_PER_NODE, GPUS_PER_NODE)] * 3
    assert data["fits"] and len(set(next(r for r in data["roles"] if r["role"] == "learner")["nodes"])) == 2


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
