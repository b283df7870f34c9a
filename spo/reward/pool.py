"""Scorer actors and the pool that chains them over sample chunks.

Each configured scorer has its own actors. A chunk reference passes through
every scorer in turn, each adding its ``reward/<name>`` column; the driver
only ever holds references.
"""

from __future__ import annotations

import math

import pyarrow as pa
import ray
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from spo.chat import row_conversation
from spo.cluster.cpus import claim_cpus
from spo.cluster.placement import Placed
from spo.cluster.resources import placement_bundle
from spo.cluster.watch import Watched
from spo.plugins import SCORERS
from spo.reward.base import ScorerContext
from spo.schemas import reward_col
from spo.timing import BusyClock


class ScorerWorker(Placed):
    """One scorer backend in a Ray actor."""

    def __init__(self, name: str, backend: str, kwargs: dict, threads: int, cores: tuple[int, ...] = ()):
        claim_cpus("scorer", threads, cores)
        self.name = name
        self.scorer = SCORERS.get(backend)(**kwargs)
        self.clock = BusyClock()

    def score(self, table: pa.Table) -> pa.Table:
        """Return ``table`` with ``reward/<name>`` appended (and ``judge/<dim>`` columns for judges).

        A judge's reward is the mean of the dimensions it scored, null where it scored none. If the
        scorer raises on the chunk, each sample is scored alone; a sample that still fails, or
        whose reward is NaN/inf, gets a null reward and its reason in ``score_error``.
        """
        with self.clock.busy():
            rows = table.select(["prompt", "context"]).to_pylist()
            prompts = [row_conversation(r) if self.scorer.conversational else r["prompt"] for r in rows]
            responses = table.column("response").to_pylist()
            finish = table.column("finish_reason").to_pylist()
            errors = [None] * table.num_rows
            try:
                columns = self._columns(prompts, responses, finish)
            except Exception:
                columns, errors = self._columns_one_by_one(prompts, responses, finish)
            rewards = columns.pop("reward")
            if len(rewards) != table.num_rows:
                raise ValueError(f"scorer {self.name!r} returned {len(rewards)} rewards for {table.num_rows} samples")
            for i, r in enumerate(rewards):
                if errors[i] is None and r is not None and not math.isfinite(r) and not self.is_judge:
                    errors[i] = f"{self.name}: non-finite reward {r}"
            for name, values in columns.items():
                table = table.append_column(name, pa.array(values, pa.int64()))
            previous = table.column("score_error").to_pylist()
            merged = ["; ".join(e for e in pair if e) or None for pair in zip(previous, errors)]
            index = table.schema.get_field_index("score_error")
            table = table.set_column(index, "score_error", pa.array(merged, pa.string()))
            return table.append_column(pa.field(reward_col(self.name), pa.float64()), pa.array(rewards, pa.float64()))

    @property
    def is_judge(self) -> bool:
        return self.scorer.is_judge

    def _columns(self, prompts: list[str], responses: list[str], finish: list[str]) -> dict[str, list]:
        """``{"reward": [...]}``, plus ``judge/<dim>`` lists for a judge."""
        if not self.is_judge:
            return {"reward": self.scorer.score(prompts, responses, finish)}
        scores = self.scorer.judge(prompts, responses)
        per_sample = [[v for v in vals if v is not None] for vals in zip(*scores.values())]
        columns = {f"judge/{dim}": values for dim, values in scores.items()}
        return {**columns, "reward": [sum(v) / len(v) if v else None for v in per_sample]}

    def _columns_one_by_one(self, prompts: list[str], responses: list[str], finish: list[str]) -> tuple[dict, list]:
        """Score each sample alone, so that one bad sample does not fail its chunk."""
        names = [f"judge/{d}" for d in self.scorer.dimensions] if self.is_judge else []
        columns: dict[str, list] = {name: [] for name in [*names, "reward"]}
        errors = []
        for p, r, f in zip(prompts, responses, finish):
            try:
                one = self._columns([p], [r], [f])
                errors.append(None)
            except Exception as exc:
                one = dict.fromkeys(columns, [None])
                errors.append(f"{self.name}: {type(exc).__name__}: {exc}")
            for name in columns:
                columns[name].append(one[name][0])
        return columns, errors

    def take_busy_seconds(self) -> float:
        return self.clock.take()


class ScorerPool:
    """All scorers' actors; :meth:`submit` runs a chunk through each scorer."""

    def __init__(
        self,
        scorers: dict[str, dict],
        num_cpus: float,
        threads: int,
        max_restarts: int = 0,
        num_gpus: float = 0,
        cores: tuple[int, ...] = (),
    ):
        """``scorers`` maps name -> ``{"backend", "num_workers", "kwargs"}``; dead actors restart, chunks re-run.

        All scorer actors share one placement group of their own (one bundle each), so they are
        placed together or not at all.
        """
        bundle = placement_bundle(num_cpus, num_gpus)
        total = sum(spec["num_workers"] for spec in scorers.values())
        self.pg = placement_group([bundle] * total, strategy="PACK")
        ray.get(self.pg.ready())
        self.names = list(scorers)
        self.num_cpus, self.num_gpus = num_cpus, num_gpus
        self.workers: dict[str, list] = {}
        index = 0
        for name, spec in scorers.items():
            self.workers[name] = []
            for _ in range(spec["num_workers"]):
                strategy = PlacementGroupSchedulingStrategy(self.pg, placement_group_bundle_index=index)
                actor = ray.remote(ScorerWorker).options(
                    num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=max_restarts, max_task_retries=max_restarts,
                    scheduling_strategy=strategy,
                )  # fmt: skip
                self.workers[name].append(actor.remote(name, spec["backend"], spec["kwargs"], threads, cores))
                index += 1
        self._next = 0

    @classmethod
    def from_config(cls, reward, cluster, ctx: ScorerContext) -> ScorerPool:
        """The pool for a validated ``reward`` config, each backend building its own arguments."""
        specs = {
            name: {"backend": sc.backend, "num_workers": sc.num_workers,
                   "kwargs": SCORERS.get(sc.backend).kwargs(sc, ctx)}
            for name, sc in reward.scorers.items()
        }  # fmt: skip
        return cls(specs, cluster.scorer_cpus, cluster.scorer_threads, cluster.max_restarts, cluster.scorer_gpus,
                   tuple(cluster.scorer_cores))  # fmt: skip

    def submit(self, samples_ref: ray.ObjectRef) -> ray.ObjectRef:
        """Score one chunk with every scorer; returns a reference to the scored table."""
        ref = samples_ref
        for name in self.names:
            group = self.workers[name]
            ref = group[self._next % len(group)].score.remote(ref)
        self._next += 1
        return ref

    def watched(self) -> list[Watched]:
        """Every worker, for an :class:`~spo.cluster.watch.ActorWatch`."""
        return [Watched(f"scorer {name} {i}", w, self.num_cpus, self.num_gpus)
                for name, group in self.workers.items() for i, w in enumerate(group)]  # fmt: skip

    def take_busy_seconds(self) -> float:
        """Busy seconds summed over scorers (each scorer's busiest worker)."""
        return sum(max(ray.get([w.take_busy_seconds.remote() for w in group])) for group in self.workers.values())

    def shutdown(self) -> None:
        for group in self.workers.values():
            for w in group:
                ray.kill(w)
        remove_placement_group(self.pg)
