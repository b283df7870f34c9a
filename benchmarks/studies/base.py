"""A study: the runs that test a paper's claims in miniature, and the results file they regenerate.

A study names its experiment, its arms (each a set of config overrides), its seeds and its claims.
Every cell (arm x seed) is one ``python -m spo.train`` command, run to completion; the tables, the
verdicts and the provenance in the results file are generated from those runs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """One run of a study: an arm at a seed."""

    study: str
    experiment: str
    arm: str
    seed: int
    overrides: tuple[str, ...]

    @property
    def run_name(self) -> str:
        slug = "".join(c if c.isalnum() else "_" for c in self.arm)
        return f"study-{self.study}-{slug}-s{self.seed}"

    def command(self) -> list[str]:
        """The exact command that produces this cell (under the runs root, ``SPO_RUNS_ROOT`` or ``./runs``).
        An arm may name its own experiment (an ``experiment=`` override) instead of the study's."""
        own = [o for o in self.overrides if o.startswith("experiment=")]
        rest = [o for o in self.overrides if not o.startswith("experiment=")]
        return ["python", "-m", "spo.train", *(own or [f"experiment={self.experiment}"]), *rest,
                f"seed={self.seed}", f"run_name={self.run_name}"]  # fmt: skip


@dataclass(frozen=True)
class Claim:
    """A paper's claim as a paired comparison over seeds: arm ``a`` against arm ``b`` (or ``"initial"``,
    the policy before training). ``kind="better"``: a's final held-out reward is higher. ``kind="matches"``:
    the two are within ``margin`` of each other. ``after``: judge the held-out reward after that many
    iterations instead of the final one."""

    text: str
    a: str
    b: str
    kind: str = "better"
    margin: float = 0.0
    after: int | None = None


@dataclass(frozen=True)
class Study:
    """A study's definition (one file per study under :mod:`benchmarks.studies`)."""

    name: str
    title: str
    results: str  # the results file under benchmarks/results/ that holds its generated block
    experiment: str
    arms: dict[str, tuple[str, ...]]
    claims: tuple[Claim, ...]
    check: tuple[str, int]  # the arm and seed the studies test tier re-runs
    seeds: tuple[int, ...] = (0, 1, 2)
    setup: tuple[str, ...] = ()  # shell commands that must run first (models the experiment needs)
    tolerance: float = 2e-3  # the studies tier's allowed difference from the committed final reward
    metric: str = "heldout_reward"  # the held-out figure compared (heldout_reward/gold for proxy studies)
    extra: str = ""  # "module:attr" of fn(study, runs: {(arm, seed): run dir}) -> markdown lines for the block

    @property
    def metric_label(self) -> str:
        if self.metric == "heldout_reward":
            return "held-out reward"
        return f"held-out reward on the {self.metric.split('/', 1)[-1]} (`{self.metric}`)"

    def cells(self, arms: list[str] | None = None) -> list[Cell]:
        """Every cell, or only those of ``arms``."""
        return [Cell(self.name, self.experiment, arm, s, ov) for arm, ov in self.arms.items() for s in self.seeds
                if arms is None or arm in arms]  # fmt: skip

    def unknown_arms(self, arms: list[str] | None) -> None:
        """``SystemExit`` naming any of ``arms`` this study does not have, and the arms it has."""
        unknown = sorted(set(arms or []) - set(self.arms))
        if unknown:
            raise SystemExit(f"study {self.name}: unknown arms {unknown}; its arms: {list(self.arms)}")

    def cell(self, arm: str, seed: int) -> Cell:
        return Cell(self.name, self.experiment, arm, seed, self.arms[arm])
