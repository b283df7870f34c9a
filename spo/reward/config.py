"""The scorers' config (torch-free). Each backend checks its own section (``check_config``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING

from spo.errors import require
from spo.plugins import SCORERS


@dataclass
class ScorerConfig:
    """One reward source: ``rule``, ``sequence_classifier``, ``judge`` (generative, per-dimension 1-5
    scores from a rubric) or ``rule_judge`` (a Python function returning per-dimension scores)."""

    backend: str = "rule"
    fn: str | None = None
    path: str | None = None
    trust_remote_code: bool = False
    chat_template: str = "policy"
    batch_size: int = 32
    num_workers: int = 1
    dimensions: list[str] = field(default_factory=list)
    max_new_tokens: int = 64

    def validate(self, key: str) -> None:
        SCORERS.check(self.backend, f"{key}.backend")
        require(self.num_workers >= 1, f"{key}.num_workers", "must be >= 1")
        SCORERS.get(self.backend).check_config(self, key)

    @property
    def is_judge(self) -> bool:
        """A judge gives per-dimension scores (the backend's own ``is_judge`` flag)."""
        return SCORERS.flag(self.backend, "is_judge")


@dataclass
class RewardConfig:
    """The scorers, keyed by name; ``primary`` drives difficulty and pairs.

    A sample whose scorer raised or returned NaN/inf is quarantined; the run stops once the
    quarantined share of an iteration's samples exceeds ``max_failure_fraction``.
    """

    scorers: dict[str, ScorerConfig] = field(default_factory=dict)
    primary: str = MISSING
    max_failure_fraction: float = 0.05

    def validate(self, key: str = "reward") -> None:
        f = self.max_failure_fraction
        require(0 <= f <= 1, f"{key}.max_failure_fraction", f"must be in [0, 1], got {f}")
        require(bool(self.scorers), f"{key}.scorers", "at least one scorer is required")
        for name, sc in self.scorers.items():
            require("/" not in name, f"{key}.scorers.{name}", "scorer names may not contain '/'")
            sc.validate(f"{key}.scorers.{name}")
        require(
            self.primary in self.scorers,
            f"{key}.primary",
            f"{self.primary!r} is not one of {key}.scorers {sorted(self.scorers)}",
        )
        judges = self.judges()
        require(len(judges) <= 1, f"{key}.scorers", f"at most one judge scorer, got {judges}")
        require(self.primary not in judges, f"{key}.primary", "a judge cannot be the primary reward")

    def judges(self) -> list[str]:
        """Names of the judge scorers."""
        return [n for n, sc in self.scorers.items() if sc.is_judge]

    def require_scorer(self, name: str | None, key: str) -> None:
        """Raise a ConfigError naming ``key`` unless ``name`` (if given) is a configured scorer."""
        if name is not None:
            require(name in self.scorers, key, f"unknown scorer {name!r}; known: {sorted(self.scorers)}")
