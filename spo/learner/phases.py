"""Where a training call's time goes: wall seconds per phase, summed over its micro-batches.

Phases: ``reference`` (the reference log-probs, once per call), ``forward`` (policy log-probs and the loss),
``backward`` (``engine.backward``: autograd and, with several ranks, the gradient reduction) and ``step``
(``engine.step``: clipping, the optimizer and, under ZeRO 1-2, the gather of the updated partitions).
On a GPU each boundary synchronises the device, so a phase owns its kernels' time.
"""

from __future__ import annotations

import contextlib

import torch

from spo.learner.device import all_reduce
from spo.timing import BusyClock

PHASES = ("reference", "forward", "backward", "step")


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class PhaseClock:
    """A :class:`~spo.timing.BusyClock` per phase of :data:`PHASES`."""

    def __init__(self) -> None:
        self.clocks = {p: BusyClock() for p in PHASES}

    @property
    def seconds(self) -> dict[str, float]:
        return {p: c.seconds for p, c in self.clocks.items()}

    @contextlib.contextmanager
    def phase(self, name: str):
        if name not in self.clocks:
            raise KeyError(f"unknown phase {name!r}; known: {PHASES}")
        _sync()
        with self.clocks[name].busy():
            try:
                yield
            finally:
                _sync()

    def mean_over_ranks(self) -> dict[str, float]:
        """``train_<phase>_s``: each phase's seconds, averaged over the ranks of the process group."""
        total = all_reduce([self.clocks[p].seconds for p in PHASES])
        return {f"train_{p}_s": v / torch.distributed.get_world_size() for p, v in zip(PHASES, total)}
