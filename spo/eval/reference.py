"""Reference answers for win rates: a JSONL file of ``{"prompt_id", "answer"}`` rows."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from spo.errors import ConfigError
from spo.rollout.base import Completion
from spo.rollout.samples import samples_table


def load_reference_answers(path: str, heldout: list[dict]) -> dict[str, str]:
    """Answers keyed by prompt id; every held-out prompt must have one (the error lists those missing)."""
    path = Path(path).expanduser()
    answers = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            answers[str(row["prompt_id"])] = str(row["answer"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"eval.baseline: {path}: row {i}: needs prompt_id and answer ({exc})") from exc
    missing = [r["prompt_id"] for r in heldout if r["prompt_id"] not in answers]
    if missing:
        raise ConfigError(
            f"eval.baseline: {path} lacks answers for {len(missing)} held-out prompts, e.g. {missing[:5]}"
        )
    return answers


def reference_samples(heldout: list[dict], answers: dict[str, str], tokenizer) -> pa.Table:
    """The reference answers as a samples table (generator ``reference``, version -1), ready to score."""

    def completion(answer: str) -> Completion:
        return Completion(answer, len(tokenizer(answer, add_special_tokens=False).input_ids), None, "stop")

    completions = [[completion(answers[p["prompt_id"]])] for p in heldout]
    return samples_table(heldout, completions, "reference", policy_version=-1, iteration=-1)
