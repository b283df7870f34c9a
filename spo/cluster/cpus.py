"""A role's share of a node's CPUs: its torch threads, and the cores it is pinned to (``cluster.<role>_cores``)."""

from __future__ import annotations

import os

import torch

from spo.errors import ConfigError


def claim_cpus(role: str, threads: int, cores: tuple[int, ...] = ()) -> None:
    """Run this process's torch ops on ``threads`` threads and, if ``cores`` is given, every thread on those cores.

    Pinning gives a role its own cores on one machine, as its own GPUs do on a cluster. (On the project's
    2-core machine it made the pipelined SmolLM2 loop slower, not faster: benchmarks/results/pipeline.md.)
    Every thread the process already has is pinned (Ray's included); threads started later inherit the mask.
    ``cores`` are the node's own CPU ids; one this process may not use is refused, naming the key and the cores
    it may use.
    """
    torch.set_num_threads(threads)
    if not cores:
        return
    allowed = os.sched_getaffinity(0)
    if not set(cores) <= allowed:
        raise ConfigError(
            f"cluster.{role}_cores: {sorted(set(cores) - allowed)} not among this node's usable cores {sorted(allowed)}"
        )
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cores)
        except ProcessLookupError:  # the thread ended in between
            pass
