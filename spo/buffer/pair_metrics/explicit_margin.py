"""``explicit_margin`` (M+): the largest reward margin r(chosen) - r(rejected)."""

from spo.buffer.pair_metrics.base import column


def explicit_margin(pairs, judge_dim=None, seed=0):
    return column(pairs, "margin_explicit")
