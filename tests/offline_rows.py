"""Preference rows the offline-mode tests share (unit and integration), and writing them as JSONL."""

import json

TRL_ROWS = [
    {"prompt": "sort: 3 1 2", "chosen": "1 2 3", "rejected": "3 2 1", "chosen_score": 1.0, "rejected_score": 0.0,
     "chosen_logps_mean": -0.5, "rejected_logps_mean": -0.4},
    {"prompt": "sort: 9 8", "chosen": "8 9", "rejected": "9", "chosen_score": 0.9, "rejected_score": 0.7,
     "chosen_logps_mean": -0.2, "rejected_logps_mean": -1.2},
    {"prompt": "sort: 5 4 6", "chosen": "4 5 6", "rejected": "4 6 5", "chosen_score": 0.8, "rejected_score": 0.6,
     "chosen_logps_mean": -0.3, "rejected_logps_mean": -0.35, "prompt_id": "given"},
]  # fmt: skip


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)
