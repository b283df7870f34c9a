"""IPO on summed log-ratios: ``(h - 1/(2b))^2`` with ``h = (pc - rc) - (pr - rr)``.

spo's ``ipo`` before it followed TRL's length normalisation. Here ``b`` sets a target margin per
*sequence*, so the loss grows with response length; kept, by name, to reproduce older runs.
"""

from __future__ import annotations

from spo.learner.config import LossParams
from spo.learner.losses.base import LossInputs, LossOutput, implicit_rewards, log_ratios


def ipo_sum(x: LossInputs, p: LossParams) -> LossOutput:
    c, r = log_ratios(x)
    return implicit_rewards((c - r - 1 / (2 * p.beta)) ** 2, c, r, p)
