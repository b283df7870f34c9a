"""Held-out reward against wall time, one panel per seed, one line per pipeline mode, from an
``overlap*.json`` result. Usage: ``python -m benchmarks.overlap_plot <result.json> <out.png>``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from spo.analysis.plots import save_figure

COLORS = {"sync": "tab:green", "one_step_off": "tab:orange", "async": "tab:blue", "sync_fast": "tab:red"}


def plot(result: dict, out: Path) -> None:
    import matplotlib.pyplot as plt

    seeds = sorted(result["runs"], key=int)
    fig, axes = plt.subplots(1, len(seeds), figsize=(4.2 * len(seeds), 3.6), dpi=110, squeeze=False)
    for ax, seed in zip(axes[0], seeds):
        runs = result["runs"][seed]
        for mode in [m for m in COLORS if m in runs]:  # fixed order and colour in every panel
            run = runs[mode]
            xs = [0.0] + [t for t, _ in run["curve"]]
            ys = [run["initial"]] + [v for _, v in run["curve"]]
            ax.plot(xs, ys, marker="o", ms=3, label=mode, color=COLORS[mode])
        ax.axhline(runs["target"], color="grey", ls="--", lw=0.8, label="target (split sync)")
        ax.set_title(f"{result.get('model', 'tiny')}, seed {seed}")
        ax.set_xlabel("wall seconds from the first iteration")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("held-out reward")
    axes[0][-1].legend(fontsize=7)
    save_figure(fig, out)


if __name__ == "__main__":
    plot(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
