"""Logs and records land in the run they belong to, and a refused command leaves nothing behind (#14.3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from omegaconf import OmegaConf
from test_e2e import tiny_config

from spo.io import read_jsonl

ROOT = Path(__file__).resolve().parents[2]


def spo_train(cwd: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "spo.train", *overrides], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def finished_run(run_dir: Path, cache_dir) -> None:
    """A run directory holding a complete 1-iteration run (no Ray is needed to show it)."""
    cfg = tiny_config(run_dir, cache_dir, "iterations=1", "tracking.backends=[]", "run_name=done")
    (run_dir / "state").mkdir(parents=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.structured(cfg)))
    lines = [{"iteration": -1, "stage": "eval", "heldout_reward": 0.5}, {"iteration": 0, "stage": "iteration"}]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (run_dir / "state" / "complete.json").write_text('{"iteration": 0}')


def test_resume_logs_and_records_into_the_resumed_run(tmp_path, cache_dir, tiny_policy):
    run_dir = tmp_path / "elsewhere" / "done"
    finished_run(run_dir, cache_dir)
    proc = spo_train(tmp_path, f"resume={run_dir}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "already holds all 1 iterations" in (run_dir / "train.log").read_text()
    record = read_jsonl(run_dir / "invocations.jsonl")[-1]
    assert record["overrides"] == [f"resume={run_dir}"] and record["resumed_after"] == 0
    assert not (tmp_path / "runs").exists()  # no runs/default beside it
    assert not (run_dir / ".hydra").exists()


def test_a_refused_rerun_changes_nothing_and_a_refused_start_leaves_no_directory(tmp_path, cache_dir, tiny_policy):
    run_dir = tmp_path / "runs" / "done"
    finished_run(run_dir, cache_dir)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    proc = spo_train(tmp_path, "experiment=tiny", "run_name=done", "seed=5", f"cache_dir={cache_dir}",
                     "tracking.backends=[]", "iterations=1")  # fmt: skip
    assert proc.returncode == 2 and "holds a run with a different config (seed: 0 -> 5)" in proc.stdout + proc.stderr
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.yaml", "metrics.jsonl", "state"]

    proc = spo_train(tmp_path, "experiment=tiny", "run_name=fresh", "task.prompts_file=/no/such.jsonl")
    assert proc.returncode == 2 and "task.prompts_file: no such file" in proc.stdout + proc.stderr
    assert not (tmp_path / "runs" / "fresh").exists()
