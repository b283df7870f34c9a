"""Preference losses as pure functions of sequence log-probs.

Each loss takes the policy's and the reference's summed log-probs of the chosen
and rejected responses, and returns per-pair losses plus the implicit rewards
``beta * (log pi - log pi_ref)`` used for logging.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class LossOutput:
    """Per-pair losses and implicit rewards."""

    losses: torch.Tensor
    chosen_rewards: torch.Tensor
    rejected_rewards: torch.Tensor


def dpo_sigmoid(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float,
) -> LossOutput:
    """Sigmoid DPO: ``-log sigmoid(beta * ((pc - rc) - (pr - rr)))``."""
    chosen = beta * (policy_chosen - ref_chosen)
    rejected = beta * (policy_rejected - ref_rejected)
    return LossOutput(-F.logsigmoid(chosen - rejected), chosen.detach(), rejected.detach())


LOSSES = {"dpo": dpo_sigmoid}
