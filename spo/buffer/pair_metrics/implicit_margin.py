"""``implicit_margin`` (M-): the smallest |implicit margin| (pairs the policy does not yet separate)."""

import numpy as np

from spo.buffer.pair_metrics.base import column
from spo.registry import plugin


@plugin(needs_logprobs=True)
def implicit_margin(pairs, judge_dim=None, seed=0):
    return -np.abs(column(pairs, "margin_implicit"))
