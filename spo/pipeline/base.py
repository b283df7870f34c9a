"""The pipeline-mode interface (``pipeline.mode``; entries in :data:`spo.plugins.PIPELINES`).

A mode orders the runner's stages (:class:`spo.runner.SelfPlayRunner`: ``rollout``, ``freshen``,
``select``, ``select_pairs``, ``learn``, ``sync``, ``checkpoint``, ``evaluate``) within and across
iterations. It knows nothing of engines, scorers or transports. Its flag ``lag`` is how many
versions behind the learner its rollouts sample from, after the first iteration.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class Pipeline(ABC):
    """Runs iterations on a started runner, and continues a run from its last complete iteration."""

    lag = 0

    def __init__(self, runner):
        self.runner = runner

    @abstractmethod
    def iterate(self, iteration: int) -> None:
        """Run iteration ``iteration``'s stages; an iteration is complete once the runner marks it so."""

    def resume(self, last: int) -> dict:
        """Bring the generators to where iteration ``last + 1`` starts (the learner is restored already)."""
        r = self.runner
        synced = r.sync(last + 1)
        r.generators.set_policy(last + 1, r.policy_path(last + 1))
        return synced

    def finish(self) -> None:
        """Complete whatever the last iteration left pending."""
        return None
