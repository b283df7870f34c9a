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


# Which stage timings are a role's busy time (the generators' and scorers' own clocks, the learner's wall time).
ROLE_BUSY = {"generate_s": "generator", "eval_generate_s": "generator", "regenerate_generate_s": "generator",
             "score_s": "scorer", "regenerate_score_s": "scorer", "train_s": "learner",
             "pair_logprobs_s": "learner"}  # fmt: skip


class RoleTally:
    """Busy seconds per role, summed over the stages recorded between two :meth:`take` calls.

    With overlapped stages the window between two completed iterations holds parts of two iterations;
    a role's idle fraction is ``1 - busy / window`` over that window.
    """

    def __init__(self) -> None:
        self.busy: dict[str, float] = {}
        self.since = time.perf_counter()

    def add(self, values: dict) -> None:
        for key, role in ROLE_BUSY.items():
            if values.get(key):
                self.busy[role] = self.busy.get(role, 0.0) + values[key]

    def take(self) -> dict:
        """``iteration_s`` (the window) and each role's busy seconds and idle fraction in it; then reset."""
        now = time.perf_counter()
        window = now - self.since
        out = {"iteration_s": window}
        for role in sorted(set(ROLE_BUSY.values())):
            busy = self.busy.get(role, 0.0)
            out[f"{role}_busy_s"] = busy
            out[f"{role}_idle_fraction"] = max(0.0, 1.0 - busy / window) if window > 0 else 0.0
        self.busy, self.since = {}, now
        return out
