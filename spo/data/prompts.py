"""Load and validate prompt sets: from a task generator or a JSONL/Parquet file.

A prompt set is a list of ``{"prompt_id": str, "prompt": str}``. File errors
name the file and the row.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from spo.chat import chat_prompt
from spo.data.config import TaskConfig
from spo.errors import ConfigError
from spo.io import read_jsonl
from spo.plugins import TASKS


class PromptFileError(ConfigError):
    """A prompt file that is missing, empty or malformed."""


def load_prompt_file(path: str | Path) -> list[dict]:
    """Read prompts from ``.jsonl`` or ``.parquet``; ``prompt_id`` defaults to the row number."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise PromptFileError(f"{path}: prompt file does not exist")
    if path.suffix == ".parquet":
        try:
            records = pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise PromptFileError(f"{path}: not a readable Parquet file ({exc})") from exc
    elif path.suffix in (".jsonl", ".json"):
        records = read_jsonl(path, PromptFileError)
    else:
        raise PromptFileError(f"{path}: unsupported prompt file type {path.suffix!r} (use .jsonl or .parquet)")
    if not records:
        raise PromptFileError(f"{path}: prompt file is empty")
    rows, seen = [], set()
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict) or not isinstance(rec.get("prompt"), str):
            raise PromptFileError(f"{path}: row {i}: needs a string 'prompt' field")
        pid = str(rec.get("prompt_id", f"row-{i:06d}"))
        if pid in seen:
            raise PromptFileError(f"{path}: row {i}: duplicate prompt_id {pid!r}")
        seen.add(pid)
        rows.append({"prompt_id": pid, "prompt": rec["prompt"]})
    return rows


def screen_prompts(rows: list[dict], tokenizer, task: TaskConfig, source: str) -> tuple[list[dict], dict]:
    """Refuse (or, with ``task.on_bad_prompt=drop``, drop and count) empty and over-long prompts.

    Length is counted in tokens of the prompt as the policy sees it, chat template included.
    Returns the kept rows and ``{"dropped_empty", "dropped_too_long"}``.
    """
    kept, counts = [], {"dropped_empty": 0, "dropped_too_long": 0}
    for row in rows:
        problem = None
        if not row["prompt"].strip():
            problem, count = "is empty", "dropped_empty"
        else:
            n = len(tokenizer(chat_prompt(tokenizer, row["prompt"]), add_special_tokens=False).input_ids)
            if n > task.max_prompt_tokens:
                problem = f"has {n} tokens, over task.max_prompt_tokens={task.max_prompt_tokens}"
                count = "dropped_too_long"
        if problem is None:
            kept.append(row)
        elif task.on_bad_prompt == "error":
            raise PromptFileError(f"{source}: prompt {row['prompt_id']!r} {problem} (task.on_bad_prompt=drop skips it)")
        else:
            counts[count] += 1
    if not kept:
        raise PromptFileError(f"{source}: no usable prompt left after dropping {counts}")
    return kept, counts


def load_prompts(task: TaskConfig) -> tuple[list[dict], list[dict]]:
    """Return ``(train, heldout)`` prompt sets for ``task``; the two are disjoint."""
    if task.prompts_file is not None:
        train = load_prompt_file(task.prompts_file)
        heldout = load_prompt_file(task.heldout_file) if task.heldout_file else []
    else:
        rows = TASKS.get(task.name)(task)
        train, heldout = rows[: task.n_train], rows[task.n_train :]
    overlap = {r["prompt"] for r in train} & {r["prompt"] for r in heldout}
    if overlap:
        raise ConfigError(f"task.heldout_file: {len(overlap)} held-out prompts also appear in the training set")
    return train, heldout


def load_screened_prompts(task: TaskConfig, tokenizer) -> tuple[list[dict], list[dict], dict]:
    """The run's train and held-out prompts, screened (see :func:`screen_prompts`), and their counts."""
    train, heldout = load_prompts(task)
    if not heldout:
        raise ConfigError("task.heldout_file: a held-out prompt set is required for evaluation")
    train, dropped = screen_prompts(train, tokenizer, task, task.prompts_file or f"task {task.name}")
    heldout, dropped_heldout = screen_prompts(
        heldout, tokenizer, task, task.heldout_file or f"task {task.name} (held out)"
    )
    summary = {
        "prompts_train": len(train),
        "prompts_heldout": len(heldout),
        **{f"prompts_{k}": v + dropped_heldout[k] for k, v in dropped.items()},
    }
    return train, heldout, summary
