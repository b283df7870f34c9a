"""IPO, length-normalised as TRL and the IPO authors define it (the paper's Eq. 17 on per-token log-ratios):
``((pc - rc)/|yc| - (pr - rr)/|yr| - 1/(2b))^2``.

``b`` is the regularisation strength (tau in the paper): the loss pulls the *per-token* log-ratio margin
towards ``1/(2b)``. ``ipo_sum`` (:mod:`spo.learner.losses.ipo_sum`) keeps the summed form.
"""

from __future__ import annotations

from spo.learner.config import LossParams
from spo.learner.losses.base import LossInputs, LossOutput, implicit_rewards, log_ratios


def ipo(x: LossInputs, p: LossParams) -> LossOutput:
    c, r = log_ratios(x)
    h = c / x.chosen_tokens.clamp(min=1) - r / x.rejected_tokens.clamp(min=1)
    return implicit_rewards((h - 1 / (2 * p.beta)) ** 2, c, r, p)
