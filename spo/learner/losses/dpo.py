"""DPO (sigmoid), with conservative label smoothing ``e``: ``-(1-e) log s(b h) - e log s(-b h)``."""

from __future__ import annotations

import torch.nn.functional as F

from spo.learner.config import LossParams
from spo.learner.losses.base import LossInputs, LossOutput, implicit_rewards, log_ratios
from spo.registry import plugin


@plugin(uses_label_smoothing=True)
def dpo(x: LossInputs, p: LossParams) -> LossOutput:
    c, r = log_ratios(x)
    z = p.beta * (c - r)
    losses = -(1 - p.label_smoothing) * F.logsigmoid(z) - p.label_smoothing * F.logsigmoid(-z)
    return implicit_rewards(losses, c, r, p)
