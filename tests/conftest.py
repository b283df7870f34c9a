"""Shared fixtures (offline HF, the tiny policy and reward model, one local Ray cluster) and actor helpers."""

from __future__ import annotations

import os
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import pytest  # noqa: E402
import ray  # noqa: E402

from spo.assets.tiny import TinySpec, build_tiny_reward_model, ensure_tiny_policy  # noqa: E402

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def actor_pid(actor) -> int:
    """The process id of a live actor."""
    return ray.get(actor.__ray_call__.remote(lambda self: os.getpid()))


def wait_restarted(actor, old_pid: int, timeout: float = 120.0) -> None:
    """ray.kill is asynchronous: poll until a new process answers, so no call lands on the dying one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if actor_pid(actor) != old_pid:
                return
        except ray.exceptions.RayActorError:
            pass  # dead and not yet back
        time.sleep(0.2)
    raise AssertionError(f"actor was not restarted within {timeout:.0f} s")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spo-cache")


@pytest.fixture(scope="session")
def tiny_policy(cache_dir) -> str:
    """The default tiny policy, built offline into a temporary cache."""
    return str(ensure_tiny_policy(cache_dir, TinySpec()))


@pytest.fixture(scope="session")
def tiny_classifier(tiny_policy, tmp_path_factory) -> str:
    """A randomly initialised one-label Llama reward model sharing the tiny tokenizer."""
    return str(build_tiny_reward_model(tiny_policy, tmp_path_factory.mktemp("tiny-rm")))


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster for the whole session (2 CPUs, as in CI)."""
    import ray

    from spo.cluster.connect import actor_env

    ray.init(address="local", num_cpus=2, include_dashboard=False, runtime_env={"env_vars": actor_env("~/.cache/spo")})
    yield
    ray.shutdown()


NODES, GPUS_PER_NODE, CPUS_PER_NODE = 3, 4, 32  # the simulated cluster (tests/cluster)


def add_gpu_node(cluster):
    """One more simulated worker node: a raylet with 4 logical GPUs."""
    return cluster.add_node(num_cpus=CPUS_PER_NODE, num_gpus=GPUS_PER_NODE, object_store_memory=200 * 2**20)


@pytest.fixture(scope="module")
def gpu_cluster():
    """A simulated cluster (Ray's ``cluster_utils``): a head with no CPUs and no GPUs, which holds the
    driver only, and three 4-GPU worker raylets on this machine."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": 200 * 2**20})
    for _ in range(NODES):
        add_gpu_node(cluster)
    cluster.wait_for_nodes()
    yield cluster
    ray.shutdown()
    cluster.shutdown()
