"""What the pair builders share: per-prompt best and worst samples, and assembling pairs.

Each pair records the generator, policy version and sampler log-prob of both sides (none for an answer
cut at the length limit: the learner scores it followed by EOS), and judge scores (``judge/<dim>``)
become ``judge_delta/<dim>`` = chosen minus rejected. Pairs whose reward margin is not positive (ties,
or a cross pair the reward disagrees with) are dropped and counted.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from spo.schemas import pairs_schema, reward_col


def judge_cols(samples: pa.Table) -> list[str]:
    return [c for c in samples.column_names if c.startswith("judge/")]


def first_per_prompt(samples: pa.Table, reward: str, order: str) -> pa.Table:
    ranked = samples.sort_by([("prompt_id", "ascending"), (reward, order), ("sample_idx", "ascending")])
    cols = ["prompt", "context", "response", reward, "generator", "iteration", "policy_version", "logprob_sum",
            *(["finish_reason"] if "finish_reason" in samples.column_names else []), *judge_cols(samples)]  # fmt: skip
    # skip_nulls=False: a missing judge score must stay missing, not borrow another sample's value
    keep_nulls = pc.ScalarAggregateOptions(skip_nulls=False)
    grouped = ranked.group_by("prompt_id", use_threads=False).aggregate([(c, "first", keep_nulls) for c in cols])
    return grouped.sort_by("prompt_id")


def of_generator(samples: pa.Table, generator: str) -> pa.Table:
    return samples.filter(pc.equal(samples.column("generator"), generator))


def max_min_pairs(samples: pa.Table, scorer: str) -> tuple[pa.Table, int]:
    """Chosen = highest reward, rejected = lowest (ties broken by ``sample_idx``).

    Prompts whose samples all tie are dropped; returns ``(pairs, n_tied)``.
    """
    reward = reward_col(scorer)
    best = first_per_prompt(samples, reward, "descending")
    worst = first_per_prompt(samples, reward, "ascending")
    return assemble(best, worst, reward)


def assemble(best: pa.Table, worst: pa.Table, reward: str) -> tuple[pa.Table, int]:
    """Pairs from per-prompt chosen (``best``) and rejected (``worst``) rows; drops non-positive margins."""
    chosen_r = best.column(f"{reward}_first")
    rejected_r = worst.column(f"{reward}_first")
    margin = pc.subtract(chosen_r, rejected_r)
    keep = pc.greater(margin, 0)
    table = pa.table(
        {
            "prompt_id": best.column("prompt_id"),
            "prompt": best.column("prompt_first"),
            "context": best.column("context_first"),
            "chosen": best.column("response_first"),
            "rejected": worst.column("response_first"),
            "chosen_reward": chosen_r,
            "rejected_reward": rejected_r,
            "margin_explicit": margin,
            "generator_chosen": best.column("generator_first"),
            "generator_rejected": worst.column("generator_first"),
            "iteration": best.column("iteration_first"),
            "policy_version_chosen": best.column("policy_version_first"),
            "policy_version_rejected": worst.column("policy_version_first"),
            # the engine's log-prob of each answer as the learner scores it (null where the engine gave none)
            "sampler_logps_chosen": best.column("logprob_sum_first"),
            "sampler_logps_rejected": worst.column("logprob_sum_first"),
        },
        schema=pairs_schema(),
    )
    for col in judge_cols(best):
        dim = col.removeprefix("judge/").removesuffix("_first")
        delta = pc.subtract(pc.cast(best.column(col), pa.float64()), pc.cast(worst.column(col), pa.float64()))
        table = table.append_column(f"judge_delta/{dim}", delta)
    pairs = table.filter(keep)
    return pairs, table.num_rows - pairs.num_rows
