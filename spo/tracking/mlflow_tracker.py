"""MLflow."""

from __future__ import annotations

from pathlib import Path

from spo.tracking.base import Tracker, numeric


class MlflowTracker(Tracker):
    requires = "mlflow"

    def __init__(self, run_dir: Path, project: str, run_name: str, config: dict):
        import mlflow

        mlflow.set_experiment(project)
        self.mlflow = mlflow
        mlflow.start_run(run_name=run_name)

    def log(self, step, stage, values):
        metrics = {f"{stage}.{k}".replace("/", "."): v for k, v in numeric(values).items()}
        self.mlflow.log_metrics(metrics, step=max(step + 1, 0))

    def close(self):
        self.mlflow.end_run()
