"""KTO: chosen responses are desirable and rejected ones undesirable, each scored against
``z0 = max(0, mean(KL estimate))``. The KL estimate is the log-ratio on mismatched pairs (each
prompt with another row's chosen response), detached, as in the KTO paper:
``(wd (1 - s(b (c - z0))) + wu (1 - s(b (z0 - r)))) / 2`` with ``c``, ``r`` the log-ratios."""

from __future__ import annotations

import torch

from spo.learner.config import LossParams
from spo.learner.losses.base import LossInputs, LossOutput, implicit_rewards, log_ratios
from spo.registry import plugin


@plugin(needs_mismatched_pairs=True)
def kto(x: LossInputs, p: LossParams) -> LossOutput:
    c, r = log_ratios(x)
    z0 = (x.policy_kl - x.ref_kl).mean().clamp(min=0).detach()
    desirable = p.desirable_weight * (1 - torch.sigmoid(p.beta * (c - z0)))
    undesirable = p.undesirable_weight * (1 - torch.sigmoid(p.beta * (z0 - r)))
    return implicit_rewards((desirable + undesirable) / 2, c, r, p)
