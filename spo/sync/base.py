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

    @abstractmethod
    def push(self, learner: LearnerGroup, generators: GeneratorPool, version: int) -> None:
        """Deliver the weights as ``version``; return only once every generator acknowledged it."""
