"""Per-prompt difficulty: the mean reward of a prompt's samples (lower is harder)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

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
