"""The learner group: DeepSpeed ranks as Ray actors in one placement group."""

from __future__ import annotations

import contextlib
import time

import ray
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from spo.cluster.resources import placement_bundle
from spo.io import atomic_dir
from spo.learner.config import LearnerConfig
from spo.learner.worker import LearnerWorker


class LearnerFailedError(RuntimeError):
    """A learner rank died, or did not answer within ``learner.timeout_s`` of the first rank that did."""


class LearnerGroup:
    """Drives every rank through the same collective calls.

    Ranks work in lock step, so they answer a call within moments of each other: once one has, the others
    get ``learner.timeout_s`` (also DeepSpeed's collective timeout) before the call fails, naming the ranks
    and their nodes; a rank that dies or raises fails the call at once. A run never hangs on a lost rank.
    """

    def __init__(
        self,
        cfg: LearnerConfig,
        model_path: str,
        num_cpus: float,
        threads: int,
        seed: int,
        num_gpus: float = 0,
        cores: tuple[int, ...] = (),
    ):
        num_ranks = cfg.num_ranks
        bundle = placement_bundle(num_cpus, num_gpus)
        self.pg = placement_group([bundle] * num_ranks, strategy="PACK")
        ray.get(self.pg.ready())
        actor = ray.remote(concurrency_groups={"io": 1})(LearnerWorker)
        self._workers = [
            actor.options(
                num_cpus=num_cpus,
                num_gpus=num_gpus,
                scheduling_strategy=PlacementGroupSchedulingStrategy(self.pg, placement_group_bundle_index=i),
            ).remote(i, num_ranks, threads, cores)
            for i in range(num_ranks)
        ]
        self.timeout_s = cfg.timeout_s
        self.placements = ray.get([w.placement.remote() for w in self._workers])
        self.nodes = [p["node"] for p in self.placements]
        addr, port = ray.get(self._workers[0].address.remote())
        self._setup = [w.setup.remote(addr, port, model_path, cfg, seed) for w in self._workers]

    def ready(self) -> None:
        """Wait for the ranks' set-up (model loading, DeepSpeed), which the constructor only starts, so that a
        caller can use other roles meanwhile. Raises its error, if any."""
        if self._setup:
            self._gather(self._setup, "set-up")
            self._setup = []

    @property
    def workers(self) -> list:
        """The rank actors, once their set-up is done: every call below reaches them through this."""
        self.ready()
        return self._workers

    def _gather(self, refs: list[ray.ObjectRef], what: str) -> list:
        """Every rank's answer to one call (see the class docstring). A rank that fails fails the call at once
        (the others are then stuck in a collective); once one rank is done, the rest have ``timeout_s``."""
        pending, deadline = list(refs), None
        while pending:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, pending = ray.wait(pending, num_returns=1, timeout=timeout)
            if not ready:
                ranks = [refs.index(ref) for ref in pending]
                raise LearnerFailedError(
                    f"learner.timeout_s: rank(s) {ranks} on node(s) {sorted({self.nodes[r] for r in ranks})} did not "
                    f"finish {what} within {self.timeout_s:g}s of the first rank (a stuck collective or a lost node)"
                )
            rank = refs.index(ready[0])
            try:
                ray.get(ready[0])  # a rank's own error (RayTaskError) is raised here, as it is
            except ray.exceptions.RayActorError as exc:
                raise LearnerFailedError(f"learner rank {rank} on node {self.nodes[rank]} died during {what}: "
                                         f"{type(exc).__name__}") from exc  # fmt: skip
            deadline = deadline or time.monotonic() + self.timeout_s
        return ray.get(refs)

    def train(self, pairs_ref: ray.ObjectRef, iteration: int, sampler: tuple[str, int] | None = None) -> dict:
        """Train on the pairs behind ``pairs_ref``; returns the group's metrics.

        ``sampler``: the policy's generator and version, whose log-probs may serve as the reference.
        """
        return self._gather([w.train.remote(pairs_ref, iteration, sampler) for w in self.workers], "training")[0]

    def pair_logprobs(self, pairs_ref: ray.ObjectRef, with_reference: bool) -> list[ray.ObjectRef]:
        """References to each rank's log-prob table over its share of the candidate pairs."""
        refs = [w.pair_logprobs.remote(pairs_ref, with_reference) for w in self.workers]
        self._gather(refs, "log-probs")
        return refs

    def call(self, fn, *args) -> list[ray.ObjectRef]:
        """References to ``fn(worker, *args)`` on every rank (a weight transport's learner-side step)."""
        return [w.call.remote(fn, *args) for w in self.workers]

    def rendezvous(self) -> tuple[str, int]:
        """Host and free port on rank 0's node, for a transport's own process group."""
        return ray.get(self.workers[0].address.remote())

    def parameter_specs(self) -> list[tuple[str, tuple[int, ...], str]]:
        """``(name, full shape, dtype)`` of every parameter, in order."""
        return ray.get(self.workers[0].parameter_specs.remote())

    def save_state(self, path: str) -> StateSave:
        """Start saving every rank's training state into ``path``, atomically (ranks write to a temporary
        sibling); :meth:`StateSave.wait` finishes it. A rank runs its calls in order, but only copies its state
        in memory before taking the next (the next training step): the files are written meanwhile.

        On several nodes ``path`` must be on storage that every rank and the driver share.
        """
        return StateSave(self, path)

    def load_state(self, path: str) -> None:
        """Restore every rank's training state from ``path``."""
        self._gather([w.load_state.remote(path) for w in self.workers], "loading state")

    def save_checkpoint(self, path: str) -> None:
        self._gather([w.save_checkpoint.remote(path) for w in self.workers], "saving the checkpoint")

    def shutdown(self) -> None:
        for w in self._workers:
            ray.kill(w)
        remove_placement_group(self.pg)


class StateSave:
    """A training-state save under way on every rank of a :class:`LearnerGroup`."""

    def __init__(self, group: LearnerGroup, path: str):
        self.group, self.path = group, path
        self._dir = contextlib.ExitStack()
        tmp = self._dir.enter_context(atomic_dir(path))
        self._refs = [w.save_state.remote(str(tmp)) for w in group.workers]

    def wait(self) -> float:
        """Wait for every rank's copy and then its files, then move the directory into place (on failure,
        remove it and raise); returns the seconds waited."""
        start = time.perf_counter()
        with self._dir:
            self.group._gather(self._refs, "saving state")
            self.group._gather([w.state_written.remote() for w in self.group.workers], "writing state")
        return time.perf_counter() - start

    def discard(self) -> None:
        """Remove the partial directory of a save that will not be waited for (the run is stopping)."""
        with contextlib.suppress(RuntimeError), self._dir:
            raise RuntimeError("discarded")  # leaving atomic_dir with an error removes the directory
