"""Weight push over a collective group: learner rank 0 broadcasts size-capped buckets to every engine.

The group is its own process group (a ``TCPStore`` rendezvous plus a ``ProcessGroupNCCL`` or
``ProcessGroupGloo``), apart from the learner's DeepSpeed group and from any engine's own: rank 0 is
learner rank 0, ranks 1.. are the generator engines' receivers (one per tensor-parallel worker of a
vLLM engine). ``sync.transport=nccl`` is the GPU path; ``gloo`` runs the same code on CPU, which is
how CI tests it. The policy version moves only once every engine has acknowledged. Both sides live
here: the ``learner_*`` functions run in learner ranks, the ``receiver_*`` ones in generator processes.
"""

from __future__ import annotations

import datetime

import ray
import torch
import torch.distributed as dist

from spo.sync.base import WeightTransport
from spo.sync.buckets import TensorMeta, from_plain, pack, plan_buckets, to_plain, unpack


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

    def receive(self, bucket) -> list[tuple[str, torch.Tensor]]:
        """Receive one bucket (``TensorMeta`` list; ranks 1..) as named tensors on this member's device."""
        flat = torch.empty(sum(m.numel for m in bucket), dtype=getattr(torch, bucket[0].dtype), device=self.device)
        self.pg.broadcast(flat, 0).wait()
        return unpack(flat, bucket)


def learner_join(worker, host: str, port: int, world_size: int, backend: str) -> None:
    """Rank 0 becomes rank 0 of the weight-push group; other ranks only help gather (ZeRO-3)."""
    if worker.rank == 0:
        worker.weight_group = WeightGroup(host, port, 0, world_size, backend)


def learner_send(worker, plan: list) -> None:
    """Broadcast the parameters bucket by bucket from rank 0 (every rank takes part in a ZeRO-3 gather)."""
    with worker.full_parameters() as params:
        if params is None:
            return
        for bucket in from_plain(plan):
            worker.weight_group.send([params[m.name].detach() for m in bucket])


def receiver_join(sink, local_rank: int, host: str, port: int, first_rank: int, world_size: int, backend: str):
    """Join the group as rank ``first_rank + local_rank`` (a vLLM engine's tensor-parallel workers in turn)."""
    sink.spo_weight_group = WeightGroup(host, port, first_rank + local_rank, world_size, backend)


def receiver_in_group(sink, local_rank: int) -> bool:
    return getattr(sink, "spo_weight_group", None) is not None


def receiver_receive(sink, local_rank: int, plan: list) -> None:
    """Receive every bucket from learner rank 0, then load them all."""
    named = [item for bucket in from_plain(plan) for item in sink.spo_weight_group.receive(bucket)]
    sink.load_weights(named)


class CollectiveTransport(WeightTransport):
    """Bucketed broadcast from learner rank 0; the group is (re)formed when an engine lacks it."""

    def __init__(self, sync):
        super().__init__(sync)
        self.backend = sync.transport  # "nccl" or "gloo"
        self.cap = int(sync.bucket_mb * 2**20)
        self.last_buckets = 0  # buckets in the latest push

    def _form_group(self, learner, generators) -> None:
        host, port = learner.rendezvous()
        sizes = generators.receivers()
        world = 1 + sum(sizes)
        firsts = [1 + sum(sizes[:i]) for i in range(len(sizes))]
        joins = learner.call(learner_join, host, port, world, self.backend)
        joins += generators.call_receivers(receiver_join, [(host, port, f, world, self.backend) for f in firsts])
        ray.get(joins)

    def deliver(self, learner, generators, version: int) -> list[int]:
        in_group = ray.get(generators.call_receivers(receiver_in_group, [()] * len(generators.workers)))
        if not all(all(flags) for flags in in_group):
            self._form_group(learner, generators)
        metas = [TensorMeta(name, shape, dtype) for name, shape, dtype in learner.parameter_specs()]
        plan = to_plain(plan_buckets(metas, self.cap))
        sent = learner.call(learner_send, plan)
        acked = ray.get(generators.receive_weights(receiver_receive, version, plan))
        ray.get(sent)
        self.last_buckets = len(plan)
        return acked
