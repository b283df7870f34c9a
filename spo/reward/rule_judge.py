"""``rule_judge``: a Python function ``fn(prompt, response) -> {dim: score}`` as a judge."""

from __future__ import annotations

from spo.reward.base import Judge
from spo.reward.rule import load_rule


class RuleJudge(Judge):
    """``fn(prompt, response) -> {dim: int}`` named as ``"module:function"``."""

    @classmethod
    def check_config(cls, sc, key):
        super().check_config(sc, key)
        load_rule(sc.fn, f"{key}.fn")

    @classmethod
    def kwargs(cls, sc, ctx):
        return {"fn": sc.fn, "dimensions": list(sc.dimensions)}

    def __init__(self, fn: str, dimensions: list[str], **_: object):
        self.fn = load_rule(fn, "rule judge")
        self.dimensions = list(dimensions)

    def judge(self, prompts: list[str], responses: list[str]) -> dict[str, list[int | None]]:
        rows = [self.fn(p, r) for p, r in zip(prompts, responses)]
        return {d: [row.get(d) for row in rows] for d in self.dimensions}
