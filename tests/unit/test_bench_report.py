"""benchmarks/report.py renders what each result JSON records, including why a group was not run."""

import json
from pathlib import Path

from benchmarks.report import _notes

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def test_skipped_learner_groups_are_named_with_the_reason_the_run_recorded():
    r = {"tokens_per_s": {"trl": 1.0, "spo_1rank": 2.0}, "not_run": {"spo_2ranks": "out of memory", "x": "oom"}}
    assert _notes(r) == " Not run: spo_2ranks (out of memory). Not run: x (oom)."
    r["not_run"] = {"spo_2ranks": "out of memory", "spo_2ranks_shared": "out of memory"}
    assert _notes(r) == " Not run: spo_2ranks, spo_2ranks_shared (out of memory)."
    assert _notes({"tokens_per_s": {"trl": 1.0}}) == ""  # nothing skipped, no share_prompt rows: no note


def test_the_committed_smollm2_learner_result_states_its_own_skip():
    r = json.loads((RESULTS / "learner_smollm2.json").read_text())
    assert set(r["not_run"]) == {"spo_2ranks"} and r["tokens_per_s"].get("spo_2ranks") is None
    assert "Not run: spo_2ranks (six SmolLM2 ranks beside TRL exceed 24 GiB)." in _notes(r)
