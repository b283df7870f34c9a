"""``spo export``: a run's data in the formats other tools read."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from spo.offline.dataset import DatasetError, write_table

TRL_COLUMNS = ("prompt", "chosen", "rejected")


def export_trl(run_dir: str, iteration: int, out: str) -> dict:
    """The pairs trained on in ``iteration`` as TRL preference data (``prompt``, ``chosen``, ``rejected``).

    Metric columns ride along; DPOTrainer ignores columns it does not use.
    """
    path = Path(run_dir) / f"iter_{iteration}" / "pairs.parquet"
    if not path.exists():
        raise DatasetError(f"{path}: no pairs for iteration {iteration} in {run_dir}")
    pairs = pq.read_table(path)
    if "selected" in pairs.column_names:
        pairs = pairs.filter(pairs.column("selected")).drop_columns(["selected"])
    extra = [c for c in pairs.column_names if c not in TRL_COLUMNS]
    write_table(pairs.select([*TRL_COLUMNS, *extra]), out)
    return {"pairs": pairs.num_rows, "output": out}
