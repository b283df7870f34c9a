"""Connecting to Ray: a given address (``ray job submit`` sets RAY_ADDRESS) or a local cluster."""

from __future__ import annotations

import logging
import os

import ray

from spo.cluster.config import ClusterConfig
from spo.paths import torch_extensions_dir

log = logging.getLogger(__name__)


def actor_env(cache_dir: str) -> dict[str, str]:
    """Environment for every actor: the JIT-op cache, and quiet logs (the driver's values win)."""
    defaults = {
        "TORCH_EXTENSIONS_DIR": torch_extensions_dir(cache_dir),
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "PYTHONWARNINGS": "ignore::FutureWarning",
    }
    passthrough = ("HF_HUB_OFFLINE",)
    env = {k: os.environ.get(k, v) for k, v in defaults.items()}
    env.update({k: os.environ[k] for k in passthrough if k in os.environ})
    return env


def connect(cluster: ClusterConfig, cache_dir: str) -> bool:
    """Initialise Ray unless already initialised; returns True when this call started a local cluster."""
    if ray.is_initialized():
        return False
    env = actor_env(cache_dir)
    address = cluster.address or os.environ.get("RAY_ADDRESS")
    if address:
        log.info("connecting to Ray at %s", address)
        # Under `ray job submit` the job's runtime env already reaches the driver's environment, and
        # Ray refuses to merge a second value for the same key: add only what the job left unset.
        missing = {k: v for k, v in env.items() if k not in os.environ}
        ray.init(address=address, runtime_env={"env_vars": missing} if missing else None)
        return False
    num_cpus = cluster.num_cpus or os.cpu_count()
    log.info("starting a local Ray cluster with %s CPUs", num_cpus)
    # address="local": a fresh cluster, even if `ray start` left one on this machine (a bare
    # ray.init() would silently join that one instead).
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, runtime_env={"env_vars": env})
    return True


def live_nodes(address: str | None) -> list[tuple[float, float]]:
    """``(CPUs, GPUs)`` of every live node of the running cluster at ``address`` (or ``RAY_ADDRESS`` /
    the local ``ray start`` one); joins it only to read them, starting nothing."""
    ray.init(address=address or "auto", logging_level="ERROR", log_to_driver=False)
    try:
        return [(n["Resources"].get("CPU", 0.0), n["Resources"].get("GPU", 0.0)) for n in ray.nodes() if n["Alive"]]
    finally:
        ray.shutdown()
