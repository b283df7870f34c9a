"""``pipeline.mode=async``: as ``one_step_off``, but new weights go to the generators as soon as they exist.

The generators are fed ``pipeline.chunks_in_flight`` chunks at a time; between chunks, once the learner
has finished iteration t, version t+1 is pushed (queued behind at most those chunks, never inside a
generation step) and checkpointed, and the rest of iteration t+1's rollout samples from it. Which
version a sample comes from then depends on timing: each sample records it, and samples staler than
``pipeline.max_staleness`` are dropped or regenerated before selection (the runner's ``freshen``).
"""

from __future__ import annotations

from spo.pipeline.one_step_off import OneStepOffPipeline


class AsyncPipeline(OneStepOffPipeline):
    """Rollout t+1 and evaluation overlap learning on t; weights are pushed between chunks."""

    lag = 0

    def __init__(self, runner):
        super().__init__(runner)
        self._pushed: dict = {}

    def generator_side(self, iteration: int, learned) -> None:
        self.finish()
        r = self.runner
        self._pushed = {}  # filled by the push, once learning has ended

        def push_when_learned() -> None:
            if not self._pushed and learned.done():
                OneStepOffPipeline.after_learning(self, iteration, self._pushed, learned.result())

        if iteration + 1 < r.cfg.iterations:
            in_flight = r.cfg.pipeline.chunks_in_flight
            self.rollouts[iteration + 1] = r.stage(iteration + 1, "rollout", r.rollout, iteration + 1,
                                                   in_flight, push_when_learned)  # fmt: skip

    def after_learning(self, iteration: int, row: dict, learned: dict) -> None:
        if self._pushed:  # pushed mid-rollout: its stages are recorded already
            row.update(self._pushed)
        else:
            super().after_learning(iteration, row, learned)
