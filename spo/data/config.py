"""The prompt source's config (torch-free): a built-in task or JSONL/Parquet files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spo.errors import require
from spo.paths import require_file
from spo.plugins import TASKS

BAD_PROMPT_ACTIONS = ("error", "drop")


@dataclass
class TaskConfig:
    """Where prompts come from: a built-in task (``spo.plugins.TASKS``), a JSONL/Parquet file, or a dataset.

    Built-in tasks: ``sort_digits`` (``min_len``..``max_len`` digits) and ``ifeval_lite``
    (a writing task with 1..``max_constraints`` checkable instructions). ``name`` also picks the
    rule rewards that know the task; a file or dataset replaces its prompts.

    ``dataset``: a hub id in the local ``datasets`` cache, a ``save_to_disk`` directory, or Parquet /
    JSON-lines files (a file, or a directory of shards), read offline through ``datasets``
    (:mod:`spo.data.hf_dataset`). ``split`` (``subset``: the hub config, if it has several) holds the
    prompts in ``prompt_field``: a string column, or chat messages whose last user turn is the prompt
    and whose earlier turns (a system turn included) are kept as its context. ``id_field`` names the
    prompt ids (default ``<split>-<row>``); ``filter`` keeps rows whose fields equal the given values
    (a list: any of them); ``max_prompts`` keeps the first that many. Held out: the split
    ``heldout_split``, or a seeded ``heldout_fraction`` of the prompts; ``n_heldout`` caps it.

    A prompt that is empty or longer than ``max_prompt_tokens`` (chat template included)
    is an error, or, with ``on_bad_prompt=drop``, dropped and counted.
    """

    name: str = "sort_digits"
    prompts_file: str | None = None
    heldout_file: str | None = None
    dataset: str | None = None
    subset: str | None = None
    split: str = "train"
    prompt_field: str = "prompt"
    id_field: str | None = None
    filter: dict[str, Any] | None = None
    max_prompts: int | None = None
    heldout_split: str | None = None
    heldout_fraction: float | None = None
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
        if self.dataset is not None:
            self._validate_dataset(key)
            return
        if self.name not in TASKS:
            require(self.prompts_file is not None, f"{key}.prompts_file",
                    f"required for task {self.name!r} (or {key}.dataset)")  # fmt: skip
            require(self.heldout_file is not None, f"{key}.heldout_file", f"required for task {self.name!r}")
        require_file(self.prompts_file, f"{key}.prompts_file")
        require_file(self.heldout_file, f"{key}.heldout_file")

    def _validate_dataset(self, key: str) -> None:
        for other in ("prompts_file", "heldout_file"):
            require(getattr(self, other) is None, f"{key}.{other}", f"set {key}.dataset or {key}.{other}, not both")
        require(bool(self.prompt_field), f"{key}.prompt_field", "must name a column")
        require(self.max_prompts is None or self.max_prompts >= 1, f"{key}.max_prompts",
                f"must be >= 1, got {self.max_prompts}")  # fmt: skip
        require((self.heldout_split is None) != (self.heldout_fraction is None), f"{key}.heldout_split",
                f"with {key}.dataset, set exactly one of {key}.heldout_split and {key}.heldout_fraction")  # fmt: skip
        if self.heldout_fraction is not None:
            require(0 < self.heldout_fraction < 1, f"{key}.heldout_fraction",
                    f"must be in (0, 1), got {self.heldout_fraction}")  # fmt: skip
        require(self.heldout_split != self.split, f"{key}.heldout_split",
                f"must differ from {key}.split ({self.split!r}); use {key}.heldout_fraction to split one")  # fmt: skip
