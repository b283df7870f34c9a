"""The worker extension mixed into every vLLM worker: weight loading, and the generic transport hook.

vLLM calls these through ``LLM.collective_rpc``; ``self`` is the vLLM worker, which has
``reload_weights(weights_iterator=...)`` (in-place reload of checkpoint-format tensors, redoing the
post-load processing, e.g. the CPU backend's weight repacking) and ``self.rank`` (its
tensor-parallel rank). Nothing here knows a transport: ``spo_call`` runs the function it is named.
"""

from __future__ import annotations


class WeightSink:
    """What a transport's receiving function gets in a vLLM worker: ``load_weights`` plus its own state."""

    def __init__(self, worker):
        self.worker = worker

    def load_weights(self, named_tensors) -> None:
        self.worker.reload_weights(weights_iterator=list(named_tensors))


class SpoWorkerExtension:
    """Methods vLLM adds to its worker class (``worker_extension_cls``)."""

    def spo_load_weights(self, payload: bytes) -> None:
        """Load HF-layout tensors, sent as safetensors bytes (vLLM fuses q/k/v and gate/up itself)."""
        import safetensors.torch

        self.reload_weights(weights_iterator=list(safetensors.torch.load(payload).items()))

    def spo_call(self, spec: str, args: list):
        """Run ``"module:function"`` as ``fn(sink, tp_rank, *args)``; the sink lives as long as the worker."""
        from spo.registry import import_object

        if getattr(self, "spo_sink", None) is None:
            self.spo_sink = WeightSink(self)
        return import_object(spec)(self.spo_sink, self.rank, *args)
