"""Reading preference datasets (a Parquet or JSONL file, or a ``datasets`` source: a hub id in the
local cache, a ``save_to_disk`` directory or a folder of shards) into spo's pair columns.

Two layouts are accepted:
- TRL pairs: ``prompt``, ``chosen``, ``rejected`` with ``chosen_score`` and ``rejected_score`` (or
  ``score_chosen`` and ``score_rejected``, as in ``HuggingFaceH4/ultrafeedback_binarized``);
- all responses with scores: ``prompt``, ``all_generated_responses``, ``all_rm_scores`` (as in the
  public on-policy UltraFeedback sets); each row becomes its best-vs-worst pair.

Responses may be strings or chat message lists (the last message's content is used); a prompt may be
a string or chat messages (the last user turn is the prompt, earlier turns its ``context``). Errors
name the file (or dataset and split) and the row.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from spo.chat import prompt_and_context
from spo.data.hf_dataset import DatasetSourceError, open_dataset
from spo.errors import ConfigError
from spo.io import atomic_file, read_jsonl, write_parquet

LOGPROB_INPUTS = ("chosen_logps_mean", "rejected_logps_mean", "chosen_logps", "rejected_logps",
                  "ref_chosen_logps", "ref_rejected_logps")  # fmt: skip


class DatasetError(ValueError):
    """A preference dataset that cannot be used; the message names the file and row."""


@contextlib.contextmanager
def as_flags(flags: dict[str, str]):
    """Re-raise a role config's own validation error as a DatasetError naming this command's flag instead of
    the config key (``flags`` maps key -> flag), so the offline commands and self-play share one rule."""
    try:
        yield
    except ConfigError as exc:
        key, _, msg = str(exc).partition(": ")
        raise DatasetError(f"{flags.get(key, key)}: {msg}") from exc


def read_table(path: str | Path, split: str = "train") -> pa.Table:
    """A file as it is; anything else (a directory, a hub id) split ``split`` through ``datasets``."""
    path = Path(path)
    if not path.is_file():
        try:
            return open_dataset(str(path), split, key="dataset").with_format("arrow")[:]
        except DatasetSourceError as exc:
            raise DatasetError(str(exc).removeprefix("dataset: ")) from None
    try:
        if path.suffix == ".parquet":
            return pq.read_table(path)
        if path.suffix in (".jsonl", ".json"):
            return _columns(read_jsonl(path, DatasetError), path)
    except DatasetError:
        raise
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DatasetError(f"{path}: cannot read ({exc})") from exc
    raise DatasetError(f"{path}: unsupported file type {path.suffix!r} (use .parquet or .jsonl)")


def _columns(rows: list[dict], path: Path) -> pa.Table:
    """A table over the union of the rows' keys (missing values are null)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    columns = {}
    for key in keys:
        try:
            columns[key] = pa.array([r.get(key) for r in rows])
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DatasetError(f"{path}: column {key!r} mixes value types ({exc})") from exc
    return pa.table(columns)


def write_table(table: pa.Table, path: str | Path) -> None:
    """Write Parquet or JSONL (by suffix) atomically."""
    path = Path(path)
    if path.suffix == ".parquet":
        write_parquet(table, path)
    elif path.suffix in (".jsonl", ".json"):
        with atomic_file(path, "w") as fh:
            for row in table.to_pylist():
                fh.write(json.dumps(row, default=str) + "\n")
    else:
        raise DatasetError(f"{path}: unsupported output type {path.suffix!r} (use .parquet or .jsonl)")


def _text(value, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[-1], dict) and "content" in value[-1]:
        return str(value[-1]["content"])
    raise DatasetError(f"{where}: expected a string or a list of chat messages, got {type(value).__name__}")


def _prompt_id(prompt: str) -> str:
    return "sha1-" + hashlib.sha1(prompt.encode("utf-8")).hexdigest()[:16]


def _score(value, where: str) -> float:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DatasetError(f"{where}: score must be a finite number, got {value!r}")
    return float(value)


@dataclass
class LoadedPairs:
    """A dataset's pairs, the source row (1-based) of each, the rows that gave no pair with the reason, and
    the dataset as read (its other columns, e.g. ``selected``)."""

    pairs: pa.Table
    rows: list[int]
    skipped: list[dict]
    source: pa.Table


def _best_worst(row: dict, where: str) -> tuple[int, int, list[float]] | str:
    """Indices of the best and worst response and the scores, or why the row gives no pair."""
    responses, scores = row["all_generated_responses"] or [], row["all_rm_scores"] or []
    if len(scores) != len(responses):
        raise DatasetError(f"{where}: {len(responses)} responses but {len(scores)} scores")
    scores = [_score(s, where) for s in scores]
    if len(responses) < 2:
        return f"needs at least 2 responses, has {len(responses)}"
    if max(scores) == min(scores):
        return f"all {len(scores)} scores are equal ({scores[0]}); no preference"
    return scores.index(max(scores)), scores.index(min(scores)), scores


SCORE_COLUMNS = (("chosen_score", "rejected_score"), ("score_chosen", "score_rejected"))  # TRL's, UltraFeedback's


def _layout(path, cols: set[str]) -> tuple[str, tuple[str, str] | None]:
    """``("pairs", score columns)`` or ``("all", None)``."""
    for scores in SCORE_COLUMNS:
        if {"prompt", "chosen", "rejected", *scores} <= cols:
            return "pairs", scores
    if {"prompt", "all_generated_responses", "all_rm_scores"} <= cols:
        return "all", None
    raise DatasetError(
        f"{path}: missing required columns; need prompt, chosen, rejected, chosen_score, rejected_score (or "
        f"score_chosen, score_rejected), or prompt, all_generated_responses, all_rm_scores; found {sorted(cols)}"
    )


def read_pairs(path: str | Path, split: str = "train") -> LoadedPairs:
    """Normalise a dataset to ``prompt_id, prompt, context, chosen, rejected, chosen_reward,
    rejected_reward, margin_explicit`` plus any log-prob columns it carries.

    A row of all responses that cannot give a pair (fewer than two responses, or all scores tied) is
    skipped and reported; a malformed row is an error naming it; no usable row at all is an error.
    """
    table = read_table(path, split)
    name = path if Path(path).is_file() else f"{path} split {split!r}"
    layout, scores = _layout(name, set(table.column_names))
    if table.num_rows == 0:
        raise DatasetError(f"{name}: the dataset is empty")
    out = {k: [] for k in ("prompt_id", "prompt", "context", "chosen", "rejected", "chosen_reward", "rejected_reward")}
    rows, skipped = [], []
    for i, row in enumerate(table.to_pylist(), start=1):
        where = f"{name}: row {i}"
        try:
            prompt, context = prompt_and_context(row["prompt"])
        except TypeError as exc:
            raise DatasetError(f"{where}: prompt {exc}") from None
        except ValueError as exc:
            raise DatasetError(f"{where}: prompt: {exc}") from None
        if layout == "pairs":
            chosen, rejected = _text(row["chosen"], where), _text(row["rejected"], where)
            rc, rr = _score(row[scores[0]], where), _score(row[scores[1]], where)
        else:
            found = _best_worst(row, where)
            if isinstance(found, str):
                skipped.append({"row": i, "reason": found})
                continue
            best, worst, scores = found
            responses = row["all_generated_responses"]
            chosen, rejected = _text(responses[best], where), _text(responses[worst], where)
            rc, rr = scores[best], scores[worst]
        rows.append(i)
        text = prompt if context is None else f"{context}\n{prompt}"
        out["prompt_id"].append(str(row["prompt_id"]) if row.get("prompt_id") is not None else _prompt_id(text))
        out["prompt"].append(prompt)
        out["context"].append(context)
        out["chosen"].append(chosen)
        out["rejected"].append(rejected)
        out["chosen_reward"].append(rc)
        out["rejected_reward"].append(rr)
    if not rows:
        raise DatasetError(f"{name}: no row gives a pair ({len(skipped)} skipped; row 1: {skipped[0]['reason']})")
    pairs = pa.table({**out, "context": pa.array(out["context"], pa.string())})
    pairs = pairs.append_column(
        "margin_explicit", pa.array([c - r for c, r in zip(out["chosen_reward"], out["rejected_reward"])])
    )
    kept = pa.array([i - 1 for i in rows])
    for name in LOGPROB_INPUTS:
        if name in table.column_names:
            pairs = pairs.append_column(name, table.column(name).take(kept).cast(pa.float64()))
    return LoadedPairs(pairs, rows, skipped, table)


def load_pairs(path: str | Path, split: str = "train") -> pa.Table:
    """The pairs of :func:`read_pairs` alone."""
    return read_pairs(path, split).pairs
