"""Errors every package raises, and the one helper that names the config key at fault.

A leaf module: it imports nothing from spo, so any package can use it without a cycle.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """An invalid configuration; the message names the key."""


def require(cond: bool, key: str, msg: str) -> None:
    """Raise :class:`ConfigError` ``"<key>: <msg>"`` unless ``cond`` holds."""
    if not cond:
        raise ConfigError(f"{key}: {msg}")
