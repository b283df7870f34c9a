"""``alignment_potential``: the largest z(explicit margin) - w z(|implicit margin|)."""

from spo.buffer.pair_metrics.base import column
from spo.registry import plugin


@plugin(needs_logprobs=True)
def alignment_potential(pairs, judge_dim=None, seed=0):
    return column(pairs, "alignment_potential")
