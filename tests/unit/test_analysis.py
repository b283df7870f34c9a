"""Rank statistics against SciPy, and the analyze CLI on crafted run directories."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from scipy import stats as sps

from spo.analysis.stats import average_ranks, bootstrap_ci, kendall_tau_b, spearman
from spo.cli import main


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rank_statistics_match_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 8, 300).astype(float)  # many ties
    y = x + rng.normal(0, 3, 300).round()
    assert average_ranks(x) == pytest.approx(sps.rankdata(x))
    assert spearman(x, y) == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)
    assert kendall_tau_b(x, y, block=37) == pytest.approx(sps.kendalltau(x, y).statistic, abs=1e-12)


def test_bootstrap_ci_covers_the_true_correlation():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(20):
        x = rng.normal(size=200)
        y = 0.6 * x + 0.8 * rng.normal(size=200)  # Pearson 0.6 -> Spearman ~0.58
        lo, hi = bootstrap_ci(x, y, spearman, n_boot=200, seed=int(rng.integers(1 << 30)))
        covered += lo <= 6 / np.pi * np.arcsin(0.6 / 2) <= hi
    assert covered >= 17


def write_prompts(path, ids, **cols):
    pq.write_table(pa.table({"prompt_id": ids, **{f"difficulty/{k}": v for k, v in cols.items()}}), path)


def test_transfer_cli_json_counts_missing_and_plots(tmp_path, capsys):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_prompts(a, ["p1", "p2", "p3", "p4", "x"], rm=[0.1, 0.2, 0.3, 0.4, 0.5])
    write_prompts(b, ["p1", "p2", "p3", "p4", "y", "z"], judge=[1.0, 3.0, 2.0, 4.0, 0.0, 0.0])
    plot = tmp_path / "t.png"
    assert main(["analyze", "transfer", str(a), str(b), "--json", "--plot", str(plot)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["n_common"], out["only_in_a"], out["only_in_b"]) == (4, 1, 2)
    assert out["scorer_a"] == "rm" and out["scorer_b"] == "judge"
    assert out["spearman"] == pytest.approx(0.8)
    assert out["kendall_tau_b"] == pytest.approx(sps.kendalltau([1, 2, 3, 4], [1, 3, 2, 4]).statistic)
    assert out["hardest_overlap"]["50%"] == pytest.approx(0.5)
    assert plot.stat().st_size > 1000


def test_transfer_errors_name_the_problem(tmp_path, capsys):
    a, b, c = tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "c.parquet"
    write_prompts(a, ["p1", "p2"], rm=[0.1, 0.2], edit=[0.3, 0.1])
    write_prompts(b, ["q1", "q2"], rm=[0.1, 0.2])
    write_prompts(c, ["p1", "p2"], rm=[0.2, 0.1])
    assert main(["analyze", "transfer", str(a), str(c), "--plot", ""]) == 2
    assert "several difficulty columns" in capsys.readouterr().err
    assert main(["analyze", "transfer", str(a), str(c), "--scorer-a", "nope", "--plot", ""]) == 2
    assert "unknown scorer 'nope'" in capsys.readouterr().err
    assert main(["analyze", "transfer", str(c), str(b), "--plot", ""]) == 2
    assert "share 0 prompt ids" in capsys.readouterr().err
    assert main(["analyze", "transfer", str(a), str(c), "--scorer-a", "edit", "--plot", ""]) == 0
    assert "Spearman rho: 1.0000" in capsys.readouterr().out


def crafted_run(root, name, selection, model_hidden, seed, rewards):
    run = root / name
    (run / "iter_0").mkdir(parents=True)
    cfg = {"seed": seed, "selection": selection, "model": {"name": "tiny", "path": None,
           "tiny_hidden_size": model_hidden, "tiny_num_layers": 2}}  # fmt: skip
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    lines = [{"iteration": i - 1, "stage": "eval", "heldout_reward": r} for i, r in enumerate(rewards)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    write_prompts(run / "iter_0" / "prompts.parquet", ["a", "b"], rule=[0.2, 0.8])
    return run


def test_bins_and_sweep_cli_on_crafted_runs(tmp_path, capsys):
    sweep = tmp_path / "sweep-multirun"
    bins = {"prompts": "bin", "n_bins": 3, "fraction": 0.3}
    for seed in (0, 1):
        for b, final in ((0, 0.5), (2, 0.7)):
            crafted_run(sweep, f"h64-b{b}-s{seed}", {**bins, "bin": b}, 64, seed, [0.4, final + seed / 100])
            crafted_run(sweep, f"h128-b{b}-s{seed}", {**bins, "bin": b}, 128, seed, [0.4, final + 0.1 + b / 100])
        for f, final in ((0.0, 0.6), (0.5, 0.65)):
            crafted_run(sweep, f"p{f}-s{seed}", {"prompts": "drop_hardest", "fraction": f}, 128, seed, [0.4, final])
    assert main(["analyze", "bins", str(sweep), "--json", "--plot", str(tmp_path / "bins.png")]) == 0
    # two model sizes are two settings, not seeds: each bin splits by model.tiny_hidden_size
    rows = {(r["group"], r["split_by"]["model.tiny_hidden_size"]): r for r in json.loads(capsys.readouterr().out)}
    assert rows[("bin 0/3", 64)]["runs"] == 2 and rows[("all", 128)]["final_mean"] == pytest.approx(0.6)
    assert rows[("bin 2/3", 64)]["final_mean"] == pytest.approx((0.7 + 0.71) / 2)
    assert rows[("bin 2/3", 128)]["final_mean"] == pytest.approx(0.82)
    assert (tmp_path / "bins.png").stat().st_size > 1000
    out_dir = tmp_path / "plots"
    assert main(["analyze", "sweep", str(sweep), "--json", "--out", str(out_dir)]) == 0
    result = json.loads(capsys.readouterr().out)
    prune = {tuple(r["group"]): r["final_mean"] for r in result["prune"]}
    assert prune[("tiny-h128-l2", 0.0)] == pytest.approx(0.6) and prune[("tiny-h128-l2", 0.5)] == pytest.approx(0.65)
    gaps = {g["model"]: g["gap"] for g in result["gaps"]}
    assert gaps["tiny-h64-l2"] == pytest.approx(0.2) and gaps["tiny-h128-l2"] == pytest.approx(0.22)
    assert (out_dir / "reward_vs_pruned.png").exists() and (out_dir / "gap_vs_size.png").exists()


def test_analyze_rejects_a_folder_without_runs(tmp_path, capsys):
    assert main(["analyze", "bins", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_group_cli_groups_by_config_keys(tmp_path, capsys):
    root = tmp_path / "runs"
    for seed in (0, 1):
        for metric, final in (("alignment_potential", 0.7), ("uniform", 0.6)):
            crafted_run(
                root, f"{metric}-{seed}", {"prompts": "all", "pairs": metric}, 128, seed, [0.5, final + seed / 10]
            )
    assert (
        main(["analyze", "group", str(root), "--by", "selection.pairs", "--json", "--plot", str(tmp_path / "g.png")])
        == 0
    )
    rows = {r["group"][0]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["alignment_potential"]["final_mean"] == pytest.approx(0.75) and rows["uniform"]["runs"] == 2
    assert (tmp_path / "g.png").stat().st_size > 1000
    assert main(["analyze", "group", str(root), "--by", "learner.loss"]) == 2
    assert "no config key 'learner.loss'" in capsys.readouterr().err


def test_a_sweep_over_another_key_is_not_pooled_as_if_it_were_seeds(tmp_path, capsys):
    """A learner.beta sweep analysed by pair metric: each beta is its own group, n is shown, ± only over seeds."""
    root = tmp_path / "beta-multirun"
    for beta, final in ((0.05, 0.5), (0.2, 0.8)):
        for seed in (0, 1) if beta == 0.05 else (0,):
            run = crafted_run(root, f"b{beta}-s{seed}", {"prompts": "all", "pair_metric": "all"}, 128, seed,
                              [0.4, final + seed / 10])  # fmt: skip
            cfg = yaml.safe_load((run / "config.yaml").read_text())
            (run / "config.yaml").write_text(yaml.safe_dump({**cfg, "learner": {"beta": beta}}))
    plot = tmp_path / "g.png"
    assert main(["analyze", "group", str(root), "--by", "selection.pair_metric", "--json", "--plot", str(plot)]) == 0
    rows = {r["split_by"]["learner.beta"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[0.05]["runs"] == 2 and rows[0.05]["final_mean"] == pytest.approx(0.55)
    assert rows[0.2]["runs"] == 1 and rows[0.2]["final_std"] is None
    assert main(["analyze", "group", str(root), "--by", "selection.pair_metric", "--plot", ""]) == 0
    table = capsys.readouterr().out
    assert "| all [learner.beta=0.2] | 1 | [0] | 0.8000 (one run) |" in table and "0.8000 ±" not in table
    assert "Also split by learner.beta" in table
    assert main(["analyze", "sweep", str(root), "--out", ""]) == 2
    assert "the runs also differ in ['learner.beta']" in capsys.readouterr().err


def test_bar_charts_start_their_value_axis_at_zero(tmp_path):
    from spo.analysis.sweeps import _bar_plot

    rows = [{"group": g, "split_by": {}, "runs": 2, "final_mean": m, "final_std": 0.01, "initial_mean": 0.6}
            for g, m in (("a", 0.61), ("b", 0.63))]  # fmt: skip
    low, high = _bar_plot(rows, "x", "t", str(tmp_path / "b.png"))
    assert low == 0.0 and high > 0.63


def test_analyses_write_beside_the_runs_not_into_the_current_directory(tmp_path, monkeypatch, capsys):
    root = tmp_path / "study-multirun"
    for seed in (0, 1):
        for b, final in ((0, 0.5), (2, 0.7)):
            crafted_run(root, f"b{b}-s{seed}", {"prompts": "bin", "n_bins": 3, "fraction": 0.3, "bin": b}, 64, seed,
                        [0.4, final])  # fmt: skip
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert main(["analyze", "bins", str(root)]) == 0
    assert main(["analyze", "group", str(root), "--by", "selection.bin"]) == 0
    assert main(["analyze", "sweep", str(root)]) == 0
    assert main(["analyze", "transfer", str(root / "b0-s0"), str(root / "b2-s0")]) == 0
    out = capsys.readouterr().out
    assert list(cwd.iterdir()) == []
    assert (root / "analysis" / "sweep" / "gap_vs_size.png").stat().st_size > 1000  # no parameter counts: by name
    for name in ("bins.png", "group.png", "transfer.png"):
        assert (root / "analysis" / name).stat().st_size > 1000 and f"plot: {root / 'analysis' / name}" in out
