"""``judge_delta``: the largest judge-score delta (chosen minus rejected) on ``selection.judge_dim``."""

from spo.buffer.pair_metrics.base import column
from spo.registry import plugin


@plugin(needs_judge_dim=True)
def judge_delta(pairs, judge_dim=None, seed=0):
    col = f"judge_delta/{judge_dim}"
    if col not in pairs.column_names:
        raise KeyError(f"selection.judge_dim: no column {col!r} in the pairs (is a judge scorer configured?)")
    return column(pairs, col)
