"""``all``: keep every candidate pair."""

from spo.registry import plugin


@plugin(keeps_all=True)
def keep_all(pairs, judge_dim=None, seed=0):
    raise AssertionError("keeps_all metrics are not scored")
