"""Training on a learned proxy and evaluating on the gold (reward=sort_proxy): both held-out rewards are
recorded per iteration, the primary one is the proxy's, and the gold one is the task's rule on the very
answers the evaluation sampled."""

import json
import math

import pyarrow.parquet as pq
import pytest
from test_e2e import tiny_config

from spo.assets.tiny import build_tiny_reward_model
from spo.reward.rm_train import train_reward_model
from spo.runner import SelfPlayRunner
from spo.tasks import sort_digits


@pytest.fixture(scope="module")
def proxy_rm(tmp_path_factory, tiny_policy) -> str:
    """A tiny proxy trained on gold-labelled toy comparisons (right answer over a wrong one)."""
    tmp = tmp_path_factory.mktemp("proxy")
    base = build_tiny_reward_model(tiny_policy, tmp / "base")
    rows = sort_digits.generate_prompts(160, seed=9, min_len=3, max_len=6)
    pairs = [{"prompt_id": r["prompt_id"], "prompt": r["prompt"], "chosen": sort_digits.solution(r["prompt"]),
              "rejected": "9 9 9", "source": "sampled", "difficulty": 0.5} for r in rows]  # fmt: skip
    train_reward_model(pairs, str(base), tiny_policy, tmp / "rm", epochs=3, lr=1e-3, batch_size=32, force=True)
    return str(tmp / "rm")


@pytest.mark.usefixtures("ray_cluster")
def test_a_run_on_the_proxy_records_the_gold_beside_it(tmp_path, cache_dir, proxy_rm):
    run_dir = tmp_path / "run"
    cfg = tiny_config(run_dir, cache_dir, "reward=sort_proxy", f"reward.scorers.proxy.path={proxy_rm}", "iterations=1",
                      "prompts_per_iteration=64", "task.n_heldout=32", "tracking.backends=[]")  # fmt: skip
    SelfPlayRunner(cfg).run()
    evals = [x for x in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines()) if x["stage"] == "eval"]
    assert len(evals) == 2
    for e in evals:
        assert e["heldout_reward"] == e["heldout_reward/proxy"] and math.isfinite(e["heldout_reward/gold"])
        answers = pq.read_table(run_dir / "eval" / f"policy_v{e['policy_version']}.parquet").to_pylist()
        gold = [sort_digits.reward(a["prompt"], a["response"]) for a in answers]
        assert e["heldout_reward/gold"] == pytest.approx(sum(gold) / len(gold))
    samples = pq.read_table(run_dir / "iter_0" / "samples.parquet")
    assert {"reward/proxy", "reward/gold"} <= set(samples.column_names)
