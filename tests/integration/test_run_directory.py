"""What a run directory does when a driver meets it again: a finished run prints its table and starts nothing."""

from __future__ import annotations

import json

import pytest
import ray
from omegaconf import OmegaConf
from test_e2e import tiny_config

from spo.runner import RunInterrupted, SelfPlayRunner


def test_a_finished_run_prints_its_table_without_starting_ray(tmp_path, cache_dir, tiny_policy, capsys):
    run_dir = tmp_path / "run"
    cfg = tiny_config(run_dir, cache_dir, "iterations=2")
    (run_dir / "state").mkdir(parents=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.structured(cfg)))
    lines = [{"iteration": -1, "stage": "eval", "heldout_reward": 0.5},
             *({"iteration": k, "stage": "iteration", "heldout_reward": 0.6 + k / 10} for k in (0, 1))]  # fmt: skip
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (run_dir / "state" / "complete.json").write_text('{"iteration": 1}')
    runner = SelfPlayRunner(cfg)
    rows = runner.run()
    assert [r["iteration"] for r in rows] == [-1, 0, 1] and getattr(runner, "roles", None) is None
    out = capsys.readouterr().out
    assert "0.700" in out and f"run directory: {run_dir}" in out


@pytest.mark.usefixtures("ray_cluster")
def test_ctrl_c_stops_the_actors_says_what_is_complete_and_how_to_continue(
    tmp_path, cache_dir, tiny_policy, monkeypatch
):
    run_dir = tmp_path / "run"
    cfg = tiny_config(run_dir, cache_dir, "iterations=2", "prompts_per_iteration=32", "task.n_heldout=16",
                      "tracking.backends=[]")  # fmt: skip
    runner = SelfPlayRunner(cfg)

    def interrupted(iteration):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "learn", interrupted)
    with pytest.raises(RunInterrupted) as info:
        runner.run()
    message = str(info.value)
    assert "no iteration is complete yet (of 2)" in message and f"python -m spo.train resume={run_dir}" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(ray.exceptions.RayActorError):  # the actors were stopped
        ray.get(runner.generators.workers[0].get_policy_version.remote(), timeout=30)
