"""Fallback transport through storage: rank 0 writes a safetensors checkpoint, every generator reads it.

Slower than the object store or NCCL, but it needs nothing beyond a directory that the learner and
every generator node can read (``sync.disk_dir``); each version replaces the previous one.
"""

from __future__ import annotations

from pathlib import Path

from spo.errors import require
from spo.sync.base import WeightTransport


class DiskTransport(WeightTransport):
    """Write ``<disk_dir>/policy``, then have every generator load it."""

    @classmethod
    def check_config(cls, sync, key):
        require(bool(sync.disk_dir), f"{key}.disk_dir", "required for sync.transport=disk (shared storage)")

    def deliver(self, learner, generators, version: int) -> list[int]:
        path = Path(self.sync.disk_dir).expanduser() / "policy"
        learner.save_checkpoint(str(path))
        return generators.load_checkpoint(str(path), version)
