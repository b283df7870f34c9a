"""Robust DPO (rDPO), unbiased under label-flip noise ``e``: ``((1-e)(-log s(b h)) + e log s(-b h)) / (1-2e)``."""

from __future__ import annotations

import torch.nn.functional as F

from spo.learner.config import LossParams
from spo.learner.losses.base import LossInputs, LossOutput, implicit_rewards, log_ratios
from spo.registry import plugin


@plugin(uses_label_smoothing=True)
def robust_dpo(x: LossInputs, p: LossParams) -> LossOutput:
    c, r = log_ratios(x)
    z = p.beta * (c - r)
    e = p.label_smoothing
    losses = (-(1 - e) * F.logsigmoid(z) + e * F.logsigmoid(-z)) / (1 - 2 * e)
    return implicit_rewards(losses, c, r, p)
