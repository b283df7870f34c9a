"""The worker extension mixed into every vLLM worker: weight loading and spo's weight-push group.

vLLM calls these through ``LLM.collective_rpc``; ``self`` is the vLLM worker, which has
``reload_weights(weights_iterator=...)`` (in-place reload of checkpoint-format tensors, redoing the
post-load processing, e.g. the CPU backend's weight repacking) and ``self.rank`` (its
tensor-parallel rank).
"""

from __future__ import annotations


class SpoWorkerExtension:
    """Methods vLLM adds to its worker class (``worker_extension_cls``)."""

    def spo_load_weights(self, payload: bytes) -> None:
        """Load HF-layout tensors, sent as safetensors bytes (vLLM fuses q/k/v and gate/up itself)."""
        import safetensors.torch

        self.reload_weights(weights_iterator=list(safetensors.torch.load(payload).items()))

    def spo_join_weight_group(self, host: str, port: int, first_rank: int, world_size: int, backend: str) -> None:
        """Join spo's weight-push group as rank ``first_rank + tensor-parallel rank``."""
        from spo.sync.collective import WeightGroup

        self.spo_weight_group = WeightGroup(host, port, first_rank + self.rank, world_size, backend)

    def spo_in_weight_group(self) -> bool:
        return getattr(self, "spo_weight_group", None) is not None

    def spo_receive_weights(self, plan: list) -> None:
        """Receive every bucket (``[[name, shape, dtype], ...]``) from learner rank 0, then reload them all."""
        from spo.sync.buckets import TensorMeta

        named = []
        for bucket in plan:
            metas = [TensorMeta(name, tuple(shape), dtype) for name, shape, dtype in bucket]
            named += self.spo_weight_group.receive(metas)
        self.reload_weights(weights_iterator=named)
