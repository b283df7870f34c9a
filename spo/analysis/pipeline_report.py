"""The report's pipeline section: each role's idle fraction and the pairs' staleness, per iteration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from spo.analysis.plots import save_figure

ROLES = ("generator", "learner", "scorer")


def pipeline_summary(rows: list[dict], mode: str) -> list[str]:
    """Markdown lines: the mode, each role's idle fraction over the run, and the pairs' staleness."""
    rows = [r for r in rows if "generator_busy_s" in r]
    if not rows:
        return []
    wall = sum(r["iteration_s"] for r in rows)
    idle = ", ".join(f"{role} {1 - sum(r[f'{role}_busy_s'] for r in rows) / wall:.0%}" for role in ROLES)
    hist: dict[str, int] = {}
    for r in rows:
        for k, n in (r.get("pair_staleness_hist") or {}).items():
            hist[k] = hist.get(k, 0) + n
    stale = ", ".join(f"{n} at {k}" for k, n in sorted(hist.items(), key=lambda kv: int(kv[0]))) or "none"
    return [f"Pipeline mode `{mode}`: {wall:.0f} s over {len(rows)} iterations. Idle share of the run: {idle}. "
            f"Pairs trained, by staleness (versions behind the learner): {stale}.", ""]  # fmt: skip


def plot_pipeline(rows: list[dict], out: Path) -> bool:
    """Idle fraction per role and pair staleness per iteration; ``False`` if the run recorded neither."""
    rows = [r for r in rows if "generator_busy_s" in r]
    if not rows:
        return False
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), dpi=110)
    x = np.array([r["iteration"] for r in rows])
    for role in ROLES:
        left.plot(x, [r[f"{role}_idle_fraction"] for r in rows], marker="o", label=role)
    left.set_ylim(0, 1.05)
    left.set_ylabel("idle fraction of the iteration's wall time")
    left.set_title("Idle time per role (a stage counts where it ends)")
    lags = sorted({int(k) for r in rows for k in (r.get("pair_staleness_hist") or {})})
    bottom = np.zeros(len(rows))
    for lag in lags:
        v = np.array([(r.get("pair_staleness_hist") or {}).get(str(lag), 0) for r in rows], float)
        right.bar(x, v, bottom=bottom, label=f"{lag} version(s) behind")
        bottom += v
    right.set_ylabel("pairs trained")
    right.set_title("Pair staleness")
    for ax in (left, right):
        ax.set_xlabel("iteration")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save_figure(fig, out)
    return True
