"""Held-out evaluation: mean reward per scorer of the policy's fixed-sampling answers."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import ray

from spo.io import write_parquet
from spo.schemas import reward_col


def heldout_summary(samples: pa.Table, scorers: list[str]) -> dict:
    """Mean finite reward per scorer, and the mean response length in tokens."""
    out = {"heldout_samples": samples.num_rows}
    for s in scorers:
        col = samples.column(reward_col(s))
        finite = col.filter(pc.is_finite(col))
        out[f"heldout_reward/{s}"] = pc.mean(finite).as_py()
    out["heldout_tokens_mean"] = pc.mean(samples.column("n_tokens")).as_py()
    return out


@ray.remote(num_cpus=0)
def collect_heldout(path: str, scorers: list[str], *chunks: pa.Table) -> dict:
    """Concatenate scored held-out chunks, write them to ``path`` and summarise them."""
    table = pa.concat_tables(chunks).sort_by([("prompt_id", "ascending"), ("sample_idx", "ascending")])
    write_parquet(table, path)
    return heldout_summary(table, scorers)
