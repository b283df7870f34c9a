"""Checks on paths named in config: model directories (or hub ids, when the hub may be reached) and files."""

from __future__ import annotations

import os
import re
from pathlib import Path

from spo.errors import require

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
