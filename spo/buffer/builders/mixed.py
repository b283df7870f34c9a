"""``mixed``: best vs worst over every pool's samples together."""

from __future__ import annotations

from spo.buffer.builders.base import max_min_pairs


def mixed(samples, scorer, policy, strong=None, weak=None):
    return max_min_pairs(samples, scorer)
