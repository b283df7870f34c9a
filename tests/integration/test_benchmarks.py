"""Every benchmark's --quick mode runs to the end and writes valid JSON (timings are never asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every benchmark's quick mode: about 6 minutes; make test-slow (and .ci/run)

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "learner": ["tokens_per_s", "ratio_vs_trl", "mfu", "peak_matmul_flops", "profile_spo_rank"],
    "engines": ["cases", "greedy_match"],
    "generation": ["tokens_per_s", "ratio_engine_vs_plain", "ratio_actor_vs_plain", "profile_engine"],
    "pipeline": ["overlap", "generators", "two_vs_one_actor_speedup"],
    "buffer": ["sizes", "per_sample_cost_growth"],
    "sync": ["sizes", "transports"],
    "overlap": ["runs", "vs_sync", "simulated"],
    "dpo_step": ["layouts", "pairs_source"],
    "predicted": ["runs", "compare", "offline", "model"],
    "predicted_stale": ["runs", "summary", "discounts"],
    "pinning": ["steps_per_s", "speed_beside_vs_alone"],
}


@pytest.fixture(scope="module")
def results(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SPO_CACHE": str(cache_dir), "PYTHONPATH": str(ROOT)}
    for name in KEYS:
        proc = subprocess.run([sys.executable, "-m", f"benchmarks.bench_{name}", "--quick", "--out", str(out)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("name", list(KEYS))
def test_quick_benchmark_writes_valid_json(results, name):
    data = json.loads((results / f"{name}.json").read_text())
    assert data["benchmark"] == name and data["quick"] is True
    assert data["machine"]["cores"] >= 1 and data["machine"]["torch"]
    produced = data["produced_by"]  # the exact command, the commit and the date that wrote it
    assert produced["command"] == f"python -m benchmarks.bench_{name} --quick --out {results}"
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    assert produced["commit"].removesuffix("-dirty") == head.strip() and produced["date"][:2] == "20"
    assert f"({data['machine']['cpu']})" in produced["machine"]
    for key in KEYS[name]:
        assert key in data, key


def test_report_renders_every_benchmark(results):
    from benchmarks.report import render

    text = render(results)
    for title in (
        "## Learner",
        "## Rollout engines",
        "## Generation",
        "## Pipeline",
        "## Replay buffer",
        "## Weight sync",
        "## Predicted difficulty against post-hoc selection, same pair budget (tiny, seeds 0)",
        "## Stale history",
        "## Two roles on two cores, pinned or not (tiny, 1 thread each)",
    ):
        assert title in text
    for name in KEYS:
        assert f"Produced by `python -m benchmarks.bench_{name} --quick --out {results}` at commit" in text
    engines = json.loads((results / "engines.json").read_text())
    assert engines["greedy_match"]["tiny"] == 1.0  # hf_shared's greedy answers are generate's
    assert {c["n"] for c in engines["cases"]} == {4, 8} and all(
        "hf_shared" in c["tokens_per_s"] for c in engines["cases"]
    )
