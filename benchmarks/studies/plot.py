"""A study's figure, from its results JSON: the held-out reward after each iteration, one line per arm
(the mean over its seeds, each seed's run as a thin line of the same colour)."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from benchmarks.studies.base import Study
from spo.analysis.plots import new_figure, save_figure


def plot_study(study: Study, results: dict, path) -> None:
    fig, ax = new_figure(10.0, 4.8)
    for k, arm in enumerate(study.arms):
        curves = [c["curve"] for c in results["cells"] if c["arm"] == arm]
        if not curves:
            continue
        colour, style = f"C{k % 10}", ("-", "--", ":")[k // 10 % 3]  # past ten arms, colours repeat dashed
        steps = min(len(c) for c in curves)
        x = np.arange(steps)  # 0 = the initial policy, i = after iteration i-1
        for c in curves:
            ax.plot(x, c[:steps], color=colour, ls=style, alpha=0.25, lw=0.8)
        ax.plot(x, np.mean([c[:steps] for c in curves], axis=0), color=colour, ls=style, lw=2,
                label=f"{arm} (mean of {len(curves)} seeds)")  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iterations trained (0 = initial policy)")
    ax.set_ylabel(study.metric_label.split(" (")[0])
    ax.set_title(f"{study.title}\n(commit {', '.join(results['commits'])})", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes: it hides no line
    save_figure(fig, path)
