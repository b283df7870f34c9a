"""The engine interface and its registry.

An engine turns prompts into samples with the current policy and accepts new
weights. Backends register under the config name ``generator.engine``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from spo.registry import Registry

ENGINES = Registry(
    "generator.engine", {"hf": "spo.rollout.hf_engine:HFEngine", "vllm": "spo.rollout.vllm_engine:VLLMEngine"}
)


@dataclass(frozen=True)
class SamplingParams:
    """How to sample: ``n`` responses per prompt."""

    n: int
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64
    seed: int = 0


@dataclass
class Completion:
    """One sampled response and what the engine knows about it."""

    text: str
    n_tokens: int
    logprob_sum: float | None
    finish_reason: str  # "stop" or "length"


class Engine(ABC):
    """Samples from a causal LM and takes weight updates in place."""

    @abstractmethod
    def generate(self, prompts: list[str], sampling: SamplingParams) -> list[list[Completion]]:
        """Return ``sampling.n`` completions for each prompt, in prompt order."""

    @abstractmethod
    def load_weights(self, named_tensors: Iterable[tuple[str, torch.Tensor]]) -> None:
        """Replace the policy's parameters with ``named_tensors``."""

    # The collective weight push (spo.sync.collective). An in-process engine receives in its own
    # process; an engine with worker processes (vLLM) overrides these to receive in each worker.
    def weight_group_size(self) -> int:
        """How many members of the weight-push group this engine needs (one per receiving process)."""
        return 1

    def join_weight_group(self, host: str, port: int, first_rank: int, world_size: int, backend: str) -> None:
        """Join the weight-push group as rank ``first_rank`` (and following, for several processes)."""
        from spo.sync.collective import WeightGroup

        self.weight_group = WeightGroup(host, port, first_rank, world_size, backend)

    def in_weight_group(self) -> bool:
        return getattr(self, "weight_group", None) is not None

    def receive_weights(self, plan: list) -> None:
        """Receive every bucket of ``plan`` from learner rank 0, then load them all."""
        self.load_weights([item for bucket in plan for item in self.weight_group.receive(bucket)])
