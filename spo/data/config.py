"""The prompt source's config (torch-free): a built-in task or JSONL/Parquet files."""

from __future__ import annotations

from dataclasses import dataclass

from spo.errors import require
from spo.paths import require_file
from spo.plugins import TASKS

BAD_PROMPT_ACTIONS = ("error", "drop")


@dataclass
class TaskConfig:
    """Where prompts come from: a built-in task (``spo.plugins.TASKS``) or a JSONL/Parquet file.

    Built-in tasks: ``sort_digits`` (``min_len``..``max_len`` digits) and ``ifeval_lite``
    (a writing task with 1..``max_constraints`` checkable instructions).

    A prompt that is empty or longer than ``max_prompt_tokens`` (chat template included)
    is an error, or, with ``on_bad_prompt=drop``, dropped and counted.
    """

    name: str = "sort_digits"
    prompts_file: str | None = None
    heldout_file: str | None = None
    n_train: int = 2000
    n_heldout: int = 128
    min_len: int = 2
    max_len: int = 8
    max_constraints: int = 3
    seed: int = 7
    max_prompt_tokens: int = 512
    on_bad_prompt: str = "error"

    def validate(self, key: str = "task") -> None:
        require(
            self.on_bad_prompt in BAD_PROMPT_ACTIONS,
            f"{key}.on_bad_prompt",
            f"must be error|drop, got {self.on_bad_prompt!r}",
        )
        require(self.max_prompt_tokens >= 1, f"{key}.max_prompt_tokens", f"must be >= 1, got {self.max_prompt_tokens}")
        if self.name not in TASKS:
            require(self.prompts_file is not None, f"{key}.prompts_file", f"required for task {self.name!r}")
            require(self.heldout_file is not None, f"{key}.heldout_file", f"required for task {self.name!r}")
        require_file(self.prompts_file, f"{key}.prompts_file")
        require_file(self.heldout_file, f"{key}.heldout_file")
