"""TensorBoard (the default tracker)."""

from __future__ import annotations

from pathlib import Path

from spo.tracking.base import Tracker, numeric


class TensorBoardTracker(Tracker):
    requires = "tensorboard"

    def __init__(self, run_dir: Path, **_):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def log(self, step, stage, values):
        for key, value in numeric(values).items():
            self.writer.add_scalar(f"{stage}/{key}", value, step)
        self.writer.flush()

    def close(self):
        self.writer.close()
