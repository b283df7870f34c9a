"""A DeepSpeed checkpoint engine that writes the training state behind the rank's back.

DeepSpeed's default engine writes every state file inside ``save_checkpoint``, so a rank that saves
its state after each iteration spends that write (1.7 GB for SmolLM2 with Adam, several seconds on a
fresh file) before it can take its next call: when the rollout of the next iteration overlaps training
(``pipeline.mode``), the next ``train`` waits for it. This engine copies each state dict in memory
(under a second for SmolLM2) and hands the copy to one writer thread; :meth:`wait` joins the writes
and raises their first error, so the caller still learns whether the state reached the disk before it
marks an iteration complete. Training does not change the copy, so what is written is the state at the
save, whatever the rank does meanwhile.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import torch
from deepspeed.checkpoint.utils import clone_tensors_for_torch_save
from deepspeed.runtime.checkpoint_engine.torch_checkpoint_engine import TorchCheckpointEngine


class BackgroundStateWriter(TorchCheckpointEngine):
    """Snapshot in :meth:`save`, write on a background thread, join in :meth:`wait`; loading and the rest are
    DeepSpeed's own engine's. Files are in torch's default (zip) format, DeepSpeed's default too."""

    def __init__(self):
        super().__init__()
        self.name = "BackgroundStateWriter"
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="state-writer")
        self._pending: list[Future] = []

    def save(self, state_dict, path: str) -> None:
        self._pending.append(self._pool.submit(torch.save, clone_tensors_for_torch_save(state_dict), path))

    def preserves_storage_sharing(self) -> bool:
        return False  # save() copies every tensor itself; DeepSpeed need not copy the model's first

    def wait(self) -> None:
        """Block until every write submitted so far has finished (none is left running when this raises, so
        the caller may remove the directory); raise the first one's error."""
        pending, self._pending = self._pending, []
        errors = [e for e in (f.exception() for f in pending) if e is not None]
        if errors:
            raise errors[0]
