"""Progress lines for long stages, readable in a Ray job's log (no terminal control codes)."""

from __future__ import annotations

import logging

import ray

log = logging.getLogger("spo.progress")


def gather_with_progress(refs: list, label: str, unit: str, per_ref: int, marks: int = 4, watch=None,
                         poll_s: float = 5.0) -> list:  # fmt: skip
    """``ray.get`` the references in completion order, logging at each quarter; returns values in order.

    With ``watch`` (an :class:`~spo.cluster.watch.ActorWatch`), ``watch.check()`` runs every ``poll_s``
    seconds without a result, and fails the wait when an actor it holds cannot come back."""
    index = {ref: i for i, ref in enumerate(refs)}
    values: list = [None] * len(refs)
    pending, done, next_mark = list(refs), 0, 1
    while pending:
        ready, pending = ray.wait(pending, num_returns=1, timeout=None if watch is None else poll_s)
        if not ready:
            watch.check()
            continue
        values[index[ready[0]]] = ray.get(ready[0])
        done += 1
        if done * marks >= next_mark * len(refs):
            log.info("%s: %d/%d %s (%d%%)", label, done * per_ref, len(refs) * per_ref, unit, 100 * done // len(refs))
            next_mark = done * marks // len(refs) + 1
    return values
