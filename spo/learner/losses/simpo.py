"""SimPO, reference-free and length-normalised with margin ``g``, with conservative label smoothing ``e``
as TRL's CPOTrainer applies it: ``-(1-e) log s(z) - e log s(-z)``, ``z = b (pc/|yc| - pr/|yr|) - g``."""

from __future__ import annotations

import torch.nn.functional as F

from spo.learner.config import LossParams
from spo.learner.losses.base import LossInputs, LossOutput
from spo.registry import plugin


@plugin(reference_free=True, uses_label_smoothing=True)
def simpo(x: LossInputs, p: LossParams) -> LossOutput:
    c = x.policy_chosen / x.chosen_tokens
    r = x.policy_rejected / x.rejected_tokens
    z = p.beta * (c - r) - p.gamma
    losses = -(1 - p.label_smoothing) * F.logsigmoid(z) - p.label_smoothing * F.logsigmoid(-z)
    return LossOutput(losses, p.beta * c.detach(), p.beta * r.detach())
