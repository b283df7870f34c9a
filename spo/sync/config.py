"""The weight transport's config (torch-free). Each transport checks its own settings (``check_config``)."""

from __future__ import annotations

from dataclasses import dataclass

from spo.errors import require
from spo.plugins import TRANSPORTS


@dataclass
class SyncConfig:
    """How new weights reach the generators: ``object_store`` (CPU), ``nccl`` (GPU: bucketed broadcast
    from learner rank 0 to every engine, ``bucket_mb`` per bucket), ``gloo`` (the same on CPU), or
    ``disk`` (a safetensors checkpoint in ``disk_dir``, which the learner and every generator can read).
    A push that every generator has not acknowledged within ``timeout_s`` fails the run."""

    transport: str = "object_store"
    bucket_mb: float = 256.0
    disk_dir: str | None = None
    timeout_s: float = 600.0

    def validate(self, key: str = "sync") -> None:
        TRANSPORTS.check(self.transport, f"{key}.transport")
        require(self.timeout_s > 0, f"{key}.timeout_s", f"must be > 0, got {self.timeout_s}")
        require(self.bucket_mb > 0, f"{key}.bucket_mb", f"must be > 0, got {self.bucket_mb}")
        TRANSPORTS.get(self.transport).check_config(self, key)
