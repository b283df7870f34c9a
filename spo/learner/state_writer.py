"""A DeepSpeed checkpoint engine that writes the training state behind the rank's back.

DeepSpeed's default engine writes every state file inside ``save_checkpoint``, so a rank that saves
its state after each iteration spends that write (1.7 GB for SmolLM2 with Adam, several seconds on a
fresh file) before it can take its next call: when the rollout of the next iteration overlaps training
(``pipeline.mode``), the next ``train`` waits for it. This engine copies each state dict in memory
and hands the copy to one writer thread; :meth:`wait` joins the writes and raises their first error, so
the caller still learns whether the state reached the disk before it marks an iteration complete.
Training does not change the copy, so what is written is the state at the save, whatever the rank does
meanwhile.

The copy goes into CPU buffers kept from the previous save of the same file name (the same shapes every
iteration), and the files carry no CRC-32: on SmolLM2 a fresh 1.7 GB copy took 3.1 s of a core (page
faults) and the checksum 2.2 s, beside the held-out evaluation (profiled with py-spy, 2026-12-06). A torn
write is still caught: an iteration counts as complete only after :meth:`wait`.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all

import torch
from deepspeed.runtime.checkpoint_engine.torch_checkpoint_engine import TorchCheckpointEngine


def snapshot(item, old=None):
    """A CPU copy of ``item`` (tensors nested in dicts, lists and tuples), reusing ``old``'s tensors where the
    shape and dtype match."""
    if torch.is_tensor(item):
        if torch.is_tensor(old) and old.shape == item.shape and old.dtype == item.dtype:
            return old.copy_(item.detach())
        return item.detach().to("cpu", copy=True)
    if isinstance(item, dict):
        old = old if isinstance(old, dict) else {}
        return type(item)({k: snapshot(v, old.get(k)) for k, v in item.items()})
    if isinstance(item, (list, tuple)):
        old = old if isinstance(old, type(item)) and len(old) == len(item) else [None] * len(item)
        copied = [snapshot(v, o) for v, o in zip(item, old)]
        return copied if isinstance(item, list) else tuple(copied)
    return item


def write(state, path: str) -> None:
    """``torch.save``, failing with an error that names the file and the space left on its disk: torch's own, on
    a full disk, is ``basic_ios::clear: iostream error`` or ``unexpected pos 704 vs 598``."""
    try:
        torch.save(state, path)
    except Exception as e:
        try:
            where = f"{shutil.disk_usage(os.path.dirname(path)).free / 2**30:.2f} GiB free on its disk"
        except OSError as missing:
            where = f"its directory: {missing.strerror}"
        raise OSError(f"could not write the training state to {path} ({where}): {e}") from e


class BackgroundStateWriter(TorchCheckpointEngine):
    """Snapshot in :meth:`save`, write on a background thread, join in :meth:`wait`; loading and the rest are
    DeepSpeed's own engine's. Files are in torch's default (zip) format, DeepSpeed's default too."""

    def __init__(self):
        super().__init__()
        self.name = "BackgroundStateWriter"
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="state-writer")
        self._pending: list[Future] = []
        self._buffers: dict[str, object] = {}  # file name -> the snapshot last written there
        torch.serialization.set_crc32_options(False)  # for the whole rank: its only torch.save calls are these

    def save(self, state_dict, path: str) -> None:
        wait_all(self._pending)  # the buffers are free again (a previous iteration's write has long finished); errors
        # are left for wait()
        name = os.path.basename(path)
        self._buffers[name] = copy = snapshot(state_dict, self._buffers.get(name))
        self._pending.append(self._pool.submit(write, copy, path))

    def preserves_storage_sharing(self) -> bool:
        return False  # save() copies every tensor itself; DeepSpeed need not copy the model's first

    def wait(self) -> None:
        """Block until every write submitted so far has finished (none is left running when this raises, so
        the caller may remove the directory); raise the first one's error."""
        pending, self._pending = self._pending, []
        errors = [e for e in (f.exception() for f in pending) if e is not None]
        if errors:
            raise errors[0]
