"""Difficulty transfer: do two scorers (or runs) agree on which prompts are hard?"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from spo.analysis.plots import new_figure, save_figure
from spo.analysis.stats import bootstrap_ci, kendall_tau_b, spearman
from spo.buffer.difficulty import difficulty_columns, read_difficulty

HARDEST_PCTS = (10, 30, 50)


def _side(path: str, scorer: str | None, flag: str) -> tuple[dict[str, float], str]:
    table = read_difficulty(path)
    available = difficulty_columns(table)
    if scorer is None:
        if len(available) > 1:
            raise ValueError(f"{path}: several difficulty columns {available}; choose one with {flag}")
        scorer = available[0]
    elif scorer not in available:
        raise ValueError(f"{path}: unknown scorer {scorer!r} for {flag}; available: {available}")
    ids = table.column("prompt_id").to_pylist()
    values = table.column(f"difficulty/{scorer}").to_pylist()
    return {i: v for i, v in zip(ids, values) if v is not None and math.isfinite(v)}, scorer


def _hardest(ids: list[str], values: np.ndarray, pct: int) -> set[str]:
    k = max(1, int(math.floor(pct / 100 * len(ids) + 0.5)))
    order = np.lexsort((np.asarray(ids, dtype=object), values))
    return {ids[i] for i in order[:k]}


def transfer(
    a: str, b: str, scorer_a: str | None = None, scorer_b: str | None = None, plot: str | None = None, seed: int = 0
) -> dict:
    """Rank agreement of two difficulty estimates, matched on ``prompt_id``."""
    da, sa = _side(a, scorer_a, "--scorer-a")
    db, sb = _side(b, scorer_b, "--scorer-b")
    common = sorted(set(da) & set(db))
    if len(common) < 2:
        raise ValueError(f"{a} and {b} share {len(common)} prompt ids; need at least 2 in common")
    x = np.array([da[i] for i in common])
    y = np.array([db[i] for i in common])
    lo, hi = bootstrap_ci(x, y, spearman, seed=seed)
    out = {
        "a": str(a),
        "b": str(b),
        "scorer_a": sa,
        "scorer_b": sb,
        "n_common": len(common),
        "only_in_a": len(set(da) - set(db)),
        "only_in_b": len(set(db) - set(da)),
        "spearman": spearman(x, y),
        "spearman_ci95": [lo, hi],
        "kendall_tau_b": kendall_tau_b(x, y),
        "hardest_overlap": {
            f"{p}%": len(_hardest(common, x, p) & _hardest(common, y, p)) / len(_hardest(common, x, p))
            for p in HARDEST_PCTS
        },
    }
    if plot:
        fig, ax = new_figure()
        ax.scatter(x, y, s=10, alpha=0.5)
        ax.set_xlabel(f"difficulty/{sa} (A: {Path(a).name}) — mean reward, low = hard")
        ax.set_ylabel(f"difficulty/{sb} (B: {Path(b).name})")
        ax.set_title(f"Difficulty transfer: Spearman ρ = {out['spearman']:.3f} [{lo:.3f}, {hi:.3f}], n = {len(common)}")
        save_figure(fig, plot)
        out["plot"] = str(plot)
    return out


def format_transfer(r: dict) -> str:
    """Human-readable summary of :func:`transfer`'s result."""
    lo, hi = r["spearman_ci95"]
    lines = [
        f"A: {r['a']} (difficulty/{r['scorer_a']})",
        f"B: {r['b']} (difficulty/{r['scorer_b']})",
        f"prompts in common: {r['n_common']} (only in A: {r['only_in_a']}, only in B: {r['only_in_b']})",
        f"Spearman rho: {r['spearman']:.4f}  (bootstrap 95% CI {lo:.4f} .. {hi:.4f})",
        f"Kendall tau-b: {r['kendall_tau_b']:.4f}",
        "hardest-k overlap: " + ", ".join(f"{k}: {v:.2f}" for k, v in r["hardest_overlap"].items()),
    ]
    if "plot" in r:
        lines.append(f"plot: {r['plot']}")
    return "\n".join(lines)
