"""Where an actor runs: its node and the GPUs Ray assigned it (recorded in the run's ``placement.json``)."""

from __future__ import annotations

import os

import ray


def here() -> dict:
    """This actor's node and IP, its GPU ids from Ray, ``CUDA_VISIBLE_DEVICES`` as Ray set it, and its cores."""
    ctx = ray.get_runtime_context()
    return {
        "node": ctx.get_node_id(),
        "ip": ray.util.get_node_ip_address(),
        "gpus": [str(g) for g in ray.get_gpu_ids()],
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "cores": sorted(os.sched_getaffinity(0)),
    }


class Placed:
    """Gives an actor class :meth:`placement`."""

    def placement(self) -> dict:
        return here()
