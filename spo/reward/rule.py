"""Rule rewards: a Python function ``fn(prompt, response) -> float`` named in config."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from spo.errors import ConfigError, require
from spo.registry import import_object
from spo.reward.base import Scorer


def load_rule(fn: str | None, key: str) -> Callable:
    """The callable named ``"module:function"``; a ConfigError naming ``key`` if there is none."""
    require(bool(fn), key, "a rule needs fn: 'module:function'")
    try:
        obj = import_object(fn)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"{key}: cannot import fn {fn!r} (expected 'module:function'): {exc}") from exc
    require(callable(obj), key, f"{fn!r} is not callable")
    return obj


class RuleScorer(Scorer):
    """Calls ``fn`` (a ``"module:function"`` path) on each sample."""

    @classmethod
    def check_config(cls, sc, key):
        load_rule(sc.fn, f"{key}.fn")

    @classmethod
    def kwargs(cls, sc, ctx):
        return {"fn": sc.fn}

    def __init__(self, fn: str, **_: object):
        self.fn = load_rule(fn, "rule scorer")
        self.takes_finish_reason = "finish_reason" in inspect.signature(self.fn).parameters

    def score(self, prompts: list[str], responses: list[str], finish_reasons: list[str] | None = None) -> list[float]:
        """``fn(prompt, response)``, or ``fn(prompt, response, finish_reason)`` if ``fn`` takes that argument."""
        if self.takes_finish_reason and finish_reasons is not None:
            return [float(self.fn(p, r, f)) for p, r, f in zip(prompts, responses, finish_reasons)]
        return [float(self.fn(p, r)) for p, r in zip(prompts, responses)]
