"""Weight push over a collective group: learner rank 0 broadcasts size-capped buckets to every engine.

The group is its own process group (a ``TCPStore`` rendezvous plus a ``ProcessGroupNCCL`` or
``ProcessGroupGloo``), apart from the learner's DeepSpeed group and from any engine's own: rank 0 is
learner rank 0, ranks 1.. are the generator engines' receivers (one per tensor-parallel worker of a
vLLM engine). ``sync.transport=nccl`` is the GPU path; ``gloo`` runs the same code on CPU, which is
how CI tests it. The policy version moves only once every engine has acknowledged.
"""

from __future__ import annotations

import datetime

import ray
import torch
import torch.distributed as dist

from spo.sync.base import WeightTransport
from spo.sync.buckets import TensorMeta, pack, plan_buckets, unpack


class WeightGroup:
    """One member of the weight-push group."""

    def __init__(self, host: str, port: int, rank: int, world_size: int, backend: str, timeout_s: float = 600):
        timeout = datetime.timedelta(seconds=timeout_s)
        store = dist.TCPStore(host, port, world_size, is_master=rank == 0, timeout=timeout)
        if backend == "nccl":
            self.pg = dist.ProcessGroupNCCL(store, rank, world_size)
        elif backend == "gloo":
            self.pg = dist.ProcessGroupGloo(store, rank, world_size, timeout)
        else:
            raise ValueError(f"weight group backend must be nccl or gloo, got {backend!r}")
        self.device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")

    def send(self, bucket: list[torch.Tensor]) -> None:
        """Broadcast one bucket (rank 0)."""
        self.pg.broadcast(pack([t.to(self.device) for t in bucket]), 0).wait()

    def receive(self, bucket: list[TensorMeta]) -> list[tuple[str, torch.Tensor]]:
        """Receive one bucket (ranks 1..) as named tensors on this member's device."""
        flat = torch.empty(sum(m.numel for m in bucket), dtype=getattr(torch, bucket[0].dtype), device=self.device)
        self.pg.broadcast(flat, 0).wait()
        return unpack(flat, bucket)


class CollectiveTransport(WeightTransport):
    """Bucketed broadcast from learner rank 0; the group is (re)formed when an engine lacks it."""

    def __init__(self, sync):
        super().__init__(sync)
        self.backend = sync.transport  # "nccl" or "gloo"
        self.cap = int(sync.bucket_mb * 2**20)
        self.last_buckets = 0  # buckets in the latest push

    def _form_group(self, learner, generators) -> None:
        host, port = learner.rendezvous()
        sizes = generators.weight_group_sizes()
        world = 1 + sum(sizes)
        firsts = [1 + sum(sizes[:i]) for i in range(len(sizes))]
        joins = [learner.join_weight_group(host, port, world, self.backend)]
        joins += generators.join_weight_group(host, port, firsts, world, self.backend)
        ray.get(joins)

    def deliver(self, learner, generators, version: int) -> list[int]:
        if not all(generators.in_weight_group()):
            self._form_group(learner, generators)
        plan = plan_buckets(learner.weight_metas(), self.cap)
        sent = learner.send_weights(plan)
        acked = ray.get(generators.receive_weights(plan, version))
        ray.get(sent)
        self.last_buckets = len(plan)
        return acked
