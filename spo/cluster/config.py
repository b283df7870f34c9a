"""The cluster's config (ray-free): the Ray address and per-role resources."""

from __future__ import annotations

from dataclasses import dataclass, field

from spo.errors import require

ROLES = ("generator", "scorer", "learner")


@dataclass
class ClusterConfig:
    """Ray connection and per-role resources (CPUs are logical Ray resources).

    A dead generator or scorer actor is restarted up to ``max_restarts`` times, and the
    chunks it held are run again; a rollout waiting on one that stays down (its node died and no
    node has room for it) fails after ``restart_timeout_s``, naming what is missing. ``*_gpus`` are
    GPUs per actor (a vLLM engine needs its ``tensor_parallel_size``); roles never share a GPU
    (whole GPUs only) unless ``colocate``.
    ``*_cores`` pin each of a role's actors to those CPU ids of its node (none: the OS schedules them), so
    that on one machine each role owns its cores as it owns its GPUs on a cluster (the overlap benchmark's
    split layout); a role's threads beyond its cores would only queue.
    ``simulate_gpus`` (tests only) keeps the layout on logical GPUs with CPU stand-ins
    (:mod:`spo.cluster.simulate`).
    """

    address: str | None = None
    num_cpus: int | None = None
    generator_cpus: float = 1.0
    scorer_cpus: float = 0.25
    learner_cpus: float = 0.25
    buffer_cpus: float = 0.0
    generator_threads: int = 2
    learner_threads: int = 1
    scorer_threads: int = 1
    generator_cores: list[int] = field(default_factory=list)
    scorer_cores: list[int] = field(default_factory=list)
    learner_cores: list[int] = field(default_factory=list)
    max_restarts: int = 3
    restart_timeout_s: float = 300.0
    generator_gpus: float = 0.0
    scorer_gpus: float = 0.0
    learner_gpus: float = 0.0
    colocate: bool = False
    simulate_gpus: bool = False

    def validate(self, key: str = "cluster") -> None:
        require(self.max_restarts >= 0, f"{key}.max_restarts", "must be >= 0")
        require(self.restart_timeout_s > 0, f"{key}.restart_timeout_s", "must be > 0")
        for role in ROLES:
            cores = getattr(self, f"{role}_cores")
            require(all(isinstance(c, int) and c >= 0 for c in cores), f"{key}.{role}_cores",
                    f"must be CPU ids (integers >= 0), got {cores}")  # fmt: skip
            require(len(set(cores)) == len(cores), f"{key}.{role}_cores", f"lists a core twice: {cores}")
            gpus = getattr(self, f"{role}_gpus")
            require(gpus >= 0, f"{key}.{role}_gpus", f"must be >= 0, got {gpus}")
            require(
                self.colocate or gpus == int(gpus),
                f"{key}.{role}_gpus",
                f"{gpus} is a fraction of a GPU, which would share it with another role; use whole GPUs or "
                "set cluster.colocate=true",
            )
