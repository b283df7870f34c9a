"""Paths: checks on those named in config (model directories, or hub ids when the hub may be reached, and files),
and where spo caches compiled ops."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

from spo.errors import require


def torch_extensions_dir(cache_dir: str) -> str:
    """Where DeepSpeed's JIT-compiled CPU ops are cached: one directory per Python environment.

    A build's compiler flags name the environment's site-packages, so two environments (two checkouts,
    each with its own venv) sharing one directory rebuild the op on every switch, about 45 s of both cores
    in the middle of a run.
    """
    tag = hashlib.sha1(sys.prefix.encode()).hexdigest()[:12]
    return str(Path(cache_dir).expanduser() / "torch_extensions" / tag)


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def is_model_dir_or_hub_id(path: str) -> bool:
    """A local directory, or a hub id while ``HF_HUB_OFFLINE`` is unset."""
    if Path(path).expanduser().is_dir():
        return True
    return bool(_HUB_ID.match(path)) and os.environ.get("HF_HUB_OFFLINE", "0") in ("0", "", "false")


def require_model(path: str, key: str) -> None:
    """Raise a ConfigError naming ``key`` unless ``path`` is a model directory (or a reachable hub id)."""
    hint = " (a hub id is accepted only when HF_HUB_OFFLINE is unset)" if _HUB_ID.match(path) else ""
    require(is_model_dir_or_hub_id(path), key, f"no such directory: {path}{hint}")


def require_file(path: str | None, key: str) -> None:
    """Raise a ConfigError naming ``key`` unless ``path`` (if given) is a file."""
    if path is not None:
        require(Path(path).expanduser().is_file(), key, f"no such file: {path}")
