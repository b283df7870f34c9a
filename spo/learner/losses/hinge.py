"""SLiC's hinge loss: ``max(0, 1 - b h)``."""

from __future__ import annotations

import torch

from spo.learner.config import LossParams
from spo.learner.losses.base import LossInputs, LossOutput, implicit_rewards, log_ratios


def hinge(x: LossInputs, p: LossParams) -> LossOutput:
    c, r = log_ratios(x)
    losses = torch.relu(1 - p.beta * (c - r))
    return implicit_rewards(losses, c, r, p)
