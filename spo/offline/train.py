"""``spo train-offline``: the DeepSpeed learner group on an existing preference dataset."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import ray

from spo.learner.config import LearnerConfig
from spo.learner.group import LearnerGroup
from spo.offline.dataset import DatasetError, as_flags, read_pairs

# the learner config's keys as the command's flags name them
FLAGS = {"learner.loss": "--loss", "learner.beta": "--beta", "learner.lr": "--lr", "learner.epochs": "--epochs",
         "learner.zero_stage": "--zero-stage", "learner.num_ranks": "--ranks"}  # fmt: skip


def train_offline(data: str, model: str, out: str, learner: LearnerConfig, seed: int = 0, cpus: float = 0.5,
                  split: str = "train") -> dict:  # fmt: skip
    """Train ``learner.epochs`` passes over the pairs in ``data`` (a file, or split ``split`` of a dataset)
    and save an HF checkpoint to ``out``."""
    if not Path(model).is_dir():
        raise DatasetError(f"--model: no such directory: {model}")
    with as_flags(FLAGS):
        learner.validate("learner")
    loaded = read_pairs(data, split)  # reads the dataset once
    raw = loaded.source
    pairs = loaded.pairs
    if "selected" in raw.column_names:
        selected = pc.fill_null(raw.column("selected"), False).take(pa.array([i - 1 for i in loaded.rows]))
        pairs = pairs.filter(selected)
    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False)
    group = LearnerGroup(learner, model, cpus, 1, seed)
    try:
        metrics = group.train(ray.put(pairs), 0)
        group.save_checkpoint(out)
    finally:
        group.shutdown()
        if started:
            ray.shutdown()
    return {"pairs": pairs.num_rows, "skipped": len(loaded.skipped), "checkpoint": out, **metrics}
