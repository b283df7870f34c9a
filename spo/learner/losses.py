"""Preference losses as pure functions of sequence log-probs (``learner.loss``).

Every loss takes :class:`LossInputs` (summed log-probs of the chosen and
rejected responses under the policy and the reference, their token counts,
and for KTO the log-probs of mismatched prompt/response pairs) plus
:class:`LossParams`. It returns per-pair losses and the implicit rewards used
for logging. With ``h = (pc - rc) - (pr - rr)``, the policy's log-ratio margin:

- ``dpo``: ``-(1-e) log s(b h) - e log s(-b h)``; ``e`` = ``label_smoothing`` (conservative DPO);
- ``robust``: ``((1-e)(-log s(b h)) + e log s(-b h)) / (1 - 2e)`` (rDPO, unbiased under label noise ``e``);
- ``ipo``: ``(h - 1/(2b))^2``;
- ``hinge``: ``max(0, 1 - b h)`` (SLiC);
- ``simpo``: ``-log s(b (pc/|yc| - pr/|yr|) - g)``: reference-free, length-normalised, margin ``g``;
- ``kto``: chosen responses are desirable and rejected ones undesirable, each scored against
  ``z0 = max(0, mean(KL estimate))``. The KL estimate is the log-ratio on mismatched pairs (each
  prompt with another row's chosen response), detached, as in the KTO paper.

``nll_weight > 0`` adds the chosen responses' per-token negative log-likelihood to any loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from spo.config import LossParams


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


def _ratios(x: LossInputs) -> tuple[torch.Tensor, torch.Tensor]:
    return x.policy_chosen - x.ref_chosen, x.policy_rejected - x.ref_rejected


def dpo_sigmoid(x: LossInputs, p: LossParams) -> LossOutput:
    c, r = _ratios(x)
    z = p.beta * (c - r)
    losses = -(1 - p.label_smoothing) * F.logsigmoid(z) - p.label_smoothing * F.logsigmoid(-z)
    return LossOutput(losses, p.beta * c.detach(), p.beta * r.detach())


def robust_dpo(x: LossInputs, p: LossParams) -> LossOutput:
    c, r = _ratios(x)
    z = p.beta * (c - r)
    e = p.label_smoothing
    losses = (-(1 - e) * F.logsigmoid(z) + e * F.logsigmoid(-z)) / (1 - 2 * e)
    return LossOutput(losses, p.beta * c.detach(), p.beta * r.detach())


def ipo(x: LossInputs, p: LossParams) -> LossOutput:
    c, r = _ratios(x)
    losses = (c - r - 1 / (2 * p.beta)) ** 2
    return LossOutput(losses, p.beta * c.detach(), p.beta * r.detach())


def hinge(x: LossInputs, p: LossParams) -> LossOutput:
    c, r = _ratios(x)
    losses = torch.relu(1 - p.beta * (c - r))
    return LossOutput(losses, p.beta * c.detach(), p.beta * r.detach())


def simpo(x: LossInputs, p: LossParams) -> LossOutput:
    c = x.policy_chosen / x.chosen_tokens
    r = x.policy_rejected / x.rejected_tokens
    losses = -F.logsigmoid(p.beta * (c - r) - p.gamma)
    return LossOutput(losses, p.beta * c.detach(), p.beta * r.detach())


def kto(x: LossInputs, p: LossParams) -> LossOutput:
    c, r = _ratios(x)
    z0 = (x.policy_kl - x.ref_kl).mean().clamp(min=0).detach()
    desirable = p.desirable_weight * (1 - torch.sigmoid(p.beta * (c - z0)))
    undesirable = p.undesirable_weight * (1 - torch.sigmoid(p.beta * (z0 - r)))
    return LossOutput((desirable + undesirable) / 2, p.beta * c.detach(), p.beta * r.detach())


LOSSES = {"dpo": dpo_sigmoid, "robust": robust_dpo, "ipo": ipo, "hinge": hinge, "simpo": simpo, "kto": kto}
REFERENCE_FREE = ("simpo",)


def compute_loss(name: str, x: LossInputs, p: LossParams) -> LossOutput:
    """The loss ``name`` plus the optional chosen-NLL term."""
    out = LOSSES[name](x, p)
    if p.nll_weight > 0:
        out.losses = out.losses - p.nll_weight * x.policy_chosen / x.chosen_tokens
    return out
