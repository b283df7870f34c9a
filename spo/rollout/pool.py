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
import pyarrow as pa
import ray
import torch

from spo.io import load_safetensors_dir
from spo.rollout.base import ENGINES, SamplingParams
from spo.schemas import generated_schema
from spo.timing import BusyClock


class GeneratorWorker:
    """One engine in a Ray actor; stamps every sample with its policy version."""

    def __init__(self, engine: str, engine_kwargs: dict, generator_name: str, threads: int, sample_offset: int = 0):
        torch.set_num_threads(threads)
        self.engine = ENGINES.get(engine)(**engine_kwargs)
        self.generator_name = generator_name
        self.sample_offset = sample_offset
        self.policy_version = 0
        self.clock = BusyClock()

    def generate(self, rows: list[dict], iteration: int, sampling: SamplingParams, policy: dict | None = None):
        """Sample ``sampling.n`` responses for each ``{"prompt_id", "prompt"}`` row.

        ``policy`` (``{"version", "path"}``) is the policy the samples must come from; a worker
        serving an older version (a restarted one) loads it from the checkpoint first.
        """
        if policy is not None and policy["version"] != self.policy_version:
            self.load_checkpoint(policy["path"], policy["version"])
        with self.clock.busy():
            completions = self.engine.generate([r["prompt"] for r in rows], sampling)
            out = {name: [] for name in generated_schema().names}
            for row, comps in zip(rows, completions):
                for idx, c in enumerate(comps):
                    out["prompt_id"].append(row["prompt_id"])
                    out["prompt"].append(row["prompt"])
                    out["response"].append(c.text)
                    out["sample_idx"].append(self.sample_offset + idx)
                    out["generator"].append(self.generator_name)
                    out["policy_version"].append(self.policy_version)
                    out["iteration"].append(iteration)
                    out["n_tokens"].append(c.n_tokens)
                    out["logprob_sum"].append(c.logprob_sum)
                    out["finish_reason"].append(c.finish_reason)
                    out["score_error"].append(None)
            return pa.Table.from_pydict(out, schema=generated_schema())

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

    def weight_group_size(self) -> int:
        return self.engine.weight_group_size()

    def join_weight_group(self, host: str, port: int, first_rank: int, world_size: int, backend: str) -> None:
        self.engine.join_weight_group(host, port, first_rank, world_size, backend)

    def in_weight_group(self) -> bool:
        return self.engine.in_weight_group()

    def receive_weights(self, plan: list, version: int) -> int:
        """Receive a bucketed broadcast and adopt ``version``; returns the version now served."""
        self.engine.receive_weights(plan)
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
    ):
        """``sample_offset`` shifts this pool's ``sample_idx`` so several pools' samples never collide."""
        actor = ray.remote(GeneratorWorker).options(
            num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=max_restarts, max_task_retries=max_restarts
        )
        self.name = generator_name
        self.workers = [
            actor.remote(engine, engine_kwargs, generator_name, threads, sample_offset) for _ in range(num_workers)
        ]
        self._next = 0
        self._policy: dict | None = None

    def set_policy(self, version: int, path: str) -> None:
        """From now on, chunks must be sampled from ``version``, whose checkpoint is ``path``."""
        self._policy = {"version": version, "path": path}

    def submit(self, rows: list[dict], iteration: int, sampling: SamplingParams) -> ray.ObjectRef:
        """Queue one chunk on the next worker; returns a reference to its samples table."""
        worker = self.workers[self._next % len(self.workers)]
        self._next += 1
        return worker.generate.remote(rows, iteration, sampling, self._policy)

    def load_weights(self, weights_ref: ray.ObjectRef, version: int) -> list[int]:
        """Push weights (an object reference) to every worker; wait for all acknowledgements."""
        return ray.get([w.load_weights.remote(weights_ref, version) for w in self.workers])

    def load_checkpoint(self, path: str, version: int) -> list[int]:
        """Every worker loads the checkpoint at ``path`` as ``version``; waits for all acknowledgements."""
        return ray.get([w.load_checkpoint.remote(path, version) for w in self.workers])

    def weight_group_sizes(self) -> list[int]:
        return ray.get([w.weight_group_size.remote() for w in self.workers])

    def join_weight_group(self, host: str, port: int, first_ranks: list[int], world: int, backend: str) -> list:
        """References to every worker joining the weight-push group (worker i from rank ``first_ranks[i]``)."""
        return [w.join_weight_group.remote(host, port, r, world, backend) for w, r in zip(self.workers, first_ranks)]

    def in_weight_group(self) -> list[bool]:
        return ray.get([w.in_weight_group.remote() for w in self.workers])

    def receive_weights(self, plan: list, version: int) -> list:
        """References to every worker's acknowledgement (its new version) of a bucketed push."""
        return [w.receive_weights.remote(plan, version) for w in self.workers]

    def policy_versions(self) -> list[int]:
        return ray.get([w.get_policy_version.remote() for w in self.workers])

    def take_busy_seconds(self) -> float:
        """Largest busy time among the workers since the last call."""
        return max(ray.get([w.take_busy_seconds.remote() for w in self.workers]))

    def shutdown(self) -> None:
        for w in self.workers:
            ray.kill(w)
