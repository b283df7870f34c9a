"""Pre-build DeepSpeed's JIT ops once at install time, so the first run does not pay for them.

On CPU, DeepSpeed's communication layer compiles a shared-memory op on first
use (about half a minute). ``make setup`` runs this module; the op is cached in
TORCH_EXTENSIONS_DIR, which spo points at a directory of its cache per Python environment
(:func:`spo.paths.torch_extensions_dir`).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from spo.paths import torch_extensions_dir

DEFAULT_CACHE = "~/.cache/spo"
STALE_LOCK_S = 600  # a real build holds its lock for about half a minute

log = logging.getLogger(__name__)


def clear_stale_build_locks(max_age_s: float = STALE_LOCK_S) -> list[Path]:
    """Remove torch-extension build locks older than ``max_age_s`` under ``TORCH_EXTENSIONS_DIR``.

    torch takes the lock (a bare file, no owner) on every JIT load, even of a built op; a process killed
    while holding it (Ctrl-C as actors start) leaves every later load waiting on it forever.
    """
    root = os.environ.get("TORCH_EXTENSIONS_DIR")
    removed = []
    for lock in Path(root).glob("*/lock") if root else []:
        try:
            if time.time() - lock.stat().st_mtime > max_age_s:
                lock.unlink()
                removed.append(lock)
                log.warning("removed a stale torch extension build lock (%s), left by a killed process", lock)
        except FileNotFoundError:  # another rank removed it, or the build finished
            pass
    return removed


def main() -> None:
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", torch_extensions_dir(DEFAULT_CACHE))
    from deepspeed.accelerator import get_accelerator

    if get_accelerator().device_name() != "cpu":
        return
    get_accelerator().create_op_builder("ShareMemCommBuilder").load()
    print(f"DeepSpeed CPU ops ready in {os.environ['TORCH_EXTENSIONS_DIR']}")


if __name__ == "__main__":
    main()
