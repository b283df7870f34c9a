"""The pipeline's config (torch- and ray-free): how far generation may run ahead of learning."""

from __future__ import annotations

from dataclasses import dataclass

from spo.errors import require
from spo.plugins import PIPELINES

STALE_POLICIES = ("drop", "regenerate")


@dataclass
class PipelineConfig:
    """``mode`` names an entry of :data:`spo.plugins.PIPELINES`: ``sync`` (stages in order),
    ``one_step_off`` (the rollout of iteration t+1 overlaps learning on t, from the policy version t)
    or ``async`` (the same overlap, with the new weights pushed between chunks as soon as they exist).

    A sample of iteration t drawn from policy version v has staleness t - v when it is trained on;
    samples staler than ``max_staleness`` are dropped (counted) or, with ``stale: regenerate``,
    drawn again from the current policy. ``chunks_in_flight`` bounds the chunks queued on each
    generator in ``async``, so a weight push waits behind at most that many.
    """

    mode: str = "sync"
    max_staleness: int = 1
    stale: str = "drop"
    chunks_in_flight: int = 2

    def validate(self, key: str = "pipeline") -> None:
        PIPELINES.check(self.mode, f"{key}.mode")
        require(self.stale in STALE_POLICIES, f"{key}.stale", f"must be one of {STALE_POLICIES}, got {self.stale!r}")
        require(self.chunks_in_flight >= 1, f"{key}.chunks_in_flight", f"must be >= 1, got {self.chunks_in_flight}")
        lag = PIPELINES.flag(self.mode, "lag", 0)
        require(
            self.max_staleness >= lag,
            f"{key}.max_staleness",
            f"{self.mode} samples every iteration after the first from a policy {lag} version(s) behind the "
            f"learner, so max_staleness={self.max_staleness} would drop them all; use >= {lag}",
        )
