"""Per-prompt difficulty: the mean reward of a prompt's samples (lower is harder)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spo.schemas import difficulty_col, reward_col


def prompt_stats(samples: pa.Table, scorers: list[str]) -> pa.Table:
    """One row per prompt: mean (difficulty), population std, max and min of each scorer's reward.

    Rows are sorted by ``prompt_id``. ``n_samples`` counts the prompt's samples.
    """
    aggs = [("sample_idx", "count")]
    for s in scorers:
        col = reward_col(s)
        aggs += [(col, "mean"), (col, "stddev"), (col, "max"), (col, "min")]
    grouped = samples.group_by("prompt_id").aggregate(aggs).sort_by("prompt_id")
    out = {"prompt_id": grouped.column("prompt_id")}
    for s in scorers:
        col = reward_col(s)
        out[difficulty_col(s)] = grouped.column(f"{col}_mean")
        out[f"reward_std/{s}"] = grouped.column(f"{col}_stddev")
        out[f"reward_max/{s}"] = grouped.column(f"{col}_max")
        out[f"reward_min/{s}"] = grouped.column(f"{col}_min")
    out["n_samples"] = pc.cast(grouped.column("sample_idx_count"), pa.int32())
    return pa.table(out)


def read_difficulty(path: str | Path) -> pa.Table:
    """Per-prompt difficulty from a Parquet file or a run directory.

    A run directory yields its ``difficulty.parquet`` (a frozen difficulty pass) if
    present, else every ``iter_*/prompts.parquet``, keeping each prompt's earliest
    iteration. Raises ``ValueError`` naming the path when nothing usable is there.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        frozen = path / "difficulty.parquet"
        files = [frozen] if frozen.exists() else sorted(path.glob("iter_*/prompts.parquet"), key=_iteration_of)
        if not files:
            raise ValueError(f"{path}: no difficulty.parquet or iter_*/prompts.parquet in this run directory")
        table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
    elif path.is_file():
        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise ValueError(f"{path}: not a readable Parquet file ({exc})") from exc
    else:
        raise ValueError(f"{path}: no such file or directory")
    if "prompt_id" not in table.column_names or not difficulty_columns(table):
        raise ValueError(f"{path}: needs a prompt_id column and at least one difficulty/<scorer> column")
    ids = table.column("prompt_id").to_pylist()
    first = {}
    for i, pid in enumerate(ids):
        first.setdefault(pid, i)
    stats = [c for c in table.column_names if c.split("/", 1)[0] in _STAT_PREFIXES or c == "n_samples"]
    return table.take(sorted(first.values())).select(["prompt_id", *stats])


_STAT_PREFIXES = ("difficulty", "reward_std", "reward_max", "reward_min")


def difficulty_columns(table: pa.Table) -> list[str]:
    """Scorer names that have a ``difficulty/<scorer>`` column in ``table``."""
    return [c.split("/", 1)[1] for c in table.column_names if c.startswith("difficulty/")]


def _iteration_of(path: Path) -> int:
    return int(path.parent.name.split("_", 1)[1])
