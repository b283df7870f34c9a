"""``cross``: best sample of the ``strong`` pool vs worst sample of the ``weak`` pool (a generator-level
quality delta); kept only where the reward agrees that chosen is better."""

from __future__ import annotations

import pyarrow.compute as pc

from spo.buffer.builders.base import assemble, first_per_prompt, of_generator
from spo.registry import plugin
from spo.schemas import reward_col


@plugin(needs_pools=True)
def cross(samples, scorer, policy, strong=None, weak=None):
    reward = reward_col(scorer)
    best = first_per_prompt(of_generator(samples, strong), reward, "descending")
    worst = first_per_prompt(of_generator(samples, weak), reward, "ascending")
    best = best.filter(pc.is_in(best.column("prompt_id"), value_set=worst.column("prompt_id")))
    worst = worst.filter(pc.is_in(worst.column("prompt_id"), value_set=best.column("prompt_id")))
    return assemble(best, worst, reward)
