"""Failing a wait whose actors cannot come back, instead of hanging.

A generator or scorer whose node dies is restarted by Ray (``cluster.max_restarts``) wherever its
GPUs and CPUs fit, and its chunks run again. When no surviving node can hold it, Ray keeps it
``RESTARTING`` and every chunk queued on it waits forever. :class:`ActorWatch`, polled while a rollout
waits, raises :class:`CapacityLostError` once any watched actor has been down for
``cluster.restart_timeout_s``, naming the actors and the resources missing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import ray
import ray._private.state as gcs_state


class CapacityLostError(RuntimeError):
    """Actors were lost with their node and the cluster has no room to restart them."""


@dataclass
class Watched:
    """One actor, its label in messages, and the resources one restart needs."""

    label: str
    actor: ray.actor.ActorHandle
    cpus: float
    gpus: float


class ActorWatch:
    """Tracks how long each watched actor has not been ``ALIVE``."""

    def __init__(self, actors: list[Watched], timeout_s: float, clock=time.monotonic):
        self.actors = {a.actor._actor_id.hex(): a for a in actors}
        self.timeout_s = timeout_s
        self.clock = clock
        self.down_since: dict[str, float] = {}

    def check(self) -> None:
        """Raise :class:`CapacityLostError` if an actor has been down for ``timeout_s``."""
        now = self.clock()
        down = self._states()
        self.down_since = {aid: self.down_since.get(aid, now) for aid in down}
        late = [aid for aid, since in self.down_since.items() if now - since >= self.timeout_s]
        if late:
            raise CapacityLostError(self._message([(self.actors[aid], down[aid]) for aid in late], now))

    def _states(self) -> dict[str, str]:
        """Watched actor id -> state, for those not ``ALIVE``. Read from Ray's GCS actor table
        (``ray._private.state``): the public state API needs the dashboard, which local clusters run without."""
        states = {aid: gcs_state.actors(aid)["State"] for aid in self.actors}
        return {aid: state for aid, state in states.items() if state != "ALIVE"}

    def _message(self, late: list[tuple[Watched, str]], now: float) -> str:
        free = ray.available_resources()
        cpus, gpus = sum(w.cpus for w, _ in late), sum(w.gpus for w, _ in late)
        missing_cpus, missing_gpus = max(cpus - free.get("CPU", 0.0), 0.0), max(gpus - free.get("GPU", 0.0), 0.0)
        alive = sum(1 for n in ray.nodes() if n["Alive"])
        what = "; ".join(
            f"{w.label} has been {state} for {now - self.down_since[w.actor._actor_id.hex()]:.0f} s "
            f"(one needs {w.cpus:g} CPUs and {w.gpus:g} GPUs on one node)"
            for w, state in late
        )
        short = [f"{n:g} {unit}" for n, unit in ((missing_gpus, "GPUs"), (missing_cpus, "CPUs")) if n]
        missing = (
            f"missing: {' and '.join(short)}"
            if short
            else "the free capacity is split across nodes, none of which can hold one"
        )
        return (
            f"{what}. The cluster has {alive} alive node(s) with {free.get('GPU', 0.0):g} GPUs and "
            f"{free.get('CPU', 0.0):g} CPUs free; {missing}. Add capacity, then resume from the last complete "
            "iteration (same command, or resume=<run_dir>); cluster.restart_timeout_s sets this wait"
        )
