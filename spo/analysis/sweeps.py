"""Cross-run aggregation: reward per difficulty bin, and prune-fraction x model-size sweeps."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from spo.analysis.plots import new_figure, save_figure
from spo.analysis.runs import RunSummary


def _mean_std(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def group_final_rewards(runs: list[RunSummary], key) -> list[dict]:
    """Mean and std of the final held-out reward over the runs (seeds) in each group."""
    groups: dict = defaultdict(list)
    for r in runs:
        groups[key(r)].append(r)
    rows = []
    for k, rs in sorted(groups.items(), key=lambda kv: str(kv[0])):
        mean, std = _mean_std([r.final_reward for r in rs])
        init, _ = _mean_std([r.initial_reward for r in rs])
        rows.append({"group": k, "runs": len(rs), "seeds": sorted({r.seed for r in rs}), "final_mean": mean,
                     "final_std": std, "initial_mean": init, "gain_mean": mean - init})  # fmt: skip
    return rows


def format_rows(rows: list[dict], label: str) -> str:
    """A markdown table of grouped rewards."""
    lines = [f"| {label} | runs | seeds | held-out reward (final) | gain over initial |", "|---|---|---|---|---|"]
    for r in rows:
        group = " / ".join(map(str, r["group"])) if isinstance(r["group"], tuple) else r["group"]
        lines.append(
            f"| {group} | {r['runs']} | {r['seeds']} | {r['final_mean']:.4f} ± {r['final_std']:.4f} "
            f"| {r['gain_mean']:+.4f} |"
        )
    return "\n".join(lines)


def _bar_plot(rows: list[dict], xlabel: str, title: str, path: str) -> None:
    fig, ax = new_figure()
    labels = [" / ".join(map(str, r["group"])) if isinstance(r["group"], tuple) else str(r["group"]) for r in rows]
    ax.bar(labels, [r["final_mean"] for r in rows], yerr=[r["final_std"] for r in rows], capsize=4)
    initial = float(np.mean([r["initial_mean"] for r in rows]))
    ax.axhline(initial, color="grey", ls="--", label="initial policy")
    lo = min([initial] + [r["final_mean"] - r["final_std"] for r in rows])
    hi = max([initial] + [r["final_mean"] + r["final_std"] for r in rows])
    ax.set_ylim(lo - 0.1 * (hi - lo + 1e-9), hi + 0.1 * (hi - lo + 1e-9))  # bars differ by hundredths
    ax.set_xlabel(xlabel)
    ax.set_ylabel("final held-out reward (mean ± std over seeds)")
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend()
    save_figure(fig, path)


def bins_analysis(runs: list[RunSummary], plot: str | None) -> dict:
    """Final held-out reward per training-difficulty bin (0 = hardest), plus any ``all`` baseline."""
    rows = group_final_rewards(runs, lambda r: r.policy_label)
    if plot:
        _bar_plot(rows, "prompts trained on (bin 0 = hardest)", "Held-out reward by training-prompt difficulty", plot)
    return {"rows": rows, "table": format_rows(rows, "prompts trained on")}


def config_value(config: dict, dotted: str):
    """``config["a"]["b"]`` for ``"a.b"``; raises ``ValueError`` naming a missing key."""
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ValueError(f"no config key {dotted!r} in a run's config.yaml")
        node = node[part]
    return node


def group_analysis(runs: list[RunSummary], keys: list[str], plot: str | None) -> dict:
    """Final held-out reward grouped by the values of config ``keys`` (mean ± std over the rest, e.g. seeds)."""
    rows = group_final_rewards(runs, lambda r: tuple(config_value(r.config, k) for k in keys))
    if plot:
        _bar_plot(rows, " / ".join(keys), "Held-out reward by " + ", ".join(keys), plot)
    return {"rows": rows, "table": format_rows(rows, " / ".join(keys))}


def _is_easy(r: RunSummary) -> bool:
    s = r.selection
    return s.get("prompts") == "keep_easiest" or (s.get("prompts") == "bin" and s["bin"] == s["n_bins"] - 1)


def _is_hard(r: RunSummary) -> bool:
    s = r.selection
    return s.get("prompts") == "bin" and s["bin"] == 0


def sweep_analysis(runs: list[RunSummary], out_dir: str | None) -> dict:
    """Reward vs fraction pruned per model size, and the easy-minus-hard gap vs model size."""
    prune_runs = [r for r in runs if r.selection.get("prompts") in ("all", "drop_hardest")]
    prune = group_final_rewards(prune_runs, lambda r: (r.model_label, r.fraction_pruned))
    gaps = []
    for model in sorted({r.model_label for r in runs}):
        easy = [r.final_reward for r in runs if r.model_label == model and _is_easy(r)]
        hard = [r.final_reward for r in runs if r.model_label == model and _is_hard(r)]
        if easy and hard:
            params = next(r.n_params for r in runs if r.model_label == model)
            se = (
                np.sqrt(np.var(easy, ddof=1) / len(easy) + np.var(hard, ddof=1) / len(hard))
                if min(len(easy), len(hard)) > 1
                else 0.0
            )
            gaps.append({"model": model, "params": params, "easy_mean": float(np.mean(easy)),
                         "hard_mean": float(np.mean(hard)), "gap": float(np.mean(easy) - np.mean(hard)),
                         "gap_se": float(se), "runs": len(easy) + len(hard)})  # fmt: skip
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        if prune:
            fig, ax = new_figure()
            for model in sorted({row["group"][0] for row in prune}):
                pts = sorted(
                    (row["group"][1], row["final_mean"], row["final_std"]) for row in prune if row["group"][0] == model
                )
                xs, ys, es = zip(*pts)
                ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=model)
            ax.set_xlabel("fraction of hardest prompts pruned")
            ax.set_ylabel("final held-out reward (mean ± std over seeds)")
            ax.set_title("Pruning the hardest prompts")
            ax.legend()
            save_figure(fig, Path(out_dir) / "reward_vs_pruned.png")
        if gaps:
            fig, ax = new_figure()
            xs = [g["params"] or i for i, g in enumerate(gaps)]
            ax.errorbar(xs, [g["gap"] for g in gaps], yerr=[g["gap_se"] for g in gaps], marker="o", capsize=4)
            for x, g in zip(xs, gaps):
                ax.annotate(g["model"], (x, g["gap"]), textcoords="offset points", xytext=(4, 4), fontsize=8)
            ax.axhline(0, color="grey", lw=0.8)
            ax.set_xscale("log")
            ax.set_xlabel("policy parameters")
            ax.set_ylabel("final reward: easy-trained minus hard-trained (± s.e.)")
            ax.set_title("Easy-minus-hard gap vs model size")
            save_figure(fig, Path(out_dir) / "gap_vs_size.png")
    table = format_rows(prune, "model / fraction pruned")
    if gaps:
        table += "\n\n| model | params | easy | hard | easy - hard (± s.e.) |\n|---|---|---|---|---|\n" + "\n".join(
            f"| {g['model']} | {g['params']} | {g['easy_mean']:.4f} | {g['hard_mean']:.4f} "
            f"| {g['gap']:+.4f} ± {g['gap_se']:.4f} |"
            for g in gaps
        )
    return {"prune": prune, "gaps": gaps, "table": table}
