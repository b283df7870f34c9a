"""Scorer actors and the pool that chains them over sample chunks.

Each configured scorer has its own actors. A chunk reference passes through
every scorer in turn, each adding its ``reward/<name>`` column; the driver
only ever holds references.
"""

from __future__ import annotations

import pyarrow as pa
import ray
import torch

from spo.reward.base import SCORERS
from spo.reward.judge import Judge
from spo.schemas import reward_col
from spo.timing import BusyClock


class ScorerWorker:
    """One scorer backend in a Ray actor."""

    def __init__(self, name: str, backend: str, kwargs: dict, threads: int):
        torch.set_num_threads(threads)
        self.name = name
        self.scorer = SCORERS.get(backend)(**kwargs)
        self.clock = BusyClock()

    def score(self, table: pa.Table) -> pa.Table:
        """Return ``table`` with ``reward/<name>`` appended (and ``judge/<dim>`` columns for judges).

        A judge's reward is the mean of the dimensions it scored, null where it scored none.
        """
        with self.clock.busy():
            prompts, responses = table.column("prompt").to_pylist(), table.column("response").to_pylist()
            if isinstance(self.scorer, Judge):
                scores = self.scorer.judge(prompts, responses)
                for dim, values in scores.items():
                    table = table.append_column(f"judge/{dim}", pa.array(values, pa.int64()))
                per_sample = [[v for v in vals if v is not None] for vals in zip(*scores.values())]
                rewards = [sum(v) / len(v) if v else None for v in per_sample]
            else:
                rewards = self.scorer.score(prompts, responses)
            if len(rewards) != table.num_rows:
                raise ValueError(f"scorer {self.name!r} returned {len(rewards)} rewards for {table.num_rows} samples")
            return table.append_column(pa.field(reward_col(self.name), pa.float64()), pa.array(rewards, pa.float64()))

    def take_busy_seconds(self) -> float:
        return self.clock.take()


class ScorerPool:
    """All scorers' actors; :meth:`submit` runs a chunk through each scorer."""

    def __init__(self, scorers: dict[str, dict], num_cpus: float, threads: int):
        """``scorers`` maps name -> ``{"backend", "num_workers", "kwargs"}``."""
        actor = ray.remote(ScorerWorker).options(num_cpus=num_cpus)
        self.names = list(scorers)
        self.workers = {
            name: [actor.remote(name, spec["backend"], spec["kwargs"], threads) for _ in range(spec["num_workers"])]
            for name, spec in scorers.items()
        }
        self._next = 0

    def submit(self, samples_ref: ray.ObjectRef) -> ray.ObjectRef:
        """Score one chunk with every scorer; returns a reference to the scored table."""
        ref = samples_ref
        for name in self.names:
            group = self.workers[name]
            ref = group[self._next % len(group)].score.remote(ref)
        self._next += 1
        return ref

    def take_busy_seconds(self) -> float:
        """Busy seconds summed over scorers (each scorer's busiest worker)."""
        return sum(max(ray.get([w.take_busy_seconds.remote() for w in group])) for group in self.workers.values())

    def shutdown(self) -> None:
        for group in self.workers.values():
            for w in group:
                ray.kill(w)
