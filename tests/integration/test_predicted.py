"""difficulty.source=predicted on the tiny model: ranking before generation, the budget, and resume."""

import json

import pyarrow.parquet as pq
import pytest
from test_e2e import tiny_config

from spo.cli import main
from spo.io import read_jsonl
from spo.runner import SelfPlayRunner

PREDICTED = ("prompts_per_iteration=48", "task.n_heldout=16", "tracking.backends=[]", "difficulty.source=predicted",
             "difficulty.oversample=2", "difficulty.explore=0.1", "generator.chunk_size=16")  # fmt: skip


def _lines(run_dir, stage):
    return {x["iteration"]: x for x in read_jsonl(run_dir / "metrics.jsonl") if x["stage"] == stage}


@pytest.mark.usefixtures("ray_cluster")
def test_predicted_difficulty_ranks_before_generating_and_stops_at_the_budget(tmp_path, cache_dir, tiny_policy, capsys):
    run_dir = tmp_path / "run"
    SelfPlayRunner(tiny_config(run_dir, cache_dir, "iterations=3", *PREDICTED)).run()
    rollout, select = _lines(run_dir, "rollout"), _lines(run_dir, "select")
    assert rollout[0]["rank_unranked"] == 96  # nothing observed yet: schedule order, said and counted
    for it in (1, 2):
        assert rollout[it]["rank_unranked"] == 0  # the learned model, fit on earlier observations, ranks all
        assert 0 <= select[it]["usable_auc"] <= 1 and -1 <= select[it]["difficulty_spearman"] <= 1
    for it in range(3):
        cands = pq.read_table(run_dir / f"iter_{it}" / "candidates.parquet")
        prompts = pq.read_table(run_dir / f"iter_{it}" / "prompts.parquet")
        assert cands.num_rows == 96 and len(cands.column("features")[0].as_py()) == 128 + 6  # embedding + text
        generated = prompts.column("prompt_id").to_pylist()
        assert len(generated) == rollout[it]["prompts_generated"] <= 96
        ranks = dict(zip(cands.column("prompt_id").to_pylist(), cands.column("rank").to_pylist()))
        assert sorted(ranks[p] for p in generated) == list(range(len(generated)))  # generated in rank order
        met = select[it]["usable_prompts"] >= 48
        assert met == rollout[it]["budget_met"] and (met or len(generated) == cands.column("rank").count())
        if it:
            assert set(prompts.column("prediction_source").to_pylist()) <= {"learned", "both"}
    row = _lines(run_dir, "iteration")[2]
    assert row["tokens_per_pair"] > 0 and row["saved_prompts"] == 96 - rollout[2]["prompts_generated"]
    # offline, the same predictor refit on iterations < k scores iteration k as the run did online
    capsys.readouterr()  # the run's own table
    assert main(["analyze", "predict", str(run_dir), "--predictor", "both", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["iteration"] for r in rows] == [1, 2] and [r["history_prompts"] for r in rows] == [
        select[0]["prompts"], select[0]["prompts"] + select[1]["prompts"]]  # fmt: skip
    assert rows[0]["usable_auc"] == pytest.approx(select[1]["usable_auc"])  # explored rows included in both
    # the pass-rate posterior reads pass/fail rewards only; the tiny task's graded reward is refused by name
    assert main(["analyze", "predict", str(run_dir), "--predictor", "history", "--history-usable", "pass_rate"]) == 2
    assert "needs a pass/fail pair scorer: prompt" in capsys.readouterr().err
    # a second run warmed on the first one's logs ranks its first iteration too, on hashed words with L1-CV
    warm = tmp_path / "warm"
    SelfPlayRunner(tiny_config(warm, cache_dir, "iterations=1", *PREDICTED, "difficulty.features=words",
                               "difficulty.learned_fit=l1_cv", f"difficulty.prior_runs=[{run_dir}]")).run()  # fmt: skip
    assert _lines(warm, "rollout")[0]["rank_unranked"] == 0 and 0 <= _lines(warm, "select")[0]["usable_auc"] <= 1
    cands = pq.read_table(warm / "iter_0" / "candidates.parquet")
    assert len(cands.column("features")[0].as_py()) == 6 + 512  # text statistics + hashed words, no embedding
    capsys.readouterr()
    assert main(["analyze", "predict", str(warm), "--predictor", "learned", "--prior", str(run_dir), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["iteration"] for r in rows] == [0] and rows[0]["history_prompts"] == sum(
        select[k]["prompts"] for k in range(3)) and rows[0]["learned_fit"] == "l1_cv"  # fmt: skip


@pytest.mark.usefixtures("ray_cluster")
@pytest.mark.parametrize("extra", [(), ("difficulty.first_samples=2", "selection.min_reward_spread=0.3")])
def test_a_resumed_predicted_run_selects_the_same_prompts(tmp_path, cache_dir, tiny_policy, extra):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    SelfPlayRunner(tiny_config(straight, cache_dir, "iterations=3", *PREDICTED, *extra)).run()
    SelfPlayRunner(tiny_config(resumed, cache_dir, "iterations=2", *PREDICTED, *extra)).run()
    SelfPlayRunner(tiny_config(resumed, cache_dir, "iterations=3", *PREDICTED, *extra)).run()
    a, b = (pq.read_table(d / "iter_2" / "samples.parquet") for d in (straight, resumed))
    assert a.select(["prompt_id", "sample_idx", "response"]).equals(b.select(["prompt_id", "sample_idx", "response"]))
    for name in ("candidates", "prompts"):
        a = pq.read_table(straight / "iter_2" / f"{name}.parquet")
        b = pq.read_table(resumed / "iter_2" / f"{name}.parquet")
        assert a.column("prompt_id").to_pylist() == b.column("prompt_id").to_pylist()
        for col in ("rank", "explored") if name == "candidates" else ("predicted_usable", "reason"):
            assert a.column(col).to_pylist() == pytest.approx(b.column(col).to_pylist()) if col == "predicted_usable" \
                else a.column(col).to_pylist() == b.column(col).to_pylist()  # fmt: skip


@pytest.mark.usefixtures("ray_cluster")
def test_wave_refits_rank_the_first_iteration_after_its_first_wave(tmp_path, cache_dir, tiny_policy):
    run_dir = tmp_path / "run"
    SelfPlayRunner(tiny_config(run_dir, cache_dir, "iterations=1", *PREDICTED, "difficulty.refit=wave")).run()
    rollout = _lines(run_dir, "rollout")[0]
    assert rollout["rank_unranked"] == 96 and rollout["waves"] >= 2  # 48 wanted, fewer usable in the first wave
    cands = pq.read_table(run_dir / "iter_0" / "candidates.parquet").sort_by("rank").to_pylist()
    prompts = pq.read_table(run_dir / "iter_0" / "prompts.parquet")
    generated = prompts.num_rows
    assert [c["rank"] for c in cands[:generated]] == list(range(generated))  # generated in (re-)rank order
    first, later = cands[:48], cands[48:generated]
    assert {c["prediction_source"] for c in first} == {"none"} and later  # the first wave: schedule order
    assert {c["prediction_source"] for c in later} == {"learned"}  # then the model fit on the first wave
    assert prompts.column("predicted_usable").null_count == 48


@pytest.mark.usefixtures("ray_cluster")
def test_first_samples_tops_up_only_the_prompts_whose_first_answers_tie(tmp_path, cache_dir, tiny_policy):
    """difficulty.first_samples=2 of generator.n_samples=4: every generated prompt has its first 2 answers; the 2 more
    (numbered 2 and 3) go exactly to those whose first 2 gave no usable pair; a prompt with 2 answers is usable."""
    run_dir = tmp_path / "run"
    cfg = tiny_config(run_dir, cache_dir, "iterations=2", *PREDICTED, "generator.n_samples=4",
                      "selection.min_reward_spread=0.3", "difficulty.first_samples=2")  # fmt: skip
    SelfPlayRunner(cfg).run()
    rollout = _lines(run_dir, "rollout")
    primary = f"reward/{cfg.reward.primary}"
    for it in (0, 1):
        samples = pq.read_table(run_dir / f"iter_{it}" / "samples.parquet").to_pylist()
        by_prompt = {}
        for s in samples:
            by_prompt.setdefault(s["prompt_id"], {})[s["sample_idx"]] = s[primary]
        assert len(by_prompt) == rollout[it]["prompts_generated"]
        topped = [p for p, r in by_prompt.items() if len(r) == 4]
        assert 0 < len(topped) == rollout[it]["prompts_topped_up"] < len(by_prompt)
        for rewards in by_prompt.values():
            assert sorted(rewards) in ([0, 1], [0, 1, 2, 3])
            first_spread = abs(rewards[0] - rewards[1])
            assert (first_spread > 0.3 + 1e-9) == (len(rewards) == 2)  # topped up exactly when the first two tie
        assert rollout[it]["samples_clean"] == len(samples) == 2 * len(by_prompt) + 2 * len(topped)
