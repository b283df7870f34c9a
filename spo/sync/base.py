"""The weight-transport interface (``sync.transport``; entries in :data:`spo.plugins.TRANSPORTS`).

A transport is one object with both sides. :meth:`WeightTransport.deliver` runs on the driver;
the learner-side and generator-side steps are plain functions in the transport's own file, run
in those processes through generic hooks that know nothing of any transport:

- ``LearnerGroup.call(fn, *args)`` runs ``fn(worker, *args)`` on every learner rank; a worker
  offers ``rank``, ``full_parameters()`` (gathered, on rank 0) and ``parameter_specs()``;
- ``GeneratorPool.call_receivers(fn, args_per_worker)`` and ``receive_weights(fn, version, *args)``
  run ``fn(sink, local_rank, *args)`` in every process that holds a generator's weights (the
  engine's own process, or each tensor-parallel worker of a vLLM engine); a sink offers
  ``load_weights(named_tensors)`` and keeps whatever state the transport sets on it;
- ``GeneratorPool.load_weights(ref, version)`` and ``load_checkpoint(path, version)`` load named
  tensors or a safetensors checkpoint through the engine's own ``load_weights``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod


class SyncTimeoutError(RuntimeError):
    """A weight push was not acknowledged by every generator within ``sync.timeout_s``."""


class WeightTransport(ABC):
    """Moves the learner's current weights into every generator; built from the ``sync`` config."""

    def __init__(self, sync):
        self.sync = sync

    @classmethod
    def check_config(cls, sync, key: str) -> None:
        """Raise a ConfigError naming ``key.<field>`` if ``sync`` cannot drive this transport (none by default)."""
        return None

    def push(self, learner, generators, version: int) -> None:
        """Deliver the weights as ``version``; return only once every generator acknowledged it, or raise
        :class:`SyncTimeoutError` after ``sync.timeout_s`` (the run stops instead of hanging)."""
        done: dict = {}

        def deliver() -> None:
            try:
                done["acked"] = self.deliver(learner, generators, version)
            except BaseException as exc:  # re-raised in the caller's thread
                done["error"] = exc

        worker = threading.Thread(target=deliver, name=f"spo-push-v{version}", daemon=True)
        worker.start()
        worker.join(self.sync.timeout_s)
        if worker.is_alive():
            raise SyncTimeoutError(
                f"sync.timeout_s: weight push of policy v{version} ({self.sync.transport}) was not acknowledged by "
                f"every generator within {self.sync.timeout_s:g} s ({', '.join(generators.lagging(version))}); "
                "a generator is stuck in a generation step or "
                "dead, or the transport's process group hangs. Raise sync.timeout_s if a push legitimately takes "
                "longer (large models over slow links)"
            )
        if "error" in done:
            raise done["error"]
        acked = done["acked"]
        if any(v != version for v in acked):
            raise RuntimeError(f"weight push {version}: generators acknowledged {acked}")

    @abstractmethod
    def deliver(self, learner, generators, version: int) -> list[int]:
        """Move the weights into every generator as ``version``; returns each one's acknowledged version."""
