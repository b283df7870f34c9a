"""Cross-run aggregation: reward per difficulty bin, and prune-fraction x model-size sweeps."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from spo.analysis.plots import new_figure, save_figure
from spo.analysis.runs import RunSummary
from spo.config import flatten

# Keys that tell runs apart without changing what they measure: only these are pooled (as seeds).
POOLED_KEYS = ("seed", "run_name", "run_dir", "resume", "cache_dir")


def differing_keys(runs: list[RunSummary], explained: tuple[str, ...] = ()) -> list[str]:
    """Config keys whose values differ between ``runs``, bar the pooled ones and those under ``explained``
    (keys or ``prefix.`` groups that the analysis already groups by)."""
    return _differing([flatten(r.config) for r in runs], explained)


def _differing(flats: list[dict], explained: tuple[str, ...]) -> list[str]:
    keys = sorted({k for f in flats for k in f})
    differ = [k for k in keys if len({repr(f.get(k)) for f in flats}) > 1]
    return [k for k in differ if k not in POOLED_KEYS and not any(k == e or k.startswith(e) for e in explained)]


def _mean_std(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample std; no std for a single run."""
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else None


def group_final_rewards(runs: list[RunSummary], key, explained: tuple[str, ...] = ()) -> list[dict]:
    """Mean and std of the final held-out reward over the runs in each group.

    Runs are pooled only over seeds: a config key that differs between the runs and that ``key`` does not
    already group by (``explained``) splits the groups too, and each row names its value in ``split_by``.
    """
    flats = [flatten(r.config) for r in runs]
    extra = _differing(flats, explained)
    groups: dict = defaultdict(list)
    for r, flat in zip(runs, flats):
        groups[(key(r), tuple(repr(flat.get(k)) for k in extra))].append((r, flat))
    rows = []
    for (k, _), members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        rs = [r for r, _ in members]
        mean, std = _mean_std([r.final_reward for r in rs])
        init, _ = _mean_std([r.initial_reward for r in rs])
        split = {e: members[0][1].get(e) for e in extra}
        rows.append({"group": k, "split_by": split, "runs": len(rs), "seeds": sorted({r.seed for r in rs}),
                     "final_mean": mean, "final_std": std, "initial_mean": init, "gain_mean": mean - init})  # fmt: skip
    return rows


def _label(row: dict) -> str:
    group = " / ".join(map(str, row["group"])) if isinstance(row["group"], tuple) else str(row["group"])
    return group + "".join(f" [{k}={v}]" for k, v in row.get("split_by", {}).items())


def _reward(row: dict) -> str:
    if row["final_std"] is None:
        return f"{row['final_mean']:.4f} (one run)"
    return f"{row['final_mean']:.4f} ± {row['final_std']:.4f}"


def format_rows(rows: list[dict], label: str) -> str:
    """A markdown table of grouped rewards (± is the std over a group's seeds; never shown for one run)."""
    lines = [f"| {label} | n runs | seeds | held-out reward (final) | gain over initial |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {_label(r)} | {r['runs']} | {r['seeds']} | {_reward(r)} | {r['gain_mean']:+.4f} |")
    split = sorted({k for r in rows for k in r.get("split_by", {})})
    if split:
        lines.append(f"\nAlso split by {', '.join(split)}: these differ between the runs; only seeds are pooled.")
    return "\n".join(lines)


def _bar_plot(rows: list[dict], xlabel: str, title: str, path: str) -> tuple[float, float]:
    """Bars of the final reward per group (error bars: std over seeds, none for one run), value axis from 0;
    returns the y limits."""
    fig, ax = new_figure(width=max(7.0, 2.2 * len(rows)))
    labels = [_label(r).replace(" [", "\n[") + f"\nn={r['runs']}" for r in rows]
    errors = [r["final_std"] if r["final_std"] is not None else 0.0 for r in rows]
    ax.bar(labels, [r["final_mean"] for r in rows])
    with_std = [i for i, r in enumerate(rows) if r["final_std"] is not None]  # no error bar for a single run
    if with_std:
        ax.errorbar(with_std, [rows[i]["final_mean"] for i in with_std], yerr=[errors[i] for i in with_std],
                    fmt="none", ecolor="black", capsize=4)  # fmt: skip
    initial = float(np.mean([r["initial_mean"] for r in rows]))
    ax.axhline(initial, color="grey", ls="--", label="initial policy")
    lo = min([0.0, initial] + [r["final_mean"] - e for r, e in zip(rows, errors)])
    hi = max([initial] + [r["final_mean"] + e for r, e in zip(rows, errors)])
    ax.set_ylim(lo, hi + 0.1 * (hi - lo + 1e-9))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("final held-out reward (mean ± std over seeds)")
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend()
    limits = ax.get_ylim()
    save_figure(fig, path)
    return limits


BIN_KEYS = ("selection.prompts", "selection.fraction", "selection.bin", "selection.n_bins")


def bins_analysis(runs: list[RunSummary], plot: str | None) -> dict:
    """Final held-out reward per training-difficulty bin (0 = hardest), plus any ``all`` baseline."""
    rows = group_final_rewards(runs, lambda r: r.policy_label, BIN_KEYS)
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
    rows = group_final_rewards(runs, lambda r: tuple(config_value(r.config, k) for k in keys), tuple(keys))
    if plot:
        _bar_plot(rows, " / ".join(keys), "Held-out reward by " + ", ".join(keys), plot)
    return {"rows": rows, "table": format_rows(rows, " / ".join(keys))}


def _is_easy(r: RunSummary) -> bool:
    s = r.selection
    return s.get("prompts") == "keep_easiest" or (s.get("prompts") == "bin" and s["bin"] == s["n_bins"] - 1)


def _is_hard(r: RunSummary) -> bool:
    s = r.selection
    return s.get("prompts") == "bin" and s["bin"] == 0


def _sweep_plots(prune: list[dict], gaps: list[dict], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    if prune:
        fig, ax = new_figure()
        for model in sorted({row["group"][0] for row in prune}):
            pts = sorted(
                (row["group"][1], row["final_mean"], row["final_std"] or 0.0)
                for row in prune
                if row["group"][0] == model
            )
            xs, ys, es = zip(*pts)
            ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=model)
        ax.set_xlabel("fraction of hardest prompts pruned")
        ax.set_ylabel("final held-out reward (mean ± std over seeds)")
        ax.set_title("Pruning the hardest prompts")
        ax.legend()
        save_figure(fig, out_dir / "reward_vs_pruned.png")
    if gaps:
        fig, ax = new_figure()
        sized = all(g["params"] for g in gaps)  # parameter counts on a log axis, else models side by side
        xs = [g["params"] if sized else i for i, g in enumerate(gaps)]
        ax.errorbar(xs, [g["gap"] for g in gaps], yerr=[g["gap_se"] for g in gaps], marker="o", capsize=4)
        ax.axhline(0, color="grey", lw=0.8)
        if sized:
            ax.set_xscale("log")
            for x, g in zip(xs, gaps):
                ax.annotate(g["model"], (x, g["gap"]), textcoords="offset points", xytext=(4, 4), fontsize=8)
        else:  # the names are the ticks
            ax.set_xticks(xs, [g["model"] for g in gaps])
        ax.set_xlabel("policy parameters" if sized else "model (parameter count not recorded)")
        ax.set_ylabel("final reward: easy-trained minus hard-trained (± s.e.)")
        ax.set_title("Easy-minus-hard gap vs model size")
        save_figure(fig, out_dir / "gap_vs_size.png")


def sweep_analysis(runs: list[RunSummary], out_dir: str | None) -> dict:
    """Reward vs fraction pruned per model size, and the easy-minus-hard gap vs model size.

    The runs may differ only in the model, the prompt selection and the seed; anything else is refused.
    """
    other = differing_keys(runs, ("model.", "selection."))
    if other:
        raise ValueError(
            f"the runs also differ in {other}, which a model-size x pruning sweep would pool; analyse each "
            "setting on its own, or compare them with spo analyze group --by KEY"
        )
    prune_runs = [r for r in runs if r.selection.get("prompts") in ("all", "drop_hardest")]
    prune = group_final_rewards(prune_runs, lambda r: (r.model_label, r.fraction_pruned), ("model.", "selection."))
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
        _sweep_plots(prune, gaps, Path(out_dir))
    table = format_rows(prune, "model / fraction pruned")
    if gaps:
        table += "\n\n| model | params | easy | hard | easy - hard (± s.e.) |\n|---|---|---|---|---|\n" + "\n".join(
            f"| {g['model']} | {g['params']} | {g['easy_mean']:.4f} | {g['hard_mean']:.4f} "
            f"| {g['gap']:+.4f} ± {g['gap_se']:.4f} |"
            for g in gaps
        )
    return {"prune": prune, "gaps": gaps, "table": table}
