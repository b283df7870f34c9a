"""Which training prompts each iteration draws, and cutting rows into chunks for streaming."""

from __future__ import annotations

import random


class PromptSchedule:
    """One seeded shuffle of the training prompts, walked ``per_iteration`` at a time and wrapped around."""

    def __init__(self, prompts: list[dict], per_iteration: int, seed: int):
        self.prompts = prompts
        self.per_iteration = per_iteration
        self._order = list(range(len(prompts)))
        random.Random(seed).shuffle(self._order)

    def _index(self, position: int) -> int:
        return self._order[position % len(self._order)]

    def iteration(self, k: int) -> list[dict]:
        """The prompts of iteration ``k``."""
        n = self.per_iteration
        return [self.prompts[self._index(k * n + i)] for i in range(n)]

    def window(self, k: int, size: int) -> list[dict]:
        """Iteration ``k``'s candidate pool: the ``k``-th run of ``size`` prompts in the same order (wrapping)."""
        return [self.prompts[self._index(k * size + i)] for i in range(size)]

    def used(self, iterations: int) -> list[dict]:
        """Every prompt the first ``iterations`` iterations draw, once each, in the prompt set's order."""
        return [self.prompts[i] for i in sorted({self._index(i) for i in range(self.per_iteration * iterations)})]


def chunks(rows: list, size: int) -> list[list]:
    """``rows`` in consecutive chunks of ``size`` (the last may be shorter)."""
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def derived_seed(*parts: int) -> int:
    """A seed derived from ``parts`` (for example a base seed, an iteration and a chunk), stable across runs."""
    return random.Random(" ".join(map(str, parts))).randrange(2**31 - 1)
