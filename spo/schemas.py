"""Arrow schemas for the three data contracts: samples, prompts and pairs.

Reward columns are dynamic (``reward/<scorer>``, ``difficulty/<scorer>``), so each
schema is built from the scorer names.
"""

from __future__ import annotations

import pyarrow as pa

SAMPLE_KEY = ("iteration", "prompt_id", "sample_idx")

_SAMPLE_FIELDS = [
    pa.field("prompt_id", pa.string(), nullable=False),
    pa.field("prompt", pa.string(), nullable=False),
    pa.field("context", pa.string(), nullable=True),  # earlier turns as JSON (spo.chat); null if single-turn
    pa.field("response", pa.string(), nullable=False),
    pa.field("sample_idx", pa.int32(), nullable=False),
    pa.field("generator", pa.string(), nullable=False),
    pa.field("policy_version", pa.int64(), nullable=False),
    pa.field("iteration", pa.int64(), nullable=False),
    pa.field("n_tokens", pa.int32(), nullable=False),
    pa.field("logprob_sum", pa.float64(), nullable=True),
    pa.field("finish_reason", pa.string(), nullable=False),
    pa.field("score_error", pa.string(), nullable=True),  # why a scorer failed on this sample; null if none did
]


def reward_col(scorer: str) -> str:
    """Column that holds ``scorer``'s reward in a samples table."""
    return f"reward/{scorer}"


def difficulty_col(scorer: str) -> str:
    """Column that holds ``scorer``'s mean reward in a prompts table."""
    return f"difficulty/{scorer}"


def generated_schema() -> pa.Schema:
    """Samples as they leave a generator, before scoring."""
    return pa.schema(_SAMPLE_FIELDS)


def samples_schema(scorers: list[str]) -> pa.Schema:
    """Scored samples: one row per response."""
    return pa.schema(_SAMPLE_FIELDS + [pa.field(reward_col(s), pa.float64()) for s in scorers])


def prompts_schema(scorers: list[str]) -> pa.Schema:
    """Per-prompt difficulty statistics and the selection decision."""
    fields = [pa.field("prompt_id", pa.string(), nullable=False), pa.field("iteration", pa.int64())]
    for s in scorers:
        fields += [
            pa.field(difficulty_col(s), pa.float64()),
            pa.field(f"reward_std/{s}", pa.float64()),
            pa.field(f"reward_max/{s}", pa.float64()),
            pa.field(f"reward_min/{s}", pa.float64()),
        ]
    fields += [
        pa.field("n_samples", pa.int32()),
        pa.field("selected", pa.bool_()),
        pa.field("reason", pa.string()),
        # difficulty.source=predicted: the prediction made before generating, beside the outcome above
        pa.field("predicted_difficulty", pa.float64()),
        pa.field("predicted_usable", pa.float64()),
        pa.field("prediction_source", pa.string()),
    ]
    return pa.schema(fields)


def pairs_schema() -> pa.Schema:
    """Chosen/rejected pairs in TRL's preference columns plus spo's metrics."""
    return pa.schema(
        [
            pa.field("prompt_id", pa.string(), nullable=False),
            pa.field("prompt", pa.string(), nullable=False),
            pa.field("context", pa.string(), nullable=True),
            pa.field("chosen", pa.string(), nullable=False),
            pa.field("rejected", pa.string(), nullable=False),
            pa.field("chosen_reward", pa.float64()),
            pa.field("rejected_reward", pa.float64()),
            pa.field("margin_explicit", pa.float64()),
            pa.field("generator_chosen", pa.string()),
            pa.field("generator_rejected", pa.string()),
            pa.field("iteration", pa.int64()),
            # each side's sampling policy version and its log-prob under it (null if the engine gave none)
            pa.field("policy_version_chosen", pa.int64()),
            pa.field("policy_version_rejected", pa.int64()),
            pa.field("sampler_logps_chosen", pa.float64()),
            pa.field("sampler_logps_rejected", pa.float64()),
        ]
    )


# The candidate pairs' log-prob columns the learner computes for metrics that need them (pair_index keyed).
LOGPROB_COLUMNS = ("chosen_logps", "rejected_logps", "chosen_tokens", "rejected_tokens")
REFERENCE_COLUMNS = ("ref_chosen_logps", "ref_rejected_logps")


def check_schema(table: pa.Table, expected: pa.Schema, what: str) -> None:
    """Raise ``ValueError`` naming the first missing or mistyped column."""
    for f in expected:
        if f.name not in table.column_names:
            raise ValueError(f"{what}: missing column {f.name!r}")
        got = table.schema.field(f.name).type
        if got != f.type:
            raise ValueError(f"{what}: column {f.name!r} has type {got}, expected {f.type}")
