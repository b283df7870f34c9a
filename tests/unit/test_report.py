"""Reports, exports, baselines and trackers on crafted run directories."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from spo.cli import main
from spo.errors import ConfigError
from spo.eval.heldout import compare_to_baseline, difficulty_buckets
from spo.eval.reference import load_reference_answers
from spo.schemas import generated_schema
from spo.tracking.config import TrackingConfig


def eval_table(rewards: dict[tuple[str, int], float], lengths: int = 3) -> pa.Table:
    rows = [dict(prompt_id=p, prompt=f"q-{p}", response=f"a-{p}-{i}", sample_idx=i, generator="g", policy_version=0,
                 iteration=-1, n_tokens=lengths, logprob_sum=None, finish_reason="stop") for (p, i) in rewards]  # fmt: skip
    t = pa.Table.from_pylist(rows, schema=generated_schema())
    return t.append_column("reward/rule", pa.array(list(rewards.values()), pa.float64()))


def crafted_run(root, iterations_done=(0, 2), iterations=3):
    run = root / "run"
    (run / "eval").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump({"iterations": iterations, "reward": {"primary": "rule"}}))
    base = {("a", 0): 0.2, ("b", 0): 0.5, ("c", 0): 0.9}
    lines = [
        {
            "iteration": -1,
            "stage": "eval",
            "policy_version": 0,
            "heldout_reward": 0.53,
            "heldout_reward/rule": 0.53,
            "heldout_tokens_mean": 3.0,
        }
    ]
    for it in iterations_done:
        d = run / f"iter_{it}"
        d.mkdir()
        pq.write_table(pa.table({"prompt_id": ["a", "b", "c", "d"], "difficulty/rule": [0.1, 0.4, 0.6, 0.9],
                                 "selected": [False, True, True, True]}), d / "prompts.parquet")  # fmt: skip
        pq.write_table(pa.table({"prompt_id": ["b", "c"], "margin_explicit": [0.5, 0.2], "margin_implicit": [0.1, -0.3],
                                 "alignment_potential": [1.0, -1.0], "selected": [True, False]}), d / "pairs.parquet")  # fmt: skip
        ev = {"iteration": it, "stage": "eval", "policy_version": it + 1, "heldout_reward": 0.6 + it / 100,
              "heldout_reward/rule": 0.6 + it / 100,
              "heldout_tokens_mean": 3.0, "win_rate": 0.6, "lc_win_rate": 0.55, "win_rate_ci95/rule": [0.5, 0.7],
              "lc_win_rate_ci95/rule": [0.45, 0.65], "heldout_reward_easy/rule": 0.9, "heldout_reward_hard/rule": 0.3}  # fmt: skip
        lines.append(ev)
        lines.append({**ev, "stage": "iteration", "loss": 0.6, "reward_accuracy": 0.7, "reward_margin": 0.1,
                      "rollout_s": 2.0, "train_s": 1.0, "eval_s": 0.5, "prompts_kept": 3, "pairs_trained": 1})  # fmt: skip
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    pq.write_table(eval_table(base), run / "eval" / "policy_v0.parquet")
    pq.write_table(eval_table({k: v + 0.1 for k, v in base.items()}), run / "eval" / "policy_v3.parquet")
    return run


def test_report_writes_every_plot_and_lists_missing_iterations(tmp_path, capsys):
    run = crafted_run(tmp_path)
    assert main(["report", str(run)]) == 0
    assert "missing iterations: [1]" in capsys.readouterr().out
    out = run / "report"
    for name in ("index.md", "reward.png", "difficulty.png", "pair_metrics.png", "training.png", "stage_times.png"):
        assert (out / name).stat().st_size > 500, name
    index = (out / "index.md").read_text()
    assert "**Missing iterations:** [1]" in index and "![Pair metrics](pair_metrics.png)" in index
    assert "Win rate vs baseline 0.600, length-controlled 0.550" in index


def test_report_compares_runs(tmp_path):
    a = crafted_run(tmp_path / "a")
    b = crafted_run(tmp_path / "b", iterations_done=(0, 1, 2))
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    text = (tmp_path / "cmp" / "index.md").read_text()
    assert f"| {a} |" in text and f"| {b} |" in text and "| [1] |" in text
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 500


def test_report_refuses_a_non_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


# The fields each tool reads, from its own code: AlpacaEval's model outputs, and Arena-Hard-Auto v2's
# gen_answer.py (answers) and add_markdown_info.py (the style-control metadata it reads back).
ALPACA_EVAL_FIELDS = {"instruction", "output", "generator", "dataset"}
ARENA_HARD_V2_FIELDS = {"uid", "ans_id", "model", "messages", "tstamp", "metadata"}
ARENA_HARD_V2_METADATA = {"token_len", "header_count", "list_count", "bold_count"}


def test_exports_match_the_formats(tmp_path):
    run = crafted_run(tmp_path)
    assert main(["export", str(run), "--format", "alpaca_eval", "--out", str(tmp_path / "ae.json")]) == 0
    ae = json.loads((tmp_path / "ae.json").read_text())
    assert len(ae) == 3 and set(ae[0]) == ALPACA_EVAL_FIELDS
    assert ae[0]["generator"] == "run-v3" and ae[0]["output"] == "a-a-0"
    assert main(["export", str(run), "--format", "alpaca_eval", "--out", str(tmp_path / "ae.jsonl")]) == 0
    lines = [json.loads(x) for x in (tmp_path / "ae.jsonl").read_text().splitlines()]  # name and content agree
    assert lines == ae
    assert main(["export", str(run), "--format", "alpaca_eval", "--out", str(tmp_path / "ae.txt")]) == 2

    out = tmp_path / "ah.jsonl"
    assert main(["export", str(run), "--format", "arena_hard", "--version", "0", "--out", str(out)]) == 0
    ah = [json.loads(x) for x in out.read_text().splitlines()]
    assert set(ah[0]) == ARENA_HARD_V2_FIELDS and set(ah[0]["metadata"]) == ARENA_HARD_V2_METADATA
    assert ah[0]["uid"] == "a" and ah[0]["messages"][-1]["content"]["answer"] == "a-a-0"  # as Arena-Hard reads it
    assert ah[0]["messages"][0] == {"role": "user", "content": "q-a"} and ah[0]["metadata"]["token_len"] == 3
    assert main(["export", str(run), "--format", "arena_hard", "--version", "0", "--arena-version", "v0.1",
                 "--out", str(out)]) == 0  # fmt: skip
    old = json.loads(out.read_text().splitlines()[0])
    assert set(old) == {"question_id", "answer_id", "model_id", "choices", "tstamp"}
    assert main(["export", str(run), "--format", "arena_hard", "--version", "7", "--out", str(tmp_path / "x")]) == 2


def test_arena_hard_style_counts_follow_its_definitions():
    from spo.export import markdown_counts

    text = "# Title\n## Sub\n1. one\n2. two\n- a\n  * b\n**bold** and __under__\n```\n# not a header\n- nor a list\n```"
    counts = markdown_counts(text)
    assert counts["header_count"] == {"h1": 1, "h2": 1, "h3": 0, "h4": 0, "h5": 0, "h6": 0}
    assert counts["list_count"] == {"ordered": 2, "unordered": 2} and counts["bold_count"] == {"**": 1, "__": 1}


def test_compare_to_baseline_and_buckets():
    base = eval_table({("a", 0): 0.2, ("b", 0): 0.5, ("c", 0): 0.9, ("a", 1): 0.4})
    cand = eval_table({("a", 0): 0.3, ("b", 0): 0.5, ("c", 0): 0.1, ("a", 1): 0.8})
    r = compare_to_baseline(cand, base, "rule")
    assert r["win_rate/rule"] == pytest.approx((1 + 0.5 + 0 + 1) / 4) and r["win_rate_n"] == 4
    assert r["lc_win_rate/rule"] == pytest.approx(r["win_rate/rule"], abs=1e-6)  # equal lengths
    ref = eval_table({("a", 0): 0.9, ("b", 0): 0.1, ("c", 0): 0.5})  # one answer per prompt: matched on prompt
    assert compare_to_baseline(cand, ref, "rule")["win_rate/rule"] == pytest.approx((0 + 1 + 0 + 0) / 4)
    buckets = difficulty_buckets(cand, base, "rule")  # base means: a 0.3 (hard), b 0.5, c 0.9 (easy)
    assert buckets == {"heldout_reward_hard/rule": pytest.approx(0.55), "heldout_reward_medium/rule": 0.5,
                       "heldout_reward_easy/rule": 0.1}  # fmt: skip


def test_reference_answers_must_cover_the_heldout_prompts(tmp_path):
    path = tmp_path / "ref.jsonl"
    path.write_text(json.dumps({"prompt_id": "a", "answer": "x"}) + "\n")
    heldout = [{"prompt_id": "a"}, {"prompt_id": "b"}, {"prompt_id": "c"}]
    with pytest.raises(ConfigError, match=r"lacks answers for 2 held-out prompts, e.g. \['b', 'c'\]"):
        load_reference_answers(str(path), heldout)
    path.write_text('{"prompt_id": "a"}\n')
    with pytest.raises(ConfigError, match="row 1: needs prompt_id and answer"):
        load_reference_answers(str(path), heldout)


def check_backends(backends):
    TrackingConfig(backends=backends).validate()


def test_tracker_backends_are_checked():
    check_backends(["tensorboard"])
    with pytest.raises(ConfigError, match="unknown backend 'neptune'"):
        check_backends(["neptune"])
    import importlib.util

    if importlib.util.find_spec("wandb") is None:
        with pytest.raises(ConfigError, match="'wandb' is enabled but the 'wandb' package is not installed"):
            check_backends(["wandb"])


def test_progress_lines_say_where_the_run_is_and_the_time_left():
    from spo.metrics import progress_line

    assert progress_line(0, 5, 40.0) == "iteration 1/5 complete; about 2.7 min left (40 s per iteration so far)"
    assert progress_line(3, 5, 30.0) == "iteration 4/5 complete; about 30 s left (30 s per iteration so far)"
    assert progress_line(4, 5, 30.0).startswith("iteration 5/5 complete; done")


def test_one_iteration_plots_show_their_title_the_win_rate_point_and_the_lc_ci(tmp_path):
    """A one-iteration run: the difficulty title fits its figure, no legend covers the single win-rate point,
    and the LC 95% CI is drawn (a zero-width band was invisible)."""
    from spo.analysis.report import difficulty_figure, read_metrics, reward_figure

    run = crafted_run(tmp_path, iterations_done=(0,), iterations=1)
    rows, evals, config = read_metrics(run)
    fig = difficulty_figure(run, rows, config)
    fig.canvas.draw()
    title = fig._suptitle.get_window_extent()
    assert title.x0 >= 0 and title.x1 <= fig.bbox.width

    fig = reward_figure(evals)
    fig.canvas.draw()
    ax = next(a for a in fig.axes if a.get_title().startswith("Win rate"))
    point = ax.transData.transform((1, 0.6))  # the one win-rate point
    for legend in (a.get_legend() for a in fig.axes if a.get_legend() is not None):
        assert not legend.get_window_extent().contains(*point)
    (errorbar,) = ax.containers  # the LC CI: one vertical bar from 0.45 to 0.65
    segments = errorbar.lines[2][0].get_segments()
    assert len(segments) == 1 and segments[0][:, 1].tolist() == pytest.approx([0.45, 0.65])


def test_each_reward_panel_draws_every_line_from_the_scorer_it_names():
    """With two scorers, one panel each: the overall line and the thirds come from the same scorer (the demo
    report once drew the overall line from rule and the thirds from rm)."""
    from spo.analysis.report import reward_figure

    evals = [{"policy_version": v, "heldout_reward": r, "heldout_reward/rule": r, "heldout_reward/rm": m,
              "heldout_reward_easy/rule": r + 0.1, "heldout_reward_hard/rule": r - 0.1,
              "heldout_reward_easy/rm": m + 0.2, "heldout_reward_hard/rm": m - 0.2, "heldout_tokens_mean": 5.0}
             for v, r, m in ((0, 0.2, 0.6), (1, 0.3, 0.5))]  # fmt: skip
    fig = reward_figure(evals)
    panels = {a.get_title(): a for a in fig.axes if a.get_title().startswith("Held-out reward")}
    assert set(panels) == {"Held-out reward (rule)", "Held-out reward (rm)"}
    for scorer, (overall, easy, hard) in {"rule": ((0.2, 0.3), (0.3, 0.4), (0.1, 0.2)),
                                          "rm": ((0.6, 0.5), (0.8, 0.7), (0.4, 0.3))}.items():  # fmt: skip
        lines = {line.get_label(): list(line.get_ydata()) for line in panels[f"Held-out reward ({scorer})"].lines}
        assert lines["all held-out prompts"] == pytest.approx(overall)
        assert lines["easy third"] == pytest.approx(easy) and lines["hard third"] == pytest.approx(hard)


def test_thirds_from_an_independent_estimate_do_not_move_for_a_policy_that_does_not_change():
    """A policy that never changes, evaluated twice with one sample per prompt: thirds defined by the first
    evaluation's own answers move (regression to the mean: the "hard" third rises), thirds defined by an
    independent several-sample estimate stay put within noise."""
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 3000)  # each prompt's true success rate under the fixed policy

    def answers(n: int, seed: int) -> pa.Table:
        draws = np.random.default_rng(seed).uniform(size=(len(p), n)) < p[:, None]
        return eval_table({(f"q{i}", k): float(draws[i, k]) for i in range(len(p)) for k in range(n)})

    v0, v1, independent = answers(1, 1), answers(1, 2), answers(4, 3)
    own = {v: difficulty_buckets(t, v0, "rule") for v, t in (("v0", v0), ("v1", v1))}
    assert own["v1"]["heldout_reward_hard/rule"] - own["v0"]["heldout_reward_hard/rule"] > 0.15  # the artefact
    fair = {v: difficulty_buckets(t, independent, "rule") for v, t in (("v0", v0), ("v1", v1))}
    for third in ("easy", "medium", "hard"):
        key = f"heldout_reward_{third}/rule"
        assert abs(fair["v1"][key] - fair["v0"][key]) < 0.04, third  # 1000 prompts a third: sd of a change ~0.02


def test_report_shows_idle_time_per_role_and_pair_staleness(tmp_path):
    run = crafted_run(tmp_path)
    (run / "config.yaml").write_text(yaml.safe_dump({"iterations": 3, "reward": {"primary": "rule"},
                                                     "pipeline": {"mode": "one_step_off"}}))  # fmt: skip
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    for x, hist in zip((x for x in lines if x["stage"] == "iteration"), ({"0": 4}, {"1": 3})):
        x.update(iteration_s=10.0, generator_busy_s=8.0, learner_busy_s=5.0, scorer_busy_s=1.0,
                 generator_idle_fraction=0.2, learner_idle_fraction=0.5, scorer_idle_fraction=0.9,
                 pair_staleness_hist=hist)  # fmt: skip
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert main(["report", str(run)]) == 0
    index = (run / "report" / "index.md").read_text()
    assert (
        "Pipeline mode `one_step_off`: 20 s over 2 iterations. Idle share of the run: generator 20%, learner 50%, "
        "scorer 90%. Pairs trained, by staleness (versions behind the learner): 4 at 0, 3 at 1."
    ) in index
    assert (run / "report" / "pipeline.png").stat().st_size > 500


def test_trackers_get_a_histogram_as_one_scalar_per_bin():
    from spo.tracking.base import numeric

    assert numeric({"loss": 0.5, "ok": True, "pair_staleness_hist": {"0": 3, "1": 2}, "name": "x"}) == {
        "loss": 0.5, "pair_staleness_hist/0": 3.0, "pair_staleness_hist/1": 2.0}  # fmt: skip
