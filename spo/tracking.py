"""Metric trackers (``tracking.backends``): TensorBoard by default, W&B and MLflow when asked for.

``metrics.jsonl`` is always written (see :mod:`spo.metrics`); these mirror its numeric values
live. A backend that is asked for but not installed is a configuration error, not a silent skip.
"""

from __future__ import annotations

import importlib.util
import numbers
from abc import ABC, abstractmethod
from pathlib import Path

from spo.config import ConfigError

BACKENDS = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}  # name -> module it needs


class Tracker(ABC):
    @abstractmethod
    def log(self, step: int, stage: str, values: dict) -> None:
        """Record the numeric ``values`` of ``stage`` at ``step``."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release resources."""


def _numeric(values: dict) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if isinstance(v, numbers.Real) and not isinstance(v, bool)}


class TensorBoardTracker(Tracker):
    def __init__(self, run_dir: Path, **_):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def log(self, step, stage, values):
        for key, value in _numeric(values).items():
            self.writer.add_scalar(f"{stage}/{key}", value, step)
        self.writer.flush()

    def close(self):
        self.writer.close()


class WandbTracker(Tracker):
    def __init__(self, run_dir: Path, project: str, run_name: str, config: dict):
        import wandb

        self.run = wandb.init(project=project, name=run_name, dir=str(run_dir), config=config)

    def log(self, step, stage, values):
        self.run.log({f"{stage}/{k}": v for k, v in _numeric(values).items()}, step=max(step, 0))

    def close(self):
        self.run.finish()


class MlflowTracker(Tracker):
    def __init__(self, run_dir: Path, project: str, run_name: str, config: dict):
        import mlflow

        mlflow.set_experiment(project)
        self.mlflow = mlflow
        mlflow.start_run(run_name=run_name)

    def log(self, step, stage, values):
        metrics = {f"{stage}.{k}".replace("/", "."): v for k, v in _numeric(values).items()}
        self.mlflow.log_metrics(metrics, step=max(step + 1, 0))

    def close(self):
        self.mlflow.end_run()


_CLASSES = {"tensorboard": TensorBoardTracker, "wandb": WandbTracker, "mlflow": MlflowTracker}


def check_backends(backends: list[str]) -> None:
    """Raise :class:`ConfigError` for an unknown or uninstalled backend."""
    for name in backends:
        if name not in BACKENDS:
            raise ConfigError(f"tracking.backends: unknown backend {name!r}; known: {sorted(BACKENDS)}")
        if importlib.util.find_spec(BACKENDS[name]) is None:
            raise ConfigError(
                f"tracking.backends: {name!r} is enabled but the {BACKENDS[name]!r} package is not installed"
            )


def build_trackers(backends: list[str], run_dir: Path, project: str, run_name: str, config: dict) -> list[Tracker]:
    check_backends(backends)
    return [_CLASSES[name](run_dir=run_dir, project=project, run_name=run_name, config=config) for name in backends]
