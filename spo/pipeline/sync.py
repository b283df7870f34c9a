"""``pipeline.mode=sync``: every stage in order; generators and learner take turns."""

from __future__ import annotations

from spo.pipeline.base import Pipeline


class SyncPipeline(Pipeline):
    """Rollout, selection, learning, sync, checkpoint and evaluation of one iteration, in order."""

    lag = 0

    def iterate(self, iteration: int) -> None:
        r = self.runner
        row = {"iteration": iteration}
        for stage, fn, arg in (
            ("rollout", r.rollout, iteration),
            ("freshen", r.freshen, iteration),
            ("select", r.select, iteration),
            ("select_pairs", r.select_pairs, iteration),
            ("learn", r.learn, iteration),
            ("sync", r.sync, iteration + 1),
            ("checkpoint", r.checkpoint, iteration),
            ("eval", r.evaluate, iteration + 1),
        ):
            row.update(r.stage(iteration, stage, fn, arg))
        r.complete(iteration, row)
