"""``all``: keep every prompt."""

from __future__ import annotations

import numpy as np

from spo.registry import plugin


@plugin(matchable=True)
def keep_all(p, cfg, scorer, ctx):
    return np.ones(p.num_rows, dtype=bool), ["all"] * p.num_rows
