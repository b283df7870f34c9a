"""Busy-time accounting for actors, so overlapped stages can still be timed."""

from __future__ import annotations

import time
from contextlib import contextmanager


class BusyClock:
    """Accumulates the seconds an actor spends inside :meth:`busy`."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def busy(self):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start

    def take(self) -> float:
        """Return the accumulated seconds and reset to zero."""
        seconds, self.seconds = self.seconds, 0.0
        return seconds
