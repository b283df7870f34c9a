"""Prompt selection policies over a prompts table (``selection.prompts``)."""

from __future__ import annotations

import pyarrow as pa


def select_all(prompts: pa.Table) -> pa.Table:
    """Keep every prompt."""
    n = prompts.num_rows
    return prompts.append_column("selected", pa.array([True] * n)).append_column("reason", pa.array(["all"] * n))


PROMPT_POLICIES = {"all": select_all}
