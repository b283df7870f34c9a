"""Pair builders: turn a prompt's scored samples into one chosen/rejected candidate pair.

- ``within``: best vs worst sample of the policy's own pool;
- ``cross``: best sample of the ``strong`` pool vs worst sample of the ``weak`` pool (a
  generator-level quality delta); kept only where the reward agrees that chosen is better;
- ``mixed``: best vs worst over every pool's samples together.

Each pair records the generator of both sides, and judge scores (``judge/<dim>``) become
``judge_delta/<dim>`` = chosen minus rejected.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from spo.schemas import pairs_schema, reward_col

PAIR_BUILDERS = ("within", "cross", "mixed")


def _judge_cols(samples: pa.Table) -> list[str]:
    return [c for c in samples.column_names if c.startswith("judge/")]


def _first_per_prompt(samples: pa.Table, reward: str, order: str) -> pa.Table:
    ranked = samples.sort_by([("prompt_id", "ascending"), (reward, order), ("sample_idx", "ascending")])
    cols = ["prompt", "response", reward, "generator", "iteration", *_judge_cols(samples)]
    # skip_nulls=False: a missing judge score must stay missing, not borrow another sample's value
    keep_nulls = pc.ScalarAggregateOptions(skip_nulls=False)
    grouped = ranked.group_by("prompt_id", use_threads=False).aggregate([(c, "first", keep_nulls) for c in cols])
    return grouped.sort_by("prompt_id")


def _of(samples: pa.Table, generator: str) -> pa.Table:
    return samples.filter(pc.equal(samples.column("generator"), generator))


def build_pairs(
    samples: pa.Table, scorer: str, builder: str, policy: str, strong: str | None = None, weak: str | None = None
) -> tuple[pa.Table, int]:
    """Candidate pairs by ``builder``; returns ``(pairs, n_dropped)`` (ties, or reward disagreeing)."""
    if builder == "within":
        return max_min_pairs(_of(samples, policy), scorer)
    if builder == "mixed":
        return max_min_pairs(samples, scorer)
    if builder == "cross":
        reward = reward_col(scorer)
        best = _first_per_prompt(_of(samples, strong), reward, "descending")
        worst = _first_per_prompt(_of(samples, weak), reward, "ascending")
        common = pc.is_in(best.column("prompt_id"), value_set=worst.column("prompt_id"))
        best = best.filter(common)
        worst = worst.filter(pc.is_in(worst.column("prompt_id"), value_set=best.column("prompt_id")))
        return _assemble(best, worst, reward)
    raise ValueError(f"selection.pair_builder: unknown builder {builder!r}; known: {PAIR_BUILDERS}")


def max_min_pairs(samples: pa.Table, scorer: str) -> tuple[pa.Table, int]:
    """Chosen = highest reward, rejected = lowest (ties broken by ``sample_idx``).

    Prompts whose samples all tie are dropped; returns ``(pairs, n_tied)``.
    """
    reward = reward_col(scorer)
    best = _first_per_prompt(samples, reward, "descending")
    worst = _first_per_prompt(samples, reward, "ascending")
    return _assemble(best, worst, reward)


def _assemble(best: pa.Table, worst: pa.Table, reward: str) -> tuple[pa.Table, int]:
    """Pairs from per-prompt chosen (``best``) and rejected (``worst``) rows; drops non-positive margins."""
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
    for col in _judge_cols(best):
        dim = col.removeprefix("judge/").removesuffix("_first")
        delta = pc.subtract(pc.cast(best.column(col), pa.float64()), pc.cast(worst.column(col), pa.float64()))
        table = table.append_column(f"judge_delta/{dim}", delta)
    pairs = table.filter(keep)
    return pairs, table.num_rows - pairs.num_rows
