"""What every loss takes and returns, and :func:`compute_loss`.

With ``h = (pc - rc) - (pr - rr)``, the policy's log-ratio margin (``pc``/``pr`` the policy's
summed log-probs of chosen/rejected, ``rc``/``rr`` the reference's), each loss is a function of
``h`` or of the length-normalised log-probs. ``nll_weight > 0`` adds the chosen responses'
per-token negative log-likelihood to any loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spo.learner.config import LossParams
from spo.plugins import LOSSES


@dataclass
class LossInputs:
    """Summed log-probs per pair (1-D tensors of equal length)."""

    policy_chosen: torch.Tensor
    policy_rejected: torch.Tensor
    ref_chosen: torch.Tensor | None = None
    ref_rejected: torch.Tensor | None = None
    chosen_tokens: torch.Tensor | None = None
    rejected_tokens: torch.Tensor | None = None
    policy_kl: torch.Tensor | None = None  # KTO: policy log-probs of mismatched pairs
    ref_kl: torch.Tensor | None = None  # KTO: reference log-probs of mismatched pairs


@dataclass
class LossOutput:
    """Per-pair losses and implicit rewards."""

    losses: torch.Tensor
    chosen_rewards: torch.Tensor
    rejected_rewards: torch.Tensor


def log_ratios(x: LossInputs) -> tuple[torch.Tensor, torch.Tensor]:
    """``(pc - rc, pr - rr)``: the policy-to-reference log-ratios of chosen and rejected."""
    return x.policy_chosen - x.ref_chosen, x.policy_rejected - x.ref_rejected


def implicit_rewards(losses: torch.Tensor, c: torch.Tensor, r: torch.Tensor, p: LossParams) -> LossOutput:
    """The output of a reference-based loss: its losses and ``beta`` times each side's log-ratio."""
    return LossOutput(losses, p.beta * c.detach(), p.beta * r.detach())


def compute_loss(name: str, x: LossInputs, p: LossParams) -> LossOutput:
    """The loss ``name`` plus the optional chosen-NLL term."""
    out = LOSSES.get(name)(x, p)
    if p.nll_weight > 0:
        out.losses = out.losses - p.nll_weight * x.policy_chosen / x.chosen_tokens
    return out
