"""Where the policy's and the extra pools' checkpoints are: a configured path, or a locally built tiny model."""

from __future__ import annotations

from pathlib import Path

from spo.assets.tiny import TinySpec, ensure_tiny_policy


def resolve_model_path(model, cache_dir: str) -> str:
    """The policy checkpoint directory: ``model.path`` or the tiny model of ``model.tiny_*`` (a validated config)."""
    if model.path is not None:
        return str(Path(model.path).expanduser())
    spec = TinySpec(hidden_size=model.tiny_hidden_size, num_layers=model.tiny_num_layers,
                    sft_steps=model.tiny_sft_steps, sft_lr=model.tiny_sft_lr)  # fmt: skip
    return str(ensure_tiny_policy(Path(cache_dir).expanduser(), spec))


def resolve_pool_path(pool, cache_dir: str) -> str:
    """An extra pool's checkpoint: its ``path`` or a locally built tiny model of its size."""
    return resolve_model_path(pool, cache_dir)
