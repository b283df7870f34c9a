"""Connecting to Ray: a given address (``ray job submit`` sets RAY_ADDRESS) or a local cluster."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import ray

from spo.config import ClusterConfig, ConfigError

log = logging.getLogger(__name__)


def actor_env(cache_dir: str) -> dict[str, str]:
    """Environment for every actor: the JIT-op cache, and quiet logs (the driver's values win)."""
    defaults = {
        "TORCH_EXTENSIONS_DIR": str(Path(cache_dir).expanduser() / "torch_extensions"),
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


def required_cpus(cfg) -> dict[str, float]:
    """Logical CPUs each role asks Ray for."""
    cl = cfg.cluster
    generator_workers = cfg.generator.num_workers + sum(p.num_workers for p in cfg.generator.extra_pools.values())
    scorer_workers = sum(s.num_workers for s in cfg.reward.scorers.values()) + (cfg.eval.pairwise_judge is not None)
    return {
        "generators": cl.generator_cpus * generator_workers,
        "scorers": cl.scorer_cpus * scorer_workers,
        "learner": cl.learner_cpus * cfg.learner.num_ranks,
        "buffer": cl.buffer_cpus,
    }


def required_gpus(cfg) -> dict[str, float]:
    """GPUs each role asks Ray for."""
    cl = cfg.cluster
    generator_workers = cfg.generator.num_workers + sum(p.num_workers for p in cfg.generator.extra_pools.values())
    scorer_workers = sum(s.num_workers for s in cfg.reward.scorers.values())
    return {
        "generators": cl.generator_gpus * generator_workers,
        "scorers": cl.scorer_gpus * scorer_workers,
        "learner": cl.learner_gpus * cfg.learner.num_ranks,
    }


def check_fits(cfg, available_cpus: float, available_gpus: float = 0.0) -> None:
    """Refuse a layout the cluster cannot hold, before any actor starts (it would wait forever)."""
    gpus = required_gpus(cfg)
    if sum(gpus.values()) > available_gpus + 1e-9:
        parts = ", ".join(f"{role} {n:g}" for role, n in gpus.items() if n)
        raise ConfigError(
            f"cluster: the roles need {sum(gpus.values()):g} GPUs ({parts}) but the Ray cluster has "
            f"{available_gpus:g}; {sum(gpus.values()) - available_gpus:g} missing: add GPU nodes or lower "
            "cluster.generator_gpus / scorer_gpus / learner_gpus"
        )
    need = required_cpus(cfg)
    total = sum(need.values())
    if total > available_cpus + 1e-9:
        parts = ", ".join(f"{role} {cpus:g}" for role, cpus in need.items())
        raise ConfigError(
            f"cluster: the roles need {total:g} CPUs ({parts}) but the Ray cluster has {available_cpus:g}; lower "
            "cluster.generator_cpus / scorer_cpus / learner_cpus, use fewer workers, or add nodes"
        )
