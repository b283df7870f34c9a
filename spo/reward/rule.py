"""Rule rewards: a Python function ``fn(prompt, response) -> float`` named in config."""

from __future__ import annotations

import inspect

from spo.registry import import_object
from spo.reward.base import Scorer


class RuleScorer(Scorer):
    """Calls ``fn`` (a ``"module:function"`` path) on each sample."""

    def __init__(self, fn: str, **_: object):
        try:
            self.fn = import_object(fn)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ValueError(f"rule scorer: cannot import fn {fn!r}: {exc}") from exc
        if not callable(self.fn):
            raise ValueError(f"rule scorer: {fn!r} is not callable")
        self.takes_finish_reason = "finish_reason" in inspect.signature(self.fn).parameters

    def score(self, prompts: list[str], responses: list[str], finish_reasons: list[str] | None = None) -> list[float]:
        """``fn(prompt, response)``, or ``fn(prompt, response, finish_reason)`` if ``fn`` takes that argument."""
        if self.takes_finish_reason and finish_reasons is not None:
            return [float(self.fn(p, r, f)) for p, r, f in zip(prompts, responses, finish_reasons)]
        return [float(self.fn(p, r)) for p, r in zip(prompts, responses)]
