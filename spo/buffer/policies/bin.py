"""``bin``: split into ``n_bins`` equal-count quantile bins (bin 0 is the hardest) and keep ``bin``."""

from __future__ import annotations

import numpy as np

from spo.buffer.policies.base import hardest_first
from spo.registry import plugin


@plugin(matchable=True)
def difficulty_bin(p, cfg, scorer, ctx):
    n = p.num_rows
    bins = np.empty(n, dtype=int)
    bins[hardest_first(p, scorer)] = (np.arange(n) * cfg.n_bins) // max(n, 1)
    keep = bins == cfg.bin
    return keep, [
        f"kept: in bin {b} of {cfg.n_bins} (0 = hardest)" if k else f"dropped: in bin {b}, not {cfg.bin}"
        for k, b in zip(keep, bins)
    ]
