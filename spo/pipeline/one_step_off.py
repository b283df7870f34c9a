"""``pipeline.mode=one_step_off``: the rollout of iteration t+1 runs while the learner trains on t.

Iteration t, after selecting its pairs, trains on them in a learner thread while the generators first
evaluate policy version t (iteration t-1's held-out evaluation) and then sample iteration t+1 from
that same version t. Only then are the new weights (version t+1) pushed, so a push never meets a
generation step, and which version produced each sample is fixed by the schedule: a run and its
resume sample the same answers. Iteration t is complete when version t+1 is evaluated, which happens
while iteration t+1 trains (or, for the last iteration, at the end).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from spo.pipeline.base import Pipeline


class OneStepOffPipeline(Pipeline):
    """Rollout t+1 and evaluation overlap learning on t; weights move between iterations."""

    lag = 1

    def __init__(self, runner):
        super().__init__(runner)
        self.rollouts: dict[int, dict] = {}  # rollout metrics of iterations whose samples are buffered
        self.pending: tuple[int, dict] | None = None  # an iteration waiting for its evaluation

    def iterate(self, iteration: int) -> None:
        r = self.runner
        rollout = self.rollouts.pop(iteration, None) or r.stage(iteration, "rollout", r.rollout, iteration)
        row = {"iteration": iteration, **rollout}
        for stage, fn in (("freshen", r.freshen), ("select", r.select), ("select_pairs", r.select_pairs)):
            row.update(r.stage(iteration, stage, fn, iteration))
        pool = ThreadPoolExecutor(1, thread_name_prefix="spo-learn")
        try:
            learned = pool.submit(r.learn, iteration)
            self.generator_side(iteration, learned)
            self.after_learning(iteration, row, learned.result())
        finally:
            pool.shutdown(wait=False)
        self.pending = (iteration, row)

    def generator_side(self, iteration: int, learned) -> None:
        """While ``learned`` trains: the pending evaluation, then the next rollout from the current version."""
        self.finish()
        r = self.runner
        if iteration + 1 < r.cfg.iterations:
            self.rollouts[iteration + 1] = r.stage(iteration + 1, "rollout", r.rollout, iteration + 1)

    def after_learning(self, iteration: int, row: dict, learned: dict) -> None:
        """Record the learning stage, push version ``iteration + 1`` and save its checkpoint."""
        r = self.runner
        row.update(r.record(iteration, "learn", learned))
        row.update(r.stage(iteration, "sync", r.sync, iteration + 1))
        row.update(r.stage(iteration, "checkpoint", r.checkpoint, iteration))

    def finish(self) -> None:
        """Evaluate the version the pending iteration produced, and mark that iteration complete."""
        if self.pending is None:
            return
        r = self.runner
        iteration, row = self.pending
        self.pending = None
        row.update(r.stage(iteration, "eval", r.evaluate, iteration + 1))
        r.complete(iteration, row)

    def resume(self, last: int) -> dict:
        """Sample iteration ``last + 1`` again from version ``last``, as the uninterrupted run did, then push
        version ``last + 1``."""
        r = self.runner
        if last + 1 < r.cfg.iterations:
            r.generators.set_policy(last, r.policy_path(last))
            self.rollouts[last + 1] = r.stage(last + 1, "rollout", r.rollout, last + 1)
        return super().resume(last)
