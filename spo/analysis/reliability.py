"""How reliable a difficulty estimate is: split-half agreement of a prompt's mean reward."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spo.analysis.stats import bootstrap_ci, spearman
from spo.schemas import reward_col


def split_half(samples: pa.Table, scorer: str, seed: int = 0) -> dict:
    """Split-half reliability of difficulty (a prompt's mean ``reward/<scorer>``) over its samples.

    Each prompt's samples split by ``sample_idx`` parity into two halves of (about) n/2 independent draws;
    ``rho_half`` is Spearman's rho between the two halves' means across prompts, with a bootstrap 95% CI
    over prompts, and ``rho_full`` the Spearman-Brown prediction for the full n, 2 rho / (1 + rho): how well
    the n-sample estimate would agree with another independent n-sample estimate. Prompts with fewer than
    two samples are left out.
    """
    col = reward_col(scorer)
    if col not in samples.column_names:
        raise ValueError(f"split_half: no column {col!r}; the samples have {samples.column_names}")
    t = samples.select(["prompt_id", "sample_idx", col]).filter(pc.is_valid(samples.column(col)))
    half = pc.bit_wise_and(pc.cast(t.column("sample_idx"), pa.int64()), 1)
    t = t.append_column("half", half)
    means = t.group_by(["prompt_id", "half"]).aggregate([(col, "mean")])
    by: dict[str, dict[int, float]] = {}
    for pid, h, m in zip(*(means.column(c).to_pylist() for c in ("prompt_id", "half", f"{col}_mean"))):
        by.setdefault(pid, {})[h] = m
    ids = sorted(p for p, v in by.items() if len(v) == 2)
    if len(ids) < 3:
        raise ValueError(f"split_half: {len(ids)} prompts have samples in both halves; need at least 3")
    a = np.array([by[p][0] for p in ids])
    b = np.array([by[p][1] for p in ids])
    rho = spearman(a, b)
    lo, hi = bootstrap_ci(a, b, spearman, seed=seed)
    counts = t.group_by("prompt_id").aggregate([("sample_idx", "count")]).column("sample_idx_count").to_numpy()

    def brown(r: float) -> float:
        return 2 * r / (1 + r)

    return {"scorer": scorer, "prompts": len(ids), "samples_per_prompt": float(np.median(counts)),
            "rho_half": rho, "rho_half_ci95": [lo, hi],
            "rho_full": brown(rho), "rho_full_ci95": [brown(lo), brown(hi)]}  # fmt: skip
