"""The tracker interface and building the configured trackers.

``metrics.jsonl`` is always written (see :mod:`spo.metrics`); trackers mirror its numeric values
live. Each tracker names the package it ``requires``; a backend that is asked for but not
installed is a configuration error (:class:`spo.tracking.config.TrackingConfig`).
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from pathlib import Path

from spo.plugins import TRACKERS


class Tracker(ABC):
    requires: str  # the package the backend needs

    @abstractmethod
    def log(self, step: int, stage: str, values: dict) -> None:
        """Record the numeric ``values`` of ``stage`` at ``step``."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release resources."""


def numeric(values: dict) -> dict[str, float]:
    """The real-valued entries of ``values`` (booleans excluded), as floats; a dict of them (a histogram such as
    ``pair_staleness_hist``) becomes one entry per key, ``name/key``."""
    out = {}
    for k, v in values.items():
        if isinstance(v, dict):
            out.update({f"{k}/{kk}": vv for kk, vv in numeric(v).items()})
        elif isinstance(v, numbers.Real) and not isinstance(v, bool):
            out[k] = float(v)
    return out


def build_trackers(tracking, run_dir: Path, run_name: str, config: dict) -> list[Tracker]:
    """One tracker per ``tracking.backends`` entry (a validated :class:`TrackingConfig`)."""
    return [
        TRACKERS.get(name)(run_dir=run_dir, project=tracking.project, run_name=run_name, config=config)
        for name in tracking.backends
    ]
