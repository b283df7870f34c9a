"""Pre-build DeepSpeed's JIT ops once at install time, so the first run does not pay for them.

On CPU, DeepSpeed's communication layer compiles a shared-memory op on first
use (about half a minute). ``make setup`` runs this module; the op is cached in
TORCH_EXTENSIONS_DIR, which spo points at its cache directory.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CACHE = "~/.cache/spo"


def main() -> None:
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(Path(DEFAULT_CACHE).expanduser() / "torch_extensions"))
    from deepspeed.accelerator import get_accelerator

    if get_accelerator().device_name() != "cpu":
        return
    get_accelerator().create_op_builder("ShareMemCommBuilder").load()
    print(f"DeepSpeed CPU ops ready in {os.environ['TORCH_EXTENSIONS_DIR']}")


if __name__ == "__main__":
    main()
