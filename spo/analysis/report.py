"""``spo report``: a markdown report with plots for one run, or a side-by-side comparison of several."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import yaml
from matplotlib.ticker import MaxNLocator

from spo.analysis.pipeline_report import pipeline_summary, plot_pipeline
from spo.analysis.plots import new_figure, save_figure
from spo.io import atomic_file, read_jsonl
from spo.metrics import format_table

THIRDS = {
    "heldout_difficulty.parquet": "Difficulty thirds of the held-out prompts: by the initial policy's mean reward "
    "over several answers per prompt, drawn once with seeds of their own (eval/heldout_difficulty.parquet), "
    "never from the answers being evaluated.",
    "policy_v0.parquet": "Difficulty thirds of the held-out prompts: by the initial evaluation's own answers (a run "
    "from before eval.difficulty_samples), so their movement includes regression to the mean.",
    None: "No difficulty thirds in this run.",
}
STAGE_TIMES = ("rollout_s", "select_s", "select_pairs_s", "train_s", "sync_s", "checkpoint_s", "eval_s")


def read_metrics(run: Path) -> tuple[list[dict], list[dict], dict]:
    """(per-iteration summary rows, eval rows, config) of a run directory."""
    if not (run / "metrics.jsonl").exists():
        raise ValueError(f"{run}: no metrics.jsonl; not a run directory")
    lines = read_jsonl(run / "metrics.jsonl")
    config = yaml.safe_load((run / "config.yaml").read_text()) if (run / "config.yaml").exists() else {}
    rows = [x for x in lines if x["stage"] == "iteration"]
    evals = [x for x in lines if x["stage"] == "eval"]
    return rows, evals, config


def missing_iterations(rows: list[dict], config: dict) -> list[int]:
    """Iterations the config asked for that have no complete record."""
    done = {r["iteration"] for r in rows}
    return [i for i in range(int(config.get("iterations", len(done)))) if i not in done]


def _win_rates(ax, evals: list[dict]) -> None:
    """Raw and length-controlled win rates, the LC 95% CI as error bars (visible for one point too), and the
    answer length on a second axis; legends below the axes, so they never cover a point."""
    wins = [e for e in evals if "win_rate" in e]
    if not wins:
        ax.text(0.5, 0.5, "no win rates in this run", ha="center", va="center", transform=ax.transAxes)
        return
    xs = [e["policy_version"] for e in wins]
    ax.plot(xs, [e["win_rate"] for e in wins], marker="o", label="win rate")
    lc = np.array([e["lc_win_rate"] for e in wins], float)
    judge = next(k.split("/", 1)[1] for k in wins[-1] if k.startswith("win_rate_ci95/"))
    lo, hi = (np.array(v, float) for v in zip(*(e[f"lc_win_rate_ci95/{judge}"] for e in wins)))
    ax.errorbar(xs, lc, yerr=[lc - lo, hi - lc], marker="s", capsize=4, label="length-controlled (95% CI)")
    ax.axhline(0.5, color="grey", lw=0.8)
    x = [e["policy_version"] for e in evals]
    twin = ax.twinx()
    twin.plot(x, [e["heldout_tokens_mean"] for e in evals], color="tab:red", alpha=0.5, ls="--", label="length")
    twin.set_ylabel("mean answer length (tokens)", color="tab:red")
    handles = [h for a in (ax, twin) for h in a.get_legend_handles_labels()[0]]
    labels = [lab for a in (ax, twin) for lab in a.get_legend_handles_labels()[1]]
    ax.legend(handles, labels, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    ax.set_xlim(min(x) - 0.5, max(x) + 0.5)


def _scorers(evals: list[dict]) -> list[str]:
    """The scorers with a held-out reward, in the order the eval rows name them."""
    return list(dict.fromkeys(k.split("/", 1)[1] for e in evals for k in e if k.startswith("heldout_reward/")))


def _reward_panel(ax, evals: list[dict], scorer: str | None) -> None:
    """The overall held-out reward and its difficulty thirds, every line from ``scorer`` (named in the title)."""
    x = [e["policy_version"] for e in evals]
    overall = f"heldout_reward/{scorer}" if scorer else "heldout_reward"
    ax.plot(x, [e.get(overall) for e in evals], marker="o", label="all held-out prompts")
    for bucket, style in (("easy", ":"), ("medium", "-."), ("hard", "--")):
        key = f"heldout_reward_{bucket}/{scorer}"
        if scorer and any(key in e for e in evals):
            ax.plot(x, [e.get(key) for e in evals], style, marker=".", label=f"{bucket} third")
    ax.set_xlabel("policy version (0 = initial)")
    ax.set_ylabel("mean held-out reward")
    ax.set_title(f"Held-out reward ({scorer})" if scorer else "Held-out reward")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)


def _judge(evals: list[dict]) -> str | None:
    return next((k.split("/", 1)[1] for e in evals for k in e if k.startswith("win_rate_ci95/")), None)


def reward_figure(evals: list[dict]):
    """One held-out reward panel per scorer (overall and difficulty thirds, all from that scorer), then the
    win rates against the baseline as the judge scorer decides them."""
    import matplotlib.pyplot as plt

    scorers = _scorers(evals) or [None]
    fig, axes = plt.subplots(1, len(scorers) + 1, figsize=(5.5 * (len(scorers) + 1), 5), dpi=110)
    for ax, scorer in zip(axes, scorers):
        _reward_panel(ax, evals, scorer)
    ax2 = axes[-1]
    _win_rates(ax2, evals)
    ax2.set_xlabel("policy version")
    ax2.set_ylabel("win rate vs baseline")
    judge = _judge(evals)
    ax2.set_title(f"Win rate, judged by {judge} (ties count half)" if judge else "Win rate (ties count half)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def _plot_reward(evals: list[dict], out: Path) -> None:
    save_figure(reward_figure(evals), out)


def _plot_difficulty(run: Path, rows: list[dict], config: dict, out: Path) -> bool:
    fig = difficulty_figure(run, rows, config)
    if fig is None:
        return False
    save_figure(fig, out)
    return True


def difficulty_figure(run: Path, rows: list[dict], config: dict):
    """Histograms of prompt difficulty per iteration, kept vs dropped; ``None`` without prompts tables."""
    iters = [r["iteration"] for r in rows if (run / f"iter_{r['iteration']}" / "prompts.parquet").exists()]
    if not iters:
        return None
    import matplotlib.pyplot as plt

    scorer = (config.get("difficulty") or {}).get("scorer") or (config.get("reward") or {}).get("primary")
    cols = min(len(iters), 5)
    nrows = -(-len(iters) // cols)
    width = max(3.2 * cols, 6.4)  # room for the title on a one-iteration run
    fig, axes = plt.subplots(nrows, cols, figsize=(width, 2.8 * nrows + 0.4), dpi=110, squeeze=False, sharex=True)
    for ax, it in zip(axes.flat, iters):
        t = pq.read_table(run / f"iter_{it}" / "prompts.parquet")
        col = f"difficulty/{scorer}" if f"difficulty/{scorer}" in t.column_names else next(
            c for c in t.column_names if c.startswith("difficulty/"))  # fmt: skip
        d = np.asarray(t.column(col).to_numpy(zero_copy_only=False), float)
        sel = np.asarray(t.column("selected").to_pylist(), bool)
        bins = np.linspace(np.nanmin(d), np.nanmax(d) + 1e-9, 16)
        ax.hist([d[sel], d[~sel]], bins=bins, stacked=True, color=["tab:blue", "lightgrey"], label=["kept", "dropped"])
        if sel.any() and (~sel).any():
            ax.axvspan(np.nanmin(d[sel]), np.nanmax(d[sel]), color="tab:blue", alpha=0.08)
        ax.set_title(f"iteration {it}", fontsize=9)
        ax.set_xlabel(f"{col} (low = hard)", fontsize=8)
        ax.set_ylabel("prompts", fontsize=8)
    for ax in list(axes.flat)[len(iters) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle("Prompt difficulty per iteration; shaded: the selected range", fontsize=10)
    return fig


def _plot_pair_metrics(run: Path, rows: list[dict], out: Path) -> bool:
    last = next(
        (r["iteration"] for r in reversed(rows) if (run / f"iter_{r['iteration']}" / "pairs.parquet").exists()), None
    )
    if last is None:
        return False
    import matplotlib.pyplot as plt

    t = pq.read_table(run / f"iter_{last}" / "pairs.parquet")
    metrics = [c for c in ("margin_explicit", "margin_implicit", "alignment_potential") if c in t.column_names]
    metrics += [c for c in t.column_names if c.startswith("judge_delta/")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.4), dpi=110, squeeze=False)
    sel = (
        np.asarray(t.column("selected").to_pylist(), bool)
        if "selected" in t.column_names
        else np.ones(t.num_rows, bool)
    )
    for ax, m in zip(axes.flat, metrics):
        v = np.asarray(t.column(m).to_numpy(zero_copy_only=False), float)
        ok = np.isfinite(v)
        bins = np.linspace(v[ok].min(), v[ok].max() + 1e-9, 20) if ok.any() else 10
        ax.hist(v[ok], bins=bins, color="lightgrey", label="all candidates")
        ax.hist(v[ok & sel], bins=bins, color="tab:green", alpha=0.8, label="selected")
        ax.set_xlabel(m)
        ax.set_ylabel("pairs")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"Pair metrics, iteration {last}")
    save_figure(fig, out)
    return True


def _plot_training(rows: list[dict], out: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), dpi=110)
    x = [r["iteration"] for r in rows]
    for ax, key, label in zip(axes, ("loss", "reward_accuracy", "reward_margin"),
                              ("loss", "reward accuracy", "implicit reward margin (chosen - rejected)")):  # fmt: skip
        ax.plot(x, [r.get(key) for r in rows], marker="o")
        ax.set_xlabel("iteration")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle("Learner")
    save_figure(fig, out)


def _plot_stage_times(rows: list[dict], out: Path) -> None:
    fig, ax = new_figure(8, 4)
    x = np.array([r["iteration"] for r in rows])
    bottom = np.zeros(len(rows))
    for key in STAGE_TIMES:
        v = np.array([r.get(key) or 0.0 for r in rows])
        ax.bar(x, v, bottom=bottom, label=key.removesuffix("_s"))
        bottom += v
    ax.set_xlabel("iteration")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("wall seconds")
    ax.set_title("Stage time per iteration (rollout includes overlapped generation and scoring)")
    ax.legend(fontsize=8, ncol=4)
    save_figure(fig, out)


def constraint_pass_rates(run: Path, config: dict) -> list[str]:
    """For ``ifeval_lite`` runs: per-constraint pass rates of the held-out answers, first vs last policy."""
    if config.get("task", {}).get("name") != "ifeval_lite":
        return []
    from spo.tasks.ifeval_lite import pass_rates

    versions = sorted(int(p.stem.removeprefix("policy_v")) for p in (run / "eval").glob("policy_v*.parquet"))
    if not versions:
        return []
    rates = {}
    for v in (versions[0], versions[-1]):
        t = pq.read_table(run / "eval" / f"policy_v{v}.parquet", columns=["prompt", "response"])
        rates[v] = pass_rates(t.column("prompt").to_pylist(), t.column("response").to_pylist())
    first, last = versions[0], versions[-1]
    lines = ["## Constraint pass rates (held-out answers)", "",
             f"| constraint | answers | policy v{first} | policy v{last} |", "|---|---|---|---|"]  # fmt: skip
    for kind, (passed, total) in sorted(rates[first].items(), key=lambda kv: kv[1][0] / kv[1][1]):
        end = rates[last].get(kind, (0, 0))
        lines.append(f"| {kind} | {total} | {passed / total:.2f} | {end[0] / max(end[1], 1):.2f} |")
    return [*lines, ""]


def report_run(run: str | Path) -> dict:
    """Write ``RUN/report/index.md`` and its plots; returns what was written and what is missing."""
    run = Path(run)
    rows, evals, config = read_metrics(run)
    out = run / "report"
    out.mkdir(exist_ok=True)
    missing = missing_iterations(rows, config)
    plots = []
    if evals:
        _plot_reward(evals, out / "reward.png")
        plots.append(("Held-out reward and win rate", "reward.png"))
    if _plot_difficulty(run, rows, config, out / "difficulty.png"):
        plots.append(("Prompt difficulty", "difficulty.png"))
    if _plot_pair_metrics(run, rows, out / "pair_metrics.png"):
        plots.append(("Pair metrics", "pair_metrics.png"))
    if rows:
        _plot_training(rows, out / "training.png")
        _plot_stage_times(rows, out / "stage_times.png")
        plots += [("Learner", "training.png"), ("Stage times", "stage_times.png")]
    if plot_pipeline(rows, out / "pipeline.png"):
        plots.append(("Pipeline: idle time and staleness", "pipeline.png"))
    table = format_table([{"iteration": -1, **evals[0]}] + rows if evals else rows)
    lines = [f"# Run report: {run.name}", ""]
    if missing:
        lines += [f"**Missing iterations:** {missing} (no complete record; reported what is here).", ""]
    if evals:
        first, last = evals[0], evals[-1]
        lines += [
            f"Held-out reward {first['heldout_reward']:.4f} → {last['heldout_reward']:.4f} "
            f"(policy v0 → v{last['policy_version']}); mean answer length "
            f"{first['heldout_tokens_mean']:.1f} → {last['heldout_tokens_mean']:.1f} tokens.",
            "",
        ]
        if "win_rate" in last:
            lines += [f"Win rate vs baseline {last['win_rate']:.3f}, length-controlled {last['lc_win_rate']:.3f}.", ""]
        lines += [THIRDS.get(last.get("heldout_thirds_from"), THIRDS[None]), ""]
    lines += ["```", table, "```", ""]
    lines += pipeline_summary(rows, config.get("pipeline", {}).get("mode", "sync"))
    lines += constraint_pass_rates(run, config)
    lines += [f"## {title}\n\n![{title}]({name})\n" for title, name in plots]
    with atomic_file(out / "index.md", "w") as fh:
        fh.write("\n".join(lines))
    return {"report": str(out / "index.md"), "plots": [n for _, n in plots], "missing_iterations": missing}


def compare_runs(runs: list[str], out_dir: str) -> dict:
    """Side-by-side held-out reward and win rate of several runs, with a summary table."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5), dpi=110)
    lines = ["# Run comparison", "", "| run | initial | final | gain | win rate | LC win rate | length | missing |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for label in runs:  # labelled as given, so runs with the same folder name stay apart
        run = Path(label)
        rows, evals, config = read_metrics(run)
        if not evals:
            continue
        x = [e["policy_version"] for e in evals]
        ax1.plot(x, [e["heldout_reward"] for e in evals], marker="o", label=label)
        ax2.plot(x, [e.get("lc_win_rate") for e in evals], marker="o", label=label)
        last = evals[-1]
        lines.append(
            f"| {label} | {evals[0]['heldout_reward']:.4f} | {last['heldout_reward']:.4f} | "
            f"{last['heldout_reward'] - evals[0]['heldout_reward']:+.4f} | {last.get('win_rate', float('nan')):.3f} | "
            f"{last.get('lc_win_rate', float('nan')):.3f} | {last['heldout_tokens_mean']:.1f} | "
            f"{missing_iterations(rows, config) or '-'} |"
        )
    for ax, label in ((ax1, "mean held-out reward"), (ax2, "length-controlled win rate vs baseline")):
        ax.set_xlabel("policy version (0 = initial)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    save_figure(fig, out / "compare.png")
    lines += ["", "![comparison](compare.png)", ""]
    with atomic_file(out / "index.md", "w") as fh:
        fh.write("\n".join(lines))
    return {"report": str(out / "index.md")}
