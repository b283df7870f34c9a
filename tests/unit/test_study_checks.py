"""The studies tier's reference on a CPU model other than the one that produced a study."""

import json

import pytest

from benchmarks.studies.base import Claim, Study
from benchmarks.studies.checks import record, reference
from benchmarks.studies.replicate import claim_line

AMD, INTEL = "AMD EPYC 7B13", "Intel(R) Xeon(R) Processor"


def _study() -> Study:
    return Study(name="toy", title="Toy", results="toy.md", experiment="pair_metrics", arms={"a": ("x=1",)},
                 claims=(Claim("a improves", "a", "initial"),), check=("a", 1))  # fmt: skip


def _results(final: float = 0.61, command: str = "python -m spo.train experiment=pair_metrics x=1 seed=1") -> dict:
    cells = [{"arm": "a", "seed": s, "final": final + s / 10, "command": command} for s in (0, 1)]
    return {"machine": f"2 cores ({AMD}), 24 GiB, no GPU; Linux", "commits": ["abc1234"], "cells": cells}


def test_on_the_studys_own_cpu_the_committed_cell_is_the_reference(tmp_path):
    final, source = reference(_study(), _results(), AMD, tmp_path / "checks.json")
    assert final == pytest.approx(0.71) and "committed (from abc1234)" in source


def test_on_another_cpu_without_a_record_the_reason_names_the_command_that_records_one(tmp_path):
    with pytest.raises(LookupError, match="no check cell is recorded.*python -m benchmarks.studies check toy"):
        reference(_study(), _results(), INTEL, tmp_path / "checks.json")


def test_a_record_is_the_reference_on_its_cpu_until_the_study_or_its_command_changes(tmp_path):
    path = tmp_path / "checks.json"
    entry = record(_study(), _results(), 0.6523, INTEL, "abc1234", path)
    assert (entry["final"], entry["against"], entry["against_cpu"]) == (0.6523, pytest.approx(0.71), AMD)
    final, source = reference(_study(), _results(), INTEL, path)
    assert final == 0.6523 and "recorded on this CPU model" in source
    with pytest.raises(LookupError, match="no check cell"):  # recorded for one model, not for every other
        reference(_study(), _results(), "Some Other CPU", path)
    with pytest.raises(LookupError, match="stale"):  # the study regenerated: its committed figure moved
        reference(_study(), _results(final=0.62), INTEL, path)
    with pytest.raises(LookupError, match="stale"):  # its check cell's command changed
        reference(_study(), _results(command="python -m spo.train experiment=pair_metrics x=2 seed=1"), INTEL, path)


def test_recording_keeps_the_other_records_and_bad_json_names_the_file(tmp_path):
    path = tmp_path / "checks.json"
    record(_study(), _results(), 0.5, INTEL, "abc1234", path)
    other = Study(**{**_study().__dict__, "name": "other"})
    record(other, _results(), 0.4, INTEL, "abc1234", path)
    record(_study(), _results(), 0.3, "Some Other CPU", "abc1234", path)
    saved = json.loads(path.read_text())
    assert {cpu: {k: v["final"] for k, v in studies.items()} for cpu, studies in saved.items()} == {
        INTEL: {"other": 0.4, "toy": 0.5}, "Some Other CPU": {"toy": 0.3}}  # fmt: skip
    path.write_text("{not json")
    with pytest.raises(ValueError, match="checks.json: not valid JSON"):
        reference(_study(), _results(), INTEL, path)
    assert path.read_text() == "{not json"


def test_a_check_cell_missing_from_the_committed_results_is_named(tmp_path):
    results = _results()
    results["cells"] = results["cells"][:1]
    with pytest.raises(ValueError, match="no cell 'a' seed 1"):  # a defect the tier fails on, not a skip
        reference(_study(), results, AMD, tmp_path / "checks.json")


def test_a_replication_names_its_cpu_and_refuses_the_cpu_that_produced_the_study(monkeypatch):
    from benchmarks.studies import replicate as rep
    from benchmarks.studies.provenance import committed_cpu
    from benchmarks.studies.run import read_results

    assert rep.slug(INTEL) == "intel-xeon-processor" and rep.slug("AMD EPYC 7B13") == "amd-epyc-7b13"
    produced_on = committed_cpu(read_results(rep.STUDIES.get("pair_metrics")))
    monkeypatch.setattr(rep, "cpu_model", lambda: produced_on)
    with pytest.raises(SystemExit, match="repeats it bit for bit"):
        rep.replicate("pair_metrics")
    monkeypatch.setattr(rep, "cpu_model", lambda: "Some Other CPU")
    with pytest.raises(SystemExit, match=r"unknown arms \['nope'\]"):
        rep.replicate("pair_metrics", ["nope"])


def test_a_replicated_claim_is_printed_beside_the_committed_one():
    here = {"text": "a beats b", "verdict": "reproduces", "mean": 0.03, "lo": 0.01, "hi": 0.05, "seeds": [0, 1, 2]}
    there = {"text": "a beats b", "verdict": "not run yet"}
    line = claim_line(here, there)
    assert line == "- a beats b: here reproduces +0.0300 (+0.0100 to +0.0500, seeds [0, 1, 2]); committed not run yet"
