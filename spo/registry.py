"""One registry style for every plug-in: a config name -> ``"module:attr"`` table, imported lazily.

An entry is one function or class in its own file. It carries its own flags as attributes
(a class sets them in its body, a function gets them from :func:`plugin`), so nothing keeps
side tuples of names. Importing happens only when an entry is used, so configs validate
without optional dependencies (vLLM, W&B) installed. Every table lives in :mod:`spo.plugins`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from spo.errors import ConfigError


def import_object(spec: str) -> Any:
    """Import ``"package.module:attr"`` and return the attribute."""
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"expected 'module:attr', got {spec!r}")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def plugin(**flags: Any) -> Callable:
    """Decorate a function entry with its flags (``@plugin(reference_free=True)``)."""

    def mark(fn: Callable) -> Callable:
        for key, value in flags.items():
            setattr(fn, key, value)
        return fn

    return mark


class Registry:
    """The entries of one kind of plug-in, named by the config key that selects them."""

    def __init__(self, key: str, kind: str, entries: dict[str, str]):
        self.key = key
        self.kind = kind  # what an entry is called in messages: "loss", "engine", ...
        self._entries = dict(entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(sorted(self._entries))

    def names(self) -> list[str]:
        return sorted(self._entries)

    def check(self, name: str, key: str | None = None) -> None:
        """Raise :class:`ConfigError` naming ``key`` (default: this registry's key) if ``name`` is unknown."""
        if name not in self._entries:
            raise ConfigError(f"{key or self.key}: unknown {self.kind} {name!r}; known: {self.names()}")

    def get(self, name: str) -> Any:
        """The function or class registered as ``name``."""
        self.check(name)
        return import_object(self._entries[name])

    def flag(self, name: str, flag: str, default: Any = False) -> Any:
        """The entry's own flag ``flag`` (an attribute), or ``default``."""
        return getattr(self.get(name), flag, default)
