"""Weights & Biases."""

from __future__ import annotations

from pathlib import Path

from spo.tracking.base import Tracker, numeric


class WandbTracker(Tracker):
    requires = "wandb"

    def __init__(self, run_dir: Path, project: str, run_name: str, config: dict):
        import wandb

        self.run = wandb.init(project=project, name=run_name, dir=str(run_dir), config=config)

    def log(self, step, stage, values):
        self.run.log({f"{stage}/{k}": v for k, v in numeric(values).items()}, step=max(step, 0))

    def close(self):
        self.run.finish()
