"""``within``: best vs worst sample of the policy's own pool."""

from __future__ import annotations

from spo.buffer.builders.base import max_min_pairs, of_generator


def within(samples, scorer, policy, strong=None, weak=None):
    return max_min_pairs(of_generator(samples, policy), scorer)
