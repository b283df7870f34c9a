"""Generator actors and the pool that feeds them prompt chunks.

Each actor wraps one :class:`~spo.rollout.base.Engine`. The pool hands out
chunks round-robin and returns one object reference per chunk, so samples flow
on to the scorers without passing through the driver.

Fault tolerance: actors restart (``max_restarts``) and Ray re-runs the chunks a dead
actor held. Every chunk carries the policy it must be sampled from (version and
checkpoint directory), so a restarted actor, which comes back with its initial
weights, loads the current policy before it generates.
"""

from __future__ import annotations

import warnings

import numpy as np
import ray
import torch

from spo.chat import row_conversation
from spo.cluster.cpus import claim_cpus
from spo.cluster.placement import Placed
from spo.cluster.watch import Watched
from spo.io import load_safetensors_dir
from spo.plugins import ENGINES
from spo.rollout.base import SamplingParams
from spo.rollout.samples import samples_table
from spo.timing import BusyClock


class GeneratorWorker(Placed):
    """One engine in a Ray actor; stamps every sample with its policy version."""

    def __init__(self, engine: str, engine_kwargs: dict, generator_name: str, threads: int, sample_offset: int = 0,
                 cores: tuple[int, ...] = ()):  # fmt: skip
        claim_cpus("generator", threads, cores)
        self.engine = ENGINES.get(engine)(**engine_kwargs)
        self.generator_name = generator_name
        self.sample_offset = sample_offset
        self.policy_version = 0
        self.clock = BusyClock()

    def generate(self, rows: list[dict], iteration: int, sampling: SamplingParams, policy: dict | None = None,
                 first_idx: int = 0):  # fmt: skip
        """Sample ``sampling.n`` responses for each ``{"prompt_id", "prompt", "context"?}`` row, numbered from
        ``first_idx`` (within this pool's own range).

        ``policy`` (``{"version", "path"}``) is the oldest policy the samples may come from; a worker
        serving an older version (a restarted one, or a fresh one on resume) loads it from the checkpoint
        first. A worker already serving a newer version (pushed while this chunk was queued) keeps it.
        """
        self._serve(policy)
        with self.clock.busy():
            completions = self.engine.generate([row_conversation(r) for r in rows], sampling)
            return samples_table(rows, completions, self.generator_name, self.policy_version, iteration,
                                 self.sample_offset + first_idx)  # fmt: skip

    def embed(self, rows: list[dict], policy: dict | None = None) -> np.ndarray:
        """The engine's embedding of each ``{"prompt"}`` row, from ``policy`` (as :meth:`generate`)."""
        self._serve(policy)
        with self.clock.busy():
            return self.engine.embed([row_conversation(r) for r in rows])

    def _serve(self, policy: dict | None) -> None:
        """Load ``policy`` (``{"version", "path"}``) if this worker serves an older version."""
        if policy is not None and policy["version"] > self.policy_version:
            self.load_checkpoint(policy["path"], policy["version"])

    def load_weights(self, named_tensors: list[tuple[str, torch.Tensor | np.ndarray]], version: int) -> int:
        """Load new weights (tensors or read-only NumPy arrays) and adopt ``version``; returns the version served."""
        with warnings.catch_warnings():  # arrays mapped from the object store are read-only; they are only read
            warnings.simplefilter("ignore", UserWarning)
            self.engine.load_weights((name, torch.as_tensor(t)) for name, t in named_tensors)
        self.policy_version = version
        return self.policy_version

    def load_checkpoint(self, path: str, version: int) -> int:
        """Load the safetensors checkpoint at ``path`` as ``version``."""
        return self.load_weights(load_safetensors_dir(path), version)

    def receivers(self) -> int:
        return self.engine.receivers()

    def call_receivers(self, fn, *args) -> list:
        """A weight transport's generator-side step: ``fn(sink, local_rank, *args)`` in each receiving process."""
        return self.engine.call_receivers(fn, *args)

    def receive_weights(self, fn, version: int, *args) -> int:
        """Like :meth:`call_receivers` for a step that loads new weights, then adopt ``version``; returns it."""
        self.engine.call_receivers(fn, *args)
        self.policy_version = version
        return version

    def get_policy_version(self) -> int:
        return self.policy_version

    def take_busy_seconds(self) -> float:
        return self.clock.take()


class GeneratorPool:
    """A group of generator actors that all serve the same policy."""

    def __init__(
        self,
        num_workers: int,
        engine: str,
        engine_kwargs: dict,
        generator_name: str,
        num_cpus: float,
        threads: int,
        sample_offset: int = 0,
        max_restarts: int = 0,
        num_gpus: float = 0,
        cores: tuple[int, ...] = (),
    ):
        """``sample_offset`` shifts this pool's ``sample_idx`` so several pools' samples never collide."""
        actor = ray.remote(GeneratorWorker).options(
            num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=max_restarts, max_task_retries=max_restarts
        )
        self.name = generator_name
        self.num_cpus, self.num_gpus = num_cpus, num_gpus
        self.workers = [
            actor.remote(engine, engine_kwargs, generator_name, threads, sample_offset, cores)
            for _ in range(num_workers)
        ]
        self._next = 0
        self._policy: dict | None = None

    @classmethod
    def from_config(cls, generator, cluster, name: str, engine_kwargs: dict, sample_offset: int = 0,
                    num_workers: int | None = None) -> GeneratorPool:  # fmt: skip
        """A pool for a validated ``generator`` config, placed by the ``cluster`` config's generator resources."""
        return cls(num_workers or generator.num_workers, generator.engine, {**engine_kwargs, **generator.engine_kwargs},
                   generator_name=name, num_cpus=cluster.generator_cpus, threads=cluster.generator_threads,
                   sample_offset=sample_offset, max_restarts=cluster.max_restarts,
                   num_gpus=cluster.generator_gpus, cores=tuple(cluster.generator_cores))  # fmt: skip

    def set_policy(self, version: int, path: str) -> None:
        """From now on, chunks must be sampled from ``version``, whose checkpoint is ``path``."""
        self._policy = {"version": version, "path": path}

    def submit(self, rows: list[dict], iteration: int, sampling: SamplingParams, first_idx: int = 0) -> ray.ObjectRef:
        """Queue one chunk on the next worker (its samples numbered from ``first_idx``); returns a reference to its
        samples table."""
        return self._next_worker().generate.remote(rows, iteration, sampling, self._policy, first_idx)

    def embed(self, rows: list[dict]) -> ray.ObjectRef:
        """A reference to the next worker's embedding of ``rows`` (one vector per prompt)."""
        return self._next_worker().embed.remote(rows, self._policy)

    def _next_worker(self):
        """The workers in turn (round robin)."""
        worker = self.workers[self._next % len(self.workers)]
        self._next += 1
        return worker

    def load_weights(self, weights_ref: ray.ObjectRef, version: int) -> list[int]:
        """Push weights (an object reference) to every worker; wait for all acknowledgements."""
        return ray.get([w.load_weights.remote(weights_ref, version) for w in self.workers])

    def load_checkpoint(self, path: str, version: int) -> list[int]:
        """Every worker loads the checkpoint at ``path`` as ``version``; waits for all acknowledgements."""
        return ray.get([w.load_checkpoint.remote(path, version) for w in self.workers])

    def receivers(self) -> list[int]:
        """How many receiving processes each worker's engine has."""
        return ray.get([w.receivers.remote() for w in self.workers])

    def call_receivers(self, fn, args_per_worker: list[tuple]) -> list[ray.ObjectRef]:
        """References to ``fn`` run in every worker's receivers, worker i with ``args_per_worker[i]``."""
        return [w.call_receivers.remote(fn, *args) for w, args in zip(self.workers, args_per_worker)]

    def receive_weights(self, fn, version: int, *args) -> list[ray.ObjectRef]:
        """References to every worker's acknowledgement (its new version) of weights loaded by ``fn``."""
        return [w.receive_weights.remote(fn, version, *args) for w in self.workers]

    def lagging(self, version: int, wait_s: float = 5.0) -> list[str]:
        """Which workers do not serve ``version``: ``"generator <i> (serves v<k>)"`` or ``"(no answer)"``."""
        refs = [w.get_policy_version.remote() for w in self.workers]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=wait_s)
        out = []
        for i, ref in enumerate(refs):
            served = ray.get(ref) if ref in ready else None
            if served != version:
                out.append(f"{self.name} generator {i} ({'no answer' if served is None else f'serves v{served}'})")
        return out

    def watched(self) -> list[Watched]:
        """Every worker, for an :class:`~spo.cluster.watch.ActorWatch`."""
        cpus, gpus = self.num_cpus, self.num_gpus
        return [Watched(f"{self.name} generator {i}", w, cpus, gpus) for i, w in enumerate(self.workers)]

    def policy_versions(self) -> list[int]:
        return ray.get([w.get_policy_version.remote() for w in self.workers])

    def take_busy_seconds(self) -> float:
        """Largest busy time among the workers since the last call."""
        return max(ray.get([w.take_busy_seconds.remote() for w in self.workers]))

    def shutdown(self) -> None:
        for w in self.workers:
            ray.kill(w)
