"""A name -> ``"module:attr"`` registry with lazy import.

Backends are named in config; importing one (vLLM, say) happens only when it is
used, so configs validate without optional dependencies installed.
"""

from __future__ import annotations

import importlib
from typing import Any


def import_object(spec: str) -> Any:
    """Import ``"package.module:attr"`` and return the attribute."""
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"expected 'module:attr', got {spec!r}")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry:
    """Config names of one role's backends."""

    def __init__(self, role: str, entries: dict[str, str]):
        self.role = role
        self._entries = dict(entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(sorted(self._entries))

    def get(self, name: str) -> Any:
        """The backend class registered as ``name``."""
        if name not in self._entries:
            raise KeyError(f"{self.role}: unknown backend {name!r}; known: {sorted(self._entries)}")
        return import_object(self._entries[name])
