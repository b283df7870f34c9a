"""The trackers' config (torch-free)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

from spo.errors import require
from spo.plugins import TRACKERS


@dataclass
class TrackingConfig:
    """Live metric trackers beside ``metrics.jsonl``: any of tensorboard, wandb, mlflow."""

    backends: list[str] = field(default_factory=lambda: ["tensorboard"])
    project: str = "spo"

    def validate(self, key: str = "tracking") -> None:
        """An unknown backend, or one whose package is not installed, is an error, never a silent skip."""
        for name in self.backends:
            TRACKERS.check(name, f"{key}.backends")
            package = TRACKERS.flag(name, "requires")
            require(
                importlib.util.find_spec(package) is not None,
                f"{key}.backends",
                f"{name!r} is enabled but the {package!r} package is not installed",
            )
