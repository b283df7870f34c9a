"""The weight-transport interface and its registry (``sync.transport``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from spo.registry import Registry

if TYPE_CHECKING:
    from spo.config import SyncConfig
    from spo.learner.group import LearnerGroup
    from spo.rollout.pool import GeneratorPool

TRANSPORTS = Registry(
    "sync.transport",
    {
        "object_store": "spo.sync.object_store:ObjectStoreTransport",
        "nccl": "spo.sync.collective:CollectiveTransport",
        "gloo": "spo.sync.collective:CollectiveTransport",
        "disk": "spo.sync.disk:DiskTransport",
    },
)


class WeightTransport(ABC):
    """Moves the learner's current weights into every generator; built from the ``sync`` config."""

    def __init__(self, sync: SyncConfig):
        self.sync = sync

    def push(self, learner: LearnerGroup, generators: GeneratorPool, version: int) -> None:
        """Deliver the weights as ``version``; return only once every generator acknowledged it."""
        acked = self.deliver(learner, generators, version)
        if any(v != version for v in acked):
            raise RuntimeError(f"weight push {version}: generators acknowledged {acked}")

    @abstractmethod
    def deliver(self, learner: LearnerGroup, generators: GeneratorPool, version: int) -> list[int]:
        """Move the weights into every generator as ``version``; returns each one's acknowledged version."""
