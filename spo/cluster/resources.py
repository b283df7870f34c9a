"""What each role asks the cluster for, and refusing a layout the cluster cannot hold (pure; no Ray)."""

from __future__ import annotations

from spo.errors import ConfigError


def placement_bundle(cpus: float, gpus: float) -> dict:
    """One actor's placement-group bundle: its CPUs, and its GPUs when it has any."""
    return {"CPU": cpus, **({"GPU": gpus} if gpus else {})}


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
