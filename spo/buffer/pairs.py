"""Pair builders: turn a prompt's scored samples into chosen/rejected pairs."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from spo.schemas import pairs_schema, reward_col


def _first_per_prompt(samples: pa.Table, reward: str, order: str) -> pa.Table:
    ranked = samples.sort_by([("prompt_id", "ascending"), (reward, order), ("sample_idx", "ascending")])
    cols = ["prompt", "response", reward, "generator", "iteration"]
    return ranked.group_by("prompt_id", use_threads=False).aggregate([(c, "first") for c in cols]).sort_by("prompt_id")


def max_min_pairs(samples: pa.Table, scorer: str) -> tuple[pa.Table, int]:
    """Chosen = highest reward, rejected = lowest (ties broken by ``sample_idx``).

    Prompts whose samples all tie are dropped; returns ``(pairs, n_tied)``.
    """
    reward = reward_col(scorer)
    best = _first_per_prompt(samples, reward, "descending")
    worst = _first_per_prompt(samples, reward, "ascending")
    chosen_r = best.column(f"{reward}_first")
    rejected_r = worst.column(f"{reward}_first")
    margin = pc.subtract(chosen_r, rejected_r)
    keep = pc.greater(margin, 0)
    table = pa.table(
        {
            "prompt_id": best.column("prompt_id"),
            "prompt": best.column("prompt_first"),
            "chosen": best.column("response_first"),
            "rejected": worst.column("response_first"),
            "chosen_reward": chosen_r,
            "rejected_reward": rejected_r,
            "margin_explicit": margin,
            "generator_chosen": best.column("generator_first"),
            "generator_rejected": worst.column("generator_first"),
            "iteration": best.column("iteration_first"),
        },
        schema=pairs_schema(),
    )
    pairs = table.filter(keep)
    return pairs, table.num_rows - pairs.num_rows
