"""Applying the prompt policy (``selection.prompts``; the policies are in :mod:`spo.buffer.policies`)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from spo.buffer.policies.base import SelectionContext
from spo.plugins import PROMPT_POLICIES
from spo.schemas import difficulty_col

__all__ = ["SelectionContext", "select_prompts"]


def select_prompts(prompts: pa.Table, cfg, scorer: str, ctx: SelectionContext) -> pa.Table:
    """Apply ``cfg.prompts`` to a prompts table; appends ``selected`` and ``reason``."""
    if difficulty_col(scorer) not in prompts.column_names:
        raise KeyError(f"difficulty.scorer: no column {difficulty_col(scorer)!r} in the prompts table")
    keep, reasons = PROMPT_POLICIES.get(cfg.prompts)(prompts, cfg, scorer, ctx)
    return prompts.append_column("selected", pa.array(np.asarray(keep, dtype=bool))).append_column(
        "reason", pa.array(reasons, pa.string())
    )
