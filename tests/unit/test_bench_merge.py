"""benchmarks/merge.py pools a benchmark's parts (seeds measured in several runs) and recomputes its comparisons over
every seed; the pooled figures the results docs state come from it, so they are checked against the committed parts."""

import json
import shutil
from pathlib import Path

import pytest

from benchmarks.merge import merge

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
PREDICTED = ["predicted_smollm2_words_prior_first2_evalpin" + s for s in ("", "_from3", "_from6")]
OVERLAP = [
    "overlap_smollm2_it6_prefix",
    "overlap_smollm2_from_seed1_it6_prefix",
    "overlap_smollm2_from_seed3_it6_prefix",
]


@pytest.fixture
def out(tmp_path):
    for name in PREDICTED + OVERLAP:
        shutil.copy(RESULTS / f"{name}.json", tmp_path)
    return tmp_path


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_pooled_predicted_parts_give_the_nine_seed_figures_predicted_md_states(out):
    r = _read(merge("pooled", PREDICTED, out))
    assert r["seeds"] == list(range(9)) and r["model"] == "smollm2_words_prior_first2_evalpin"
    both = r["compare_control"]["predicted_vs_both"]
    assert round(both["tokens_per_pair_ratio"]["mean"], 3) == 0.709
    assert [round(x, 3) for x in both["tokens_per_pair_ratio"]["ci"]] == [0.611, 0.807]
    assert round(both["heldout_diff_per_seed"]["mean"], 3) == -0.037
    assert [round(x, 3) for x in both["heldout_diff_per_seed"]["ci"]] == [-0.083, 0.010]
    twin = r["compare_control"]["control_vs_posthoc"]
    assert round(twin["tokens_per_pair_ratio"]["mean"], 2) == 1.16
    assert round(r["compare"]["tokens_per_pair_ratio"]["mean"], 2) == 0.76
    # every part's per-seed figures come through unchanged, and each part is named with its commit
    parts = [_read(out / f"{n}.json") for n in PREDICTED]
    ratios = [v for p in parts for v in p["compare_control"]["predicted_vs_both"]["tokens_per_pair_ratio"]["values"]]
    assert both["tokens_per_pair_ratio"]["values"] == ratios
    assert len(r["offline"]) == sum(len(p["offline"]) for p in parts)
    assert [p["name"] for p in r["parts"]] == PREDICTED and all(p["commit"] for p in r["parts"])
    assert r["machine"] == parts[0]["machine"]  # where the runs were measured, not where they were pooled


def test_pooled_overlap_parts_give_the_six_seed_figures_pipeline_md_states(out):
    r = _read(merge("pooled", OVERLAP, out))
    sp = r["vs_sync"]["async_sp"]
    assert r["seeds"] == list(range(6)) and sp["target_missed"] == 2
    assert [round(x, 2) for x in sp["per_iteration_speedup"]["values"]] == [1.36, 1.35, 1.36, 1.39, 1.42, 1.37]
    assert round(sp["per_iteration_speedup"]["mean"], 2) == 1.38
    assert [round(x, 2) for x in sp["time_to_target_speedup"]["values"]] == [1.30, 1.15, 1.39, 1.28]
    assert round(sp["final_reward_diff"]["mean"], 3) == -0.040
    assert [round(x, 2) for x in sp["final_reward_diff"]["ci"]] == [-0.18, 0.10]
    # the overlap model reads every seed's split sync iterations: 6 seeds x 6 iterations
    first = _read(out / f"{OVERLAP[0]}.json")
    assert first["simulated"]["train_s"] != r["simulated"]["train_s"]
    train = [it["train_s"] for s in r["runs"].values() for it in s["sync"]["iterations"]]
    assert len(train) == 36 and r["simulated"]["train_s"] == pytest.approx(sum(train) / 36)


def test_a_seed_in_two_parts_is_refused_naming_the_file_and_nothing_is_written(out):
    shutil.copy(out / f"{PREDICTED[1]}.json", out / "predicted_copy.json")
    with pytest.raises(SystemExit, match=r"predicted_copy\.json: seed 3 is already in"):
        merge("pooled", [PREDICTED[0], PREDICTED[1], "predicted_copy"], out)
    assert not (out / "pooled.json").exists()


def test_parts_of_other_settings_or_families_are_refused(out):
    part = _read(out / f"{PREDICTED[1]}.json")
    part["predicted_overrides"] = part["predicted_overrides"][:-1]
    (out / "predicted_other.json").write_text(json.dumps(part))
    with pytest.raises(SystemExit, match=r"predicted_other\.json: predicted_overrides is"):
        merge("pooled", [PREDICTED[0], "predicted_other"], out)
    part = _read(out / f"{PREDICTED[1]}.json")
    part["machine"]["cpu"] = "another CPU"
    (out / "predicted_elsewhere.json").write_text(json.dumps(part))
    with pytest.raises(SystemExit, match=r"predicted_elsewhere\.json: machine is"):
        merge("pooled", [PREDICTED[0], "predicted_elsewhere"], out)
    shutil.copy(RESULTS / "predicted_stale.json", out)
    with pytest.raises(SystemExit, match=r"predicted_stale\.json: no 'compare'"):
        merge("pooled", [PREDICTED[0], "predicted_stale"], out)
    with pytest.raises(SystemExit, match="one family"):
        merge("pooled", [PREDICTED[0], OVERLAP[1]], out)
    with pytest.raises(SystemExit, match=r"predicted_gone\.json: no such result"):
        merge("pooled", [PREDICTED[0], "predicted_gone"], out)


def test_overlap_parts_that_ran_other_iterations_are_refused(out):
    part = _read(out / f"{OVERLAP[1]}.json")
    for modes in part["runs"].values():
        modes["sync"]["iterations"] = modes["sync"]["iterations"][:3]
    (out / "overlap_short.json").write_text(json.dumps(part))
    with pytest.raises(SystemExit, match="differ in their modes or iterations"):
        merge("pooled", [OVERLAP[0], "overlap_short"], out)
    assert not (out / "pooled.json").exists()
