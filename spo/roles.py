"""Starting every role of a run from its validated config, and stopping them again."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import ray

from spo.buffer.replay_buffer import ReplayBuffer
from spo.cluster.watch import ActorWatch
from spo.config import Config
from spo.eval.pairwise import PairwiseJudge
from spo.learner.group import LearnerGroup
from spo.plugins import TRANSPORTS
from spo.reward.base import ScorerContext
from spo.reward.pool import ScorerPool
from spo.rollout.pool import GeneratorPool
from spo.sync.base import WeightTransport
from spo.tracking.base import build_trackers

log = logging.getLogger(__name__)


@dataclass
class Roles:
    """The run's role groups: what the controller drives."""

    generators: GeneratorPool
    extra_pools: list[GeneratorPool]
    scorers: ScorerPool
    buffer: ray.actor.ActorHandle
    learner: LearnerGroup
    transport: WeightTransport
    pairwise_judge: ray.actor.ActorHandle | None = None
    trackers: list = field(default_factory=list)

    def placement(self) -> dict[str, list[dict]]:
        """Where every actor runs, by role (:func:`spo.cluster.placement.here`)."""
        groups = {f"generators/{p.name}": p.workers for p in [self.generators, *self.extra_pools]}
        groups.update({f"scorers/{name}": ws for name, ws in self.scorers.workers.items()})
        groups.update(buffer=[self.buffer])
        found = {role: ray.get([w.placement.remote() for w in workers]) for role, workers in groups.items()}
        return {**found, "learner": self.learner.placements}  # known without waiting for the ranks' set-up

    def watch(self, timeout_s: float) -> ActorWatch:
        """A watch over the actors a rollout waits on (generators and scorers), which Ray restarts."""
        pools = [self.generators, *self.extra_pools, self.scorers]
        return ActorWatch([w for pool in pools for w in pool.watched()], timeout_s)

    def shutdown(self) -> None:
        """Stop every role's actors: in a Ray session that outlives the run (a sweep, a notebook, a test
        suite) nothing of the run stays behind holding memory and a CPU share."""
        if self.pairwise_judge is not None:
            ray.kill(self.pairwise_judge)
        ray.kill(self.buffer)
        for pool in [*self.extra_pools, self.generators]:
            pool.shutdown()
        self.scorers.shutdown()
        self.learner.shutdown()


def start_roles(cfg: Config, model_path: str, extra_paths: dict[str, str]) -> Roles:
    """Start every role on the connected Ray cluster (the layout was checked to fit)."""
    cl, g, lr = cfg.cluster, cfg.generator, cfg.learner
    log.info("starting %d %s generator(s), %d scorer(s) and the buffer", g.num_workers, g.engine,
             sum(s.num_workers for s in cfg.reward.scorers.values()))  # fmt: skip
    engine = {"model_path": model_path, "trust_remote_code": cfg.model.trust_remote_code}
    generators = GeneratorPool.from_config(g, cl, cfg.model.name, engine)
    extra_pools = [
        GeneratorPool.from_config(g, cl, name, {**engine, "model_path": extra_paths[name]},
                                  sample_offset=(k + 1) * g.n_samples, num_workers=pool.num_workers)
        for k, (name, pool) in enumerate(g.extra_pools.items())
    ]  # fmt: skip
    scorers = ScorerPool.from_config(cfg.reward, cl, ScorerContext(model_path, g.engine))
    buffer = ray.remote(ReplayBuffer).options(num_cpus=cl.buffer_cpus).remote(cfg)
    log.info("starting the learner: %d DeepSpeed rank(s), ZeRO stage %d", lr.num_ranks, lr.zero_stage)
    learner = LearnerGroup(cfg.learner, model_path, cl.learner_cpus, cl.learner_threads, cfg.seed, cl.learner_gpus,
                           tuple(cl.learner_cores))  # fmt: skip
    judge = None
    if cfg.eval.pairwise_judge is not None:
        path = str(Path(cfg.eval.pairwise_judge).expanduser())
        judge = ray.remote(PairwiseJudge).options(num_cpus=cl.scorer_cpus).remote(path, g.engine)
    transport = TRANSPORTS.get(cfg.sync.transport)(cfg.sync)
    trackers = build_trackers(cfg.tracking, Path(cfg.run_dir), cfg.run_name, asdict(cfg))
    return Roles(generators, extra_pools, scorers, buffer, learner, transport, judge, trackers)
