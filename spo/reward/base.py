"""The scorer interface and its registry (``reward.scorers.<name>.backend``)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from spo.registry import Registry

SCORERS = Registry(
    "reward backend",
    {
        "rule": "spo.reward.rule:RuleScorer",
        "sequence_classifier": "spo.reward.sequence_classifier:SequenceClassifierScorer",
        "judge": "spo.reward.judge:GenerativeJudge",
        "rule_judge": "spo.reward.judge:RuleJudge",
    },
)


JUDGE_BACKENDS = ("judge", "rule_judge")


class Scorer(ABC):
    """Maps (prompt, response) pairs to scalar rewards; higher is better."""

    @abstractmethod
    def score(self, prompts: list[str], responses: list[str], finish_reasons: list[str] | None = None) -> list[float]:
        """One reward per (prompt, response); NaN marks a reward that could not be computed.

        ``finish_reasons`` (``stop`` or ``length``, per response) lets a scorer penalise truncation.
        """
