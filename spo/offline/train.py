"""``spo train``: the DeepSpeed learner group on an existing preference dataset."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pyarrow.compute as pc
import ray

from spo.config import LearnerConfig
from spo.learner.group import LearnerGroup
from spo.learner.losses import LOSSES
from spo.offline.dataset import DatasetError, load_pairs, read_table


def train_offline(data: str, model: str, out: str, learner: LearnerConfig, seed: int = 0, cpus: float = 0.5) -> dict:
    """Train ``learner.epochs`` passes over the pairs in ``data`` and save an HF checkpoint to ``out``."""
    if not Path(model).is_dir():
        raise DatasetError(f"--model: no such directory: {model}")
    if learner.beta <= 0:
        raise DatasetError(f"--beta: must be > 0, got {learner.beta}")
    if learner.loss not in LOSSES:
        raise DatasetError(f"--loss: unknown loss {learner.loss!r}; known: {sorted(LOSSES)}")
    raw = read_table(data)
    pairs = load_pairs(data)
    if "selected" in raw.column_names:
        pairs = pairs.filter(pc.fill_null(raw.column("selected"), False))
    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False)
    group = LearnerGroup(learner.num_ranks, model, asdict(learner), cpus, 1, seed)
    try:
        metrics = group.train(ray.put(pairs), 0)
        group.save_checkpoint(out)
    finally:
        group.shutdown()
        if started:
            ray.shutdown()
    return {"pairs": pairs.num_rows, "checkpoint": out, **metrics}
