"""Reference answers for win rates: a JSONL file of ``{"prompt_id", "answer"}`` rows."""

from __future__ import annotations

import json
from pathlib import Path

from spo.config import ConfigError


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
