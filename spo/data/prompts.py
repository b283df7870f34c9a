"""Load and validate prompt sets: from a task generator, a JSONL/Parquet file, or a dataset.

A prompt set is a list of ``{"prompt_id": str, "prompt": str, "context": str | None}`` (``context``:
a multi-turn prompt's earlier turns, see :mod:`spo.chat`). Errors name the file or dataset and split,
the row and the field.
"""

from __future__ import annotations

import random
from itertools import islice
from pathlib import Path

import pyarrow.parquet as pq

from spo.chat import chat_prompt, prompt_and_context, row_conversation
from spo.data.config import TaskConfig
from spo.data.hf_dataset import open_splits, pick_split
from spo.errors import ConfigError
from spo.io import read_jsonl
from spo.plugins import TASKS


class PromptFileError(ConfigError):
    """A prompt file that is missing, empty or malformed."""


def prompt_rows(records, prompt_field: str, id_field: str | None, where: str, default_id: str = "row") -> list[dict]:
    """``{"prompt_id", "prompt", "context"}`` rows from ``(row number, record)`` pairs whose
    ``prompt_field`` is a string or a list of chat messages (its last user turn is the prompt, earlier
    turns the context: see :mod:`spo.chat`). ``prompt_id`` is ``id_field``'s value, else ``<default_id>-<row number>``.
    Errors name ``where`` (the source and split), the row (1-based) and the field."""
    rows, seen = [], set()
    for i, rec in records:
        at = f"{where}: row {i}"
        if not isinstance(rec, dict) or prompt_field not in rec:
            raise PromptFileError(f"{at}: no field {prompt_field!r}")
        try:
            prompt, context = prompt_and_context(rec[prompt_field])
        except TypeError as exc:
            raise PromptFileError(f"{at}: field {prompt_field!r} {exc}") from None
        except ValueError as exc:
            raise PromptFileError(f"{at}: field {prompt_field!r}: {exc}") from None
        if id_field is not None and rec.get(id_field) is None:
            raise PromptFileError(f"{at}: no value in id field {id_field!r}")
        pid = str(rec[id_field]) if id_field is not None else f"{default_id}-{i:06d}"
        if pid in seen:
            raise PromptFileError(f"{at}: duplicate prompt id {pid!r} (field {id_field or 'prompt_id'!r})")
        seen.add(pid)
        rows.append({"prompt_id": pid, "prompt": prompt, "context": context})
    if not rows:
        raise PromptFileError(f"{where}: no prompts")
    return rows


def load_prompt_file(path: str | Path) -> list[dict]:
    """Read prompts from ``.jsonl`` or ``.parquet``: a ``prompt`` (string or chat messages) and an optional
    ``prompt_id`` (if any row has one, every row needs one; else the row number)."""
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
    has_ids = any(isinstance(r, dict) and r.get("prompt_id") is not None for r in records)
    return prompt_rows(enumerate(records, start=1), "prompt", "prompt_id" if has_ids else None, str(path))


def _matches(record: dict, wanted: dict) -> bool:
    """``task.filter``: every field equals its value, or is one of its values (a list)."""
    return all(record[k] in v if isinstance(v, list) else record[k] == v for k, v in wanted.items())


def split_prompts(task: TaskConfig, splits, split: str) -> list[dict]:
    """Split ``split`` of ``task.dataset`` (opened as ``splits``) as prompt rows: ``task.filter`` applied,
    then the first ``task.max_prompts``. Ids default to ``<split>-<row number>``."""
    ds = pick_split(splits, task.dataset, split)
    where = f"task.dataset {task.dataset} split {split!r}"
    wanted = dict(task.filter or {})
    fields = list(dict.fromkeys(f for f in (task.prompt_field, task.id_field, *wanted) if f))
    for f in fields:
        if f not in ds.column_names:
            raise PromptFileError(f"{where}: no column {f!r}; it has {ds.column_names}")
    table = ds.select_columns(fields)
    numbered = ((i, r) for i, r in enumerate(table, start=1) if not wanted or _matches(r, wanted))
    rows = prompt_rows(islice(numbered, task.max_prompts), task.prompt_field, task.id_field, where, split)
    return rows


def dataset_prompts(task: TaskConfig) -> tuple[list[dict], list[dict]]:
    """``(train, heldout)`` from ``task.dataset``: held out is split ``task.heldout_split``, or a seeded
    ``task.heldout_fraction`` of the training split's prompts; at most ``task.n_heldout`` of it is kept."""
    splits = open_splits(task.dataset, task.subset)  # once, for both splits
    train = split_prompts(task, splits, task.split)
    if task.heldout_split is not None:
        heldout = split_prompts(task, splits, task.heldout_split)
    else:
        order = list(range(len(train)))
        random.Random(task.seed).shuffle(order)
        chosen = set(order[: max(1, round(task.heldout_fraction * len(train)))])
        heldout = [r for i, r in enumerate(train) if i in chosen]
        train = [r for i, r in enumerate(train) if i not in chosen]
    return train, heldout[: task.n_heldout]


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
            n = len(tokenizer(chat_prompt(tokenizer, row_conversation(row)), add_special_tokens=False).input_ids)
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
    if task.dataset is not None:
        train, heldout = dataset_prompts(task)
    elif task.prompts_file is not None:
        train = load_prompt_file(task.prompts_file)
        heldout = load_prompt_file(task.heldout_file) if task.heldout_file else []
    else:
        rows = TASKS.get(task.name)(task)
        train, heldout = rows[: task.n_train], rows[task.n_train :]
    overlap = {(r["prompt"], r.get("context")) for r in train} & {(r["prompt"], r.get("context")) for r in heldout}
    if overlap:
        key = "task.heldout_split" if task.dataset else "task.heldout_file"
        raise ConfigError(f"{key}: {len(overlap)} held-out prompts also appear in the training set")
    return train, heldout


def load_screened_prompts(task: TaskConfig, tokenizer) -> tuple[list[dict], list[dict], dict]:
    """The run's train and held-out prompts, screened (see :func:`screen_prompts`), and their counts."""
    train, heldout = load_prompts(task)
    if not heldout:
        raise ConfigError("task.heldout_file: a held-out prompt set is required for evaluation")
    source = task.dataset or task.prompts_file or f"task {task.name}"
    train, dropped = screen_prompts(train, tokenizer, task, source)
    heldout_source = task.heldout_file or f"{task.dataset or f'task {task.name}'} (held out)"
    heldout, dropped_heldout = screen_prompts(heldout, tokenizer, task, heldout_source)
    summary = {
        "prompts_train": len(train),
        "prompts_heldout": len(heldout),
        **{f"prompts_{k}": v + dropped_heldout[k] for k, v in dropped.items()},
    }
    return train, heldout, summary
