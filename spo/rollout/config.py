"""The generators' config (torch-free): engine, sampling and extra fixed pools."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spo.errors import require
from spo.paths import require_model
from spo.plugins import ENGINES


@dataclass
class PoolConfig:
    """An extra, fixed generator pool (not trained): another model that also answers every prompt.

    ``path`` names an HF checkpoint; without it a tiny model is built with the ``tiny_*`` sizes.
    """

    path: str | None = None
    tiny_hidden_size: int = 128
    tiny_num_layers: int = 2
    tiny_sft_steps: int = 150
    tiny_sft_lr: float = 3e-3
    num_workers: int = 1


@dataclass
class GeneratorConfig:
    """Rollout engine and sampling; ``extra_pools`` adds fixed models beside the policy.

    ``engine_kwargs`` go to the engine as they are (for vLLM: ``tensor_parallel_size``,
    ``gpu_memory_utilization``, ``dtype``, ``max_model_len``...).
    """

    engine: str = "hf"
    num_workers: int = 1
    n_samples: int = 4
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 24
    chunk_size: int = 32
    extra_pools: dict[str, PoolConfig] = field(default_factory=dict)
    engine_kwargs: dict[str, Any] = field(default_factory=dict)

    def validate(self, key: str = "generator") -> None:
        ENGINES.check(self.engine, f"{key}.engine")
        require(self.n_samples >= 2, f"{key}.n_samples", f"must be >= 2 to build pairs, got {self.n_samples}")
        require(self.num_workers >= 1, f"{key}.num_workers", "must be >= 1")
        require(0 < self.top_p <= 1, f"{key}.top_p", f"must be in (0, 1], got {self.top_p}")
        require(self.temperature > 0, f"{key}.temperature", f"must be > 0, got {self.temperature}")
        require(self.max_new_tokens >= 1, f"{key}.max_new_tokens", "must be >= 1")
        require(self.chunk_size >= 1, f"{key}.chunk_size", "must be >= 1")
        for name, pool in self.extra_pools.items():
            if pool.path is not None:
                require_model(pool.path, f"{key}.extra_pools.{name}.path")

    @property
    def tensor_parallel_size(self) -> int:
        return int(self.engine_kwargs.get("tensor_parallel_size", 1))
