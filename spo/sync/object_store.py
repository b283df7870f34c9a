"""CPU transport through Ray's object store.

Rank 0's gathered parameters are stored once; each generator resolves the same object reference,
so the driver never holds the weights.
"""

from __future__ import annotations

import ray

from spo.sync.base import WeightTransport


def export(worker):
    """Learner side: full fp32 parameters as NumPy arrays on rank 0 (every rank joins a ZeRO-3 gather).

    NumPy arrays, not tensors: Ray stores them out of band, so readers on the node map them without a
    copy (tensors would be pickled, which took 20x a memcpy in benchmarks/bench_sync).
    """
    import torch

    with worker.full_parameters() as params:
        if params is None:
            return None
        return [(n, p.detach().to("cpu", torch.float32).numpy().copy()) for n, p in params.items()]


class ObjectStoreTransport(WeightTransport):
    """One ``ray.put``-backed object, read by every generator."""

    def deliver(self, learner, generators, version: int) -> list[int]:
        refs = learner.call(export)
        ray.get(refs[1:])
        return generators.load_weights(refs[0], version)
