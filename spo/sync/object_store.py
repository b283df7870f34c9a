"""CPU transport through Ray's object store.

Rank 0's gathered parameters are stored once; each generator resolves the same
object reference, so the driver never holds the weights.
"""

from __future__ import annotations

from spo.sync.base import WeightTransport


class ObjectStoreTransport(WeightTransport):
    """One ``ray.put``-backed object, read by every generator."""

    def deliver(self, learner, generators, version: int) -> list[int]:
        return generators.load_weights(learner.export_weights(), version)
