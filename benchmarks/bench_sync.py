"""Weight-sync push time against model size, as bytes/s against a ``memcpy`` of the same bytes.

Two transports, side by side: the object store (rank 0 puts its parameters in Ray's object store;
each generator maps them and copies them into its model) and the collective transport (a bucketed
broadcast from rank 0; gloo on CPU, ``--backend nccl`` on GPUs, where the nominal link bandwidth is
the yardstick). The memcpy is one ``Tensor.copy_`` of a flat buffer of the same size, in this
process, measured in the same run. Every push ends with every generator's acknowledgement.
"""

from __future__ import annotations

import time

import ray
import torch

from benchmarks.common import best_of, cache_dir, parse_args, start_ray, write_result
from spo.assets.tiny import TinySpec, ensure_tiny_policy
from spo.learner.config import LearnerConfig
from spo.learner.group import LearnerGroup
from spo.rollout.pool import GeneratorPool
from spo.sync.collective import CollectiveTransport
from spo.sync.config import SyncConfig
from spo.sync.object_store import ObjectStoreTransport, export


def push_seconds(model_path: str, repeats: int, backend: str) -> tuple[dict[str, float], int]:
    """Best push time per transport (object store, collective on ``backend``) and the bytes pushed."""
    learner = LearnerGroup(LearnerConfig(num_ranks=1, zero_stage=2), model_path, 0.5, 1, seed=0)
    gens = GeneratorPool(1, "hf", {"model_path": model_path}, "tiny", num_cpus=0.5, threads=1)
    transports = {"object_store": ObjectStoreTransport(SyncConfig()),
                  backend: CollectiveTransport(SyncConfig(transport=backend, bucket_mb=64))}  # fmt: skip
    try:
        nbytes = sum(t.nbytes for _, t in ray.get(learner.call(export)[0]))
        times: dict[str, list[float]] = {name: [] for name in transports}
        version = 0
        for rep in range(repeats + 1):  # the first round warms up (and forms the group)
            for name, transport in transports.items():  # interleaved
                version += 1
                start = time.perf_counter()
                transport.push(learner, gens, version)
                if rep:
                    times[name].append(time.perf_counter() - start)
        return {name: min(t) for name, t in times.items()}, nbytes
    finally:
        learner.shutdown()
        gens.shutdown()


def memcpy_seconds(nbytes: int, repeats: int) -> float:
    src = torch.empty(nbytes // 4, dtype=torch.float32).uniform_()
    dst = torch.empty_like(src)
    dst.copy_(src)
    return best_of(lambda: dst.copy_(src), repeats)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], backend=("gloo", "collective transport backend: gloo (CPU) or nccl"))
    torch.set_num_threads(1)
    sizes = [(64, 1), (128, 2)] if args.quick else [(128, 2), (384, 4), (768, 8)]
    repeats = 1 if args.quick else 3
    cache = cache_dir()
    paths = [
        (h, n, str(ensure_tiny_policy(cache, TinySpec(hidden_size=h, num_layers=n, sft_steps=1)))) for h, n in sizes
    ]
    start_ray(2)
    rows = []
    try:
        for hidden, layers, path in paths:
            pushes, nbytes = push_seconds(path, repeats, args.backend)
            copy = memcpy_seconds(nbytes, 5)
            row = {"hidden_size": hidden, "layers": layers, "bytes": nbytes, "memcpy_s": copy,
                   "memcpy_bytes_per_s": nbytes / copy}  # fmt: skip
            for name, push in pushes.items():
                row[f"{name}_s"] = push
                row[f"{name}_bytes_per_s"] = nbytes / push
                row[f"{name}_vs_memcpy"] = copy / push
            rows.append(row)
            shown = ", ".join(
                f"{n} {p * 1e3:.1f} ms ({nbytes / p / 1e9:.2f} GB/s, {copy / p:.3f}x memcpy)" for n, p in pushes.items()
            )
            print(f"{nbytes / 1e6:8.1f} MB: {shown}; memcpy {copy * 1e3:.2f} ms", flush=True)
    finally:
        ray.shutdown()
    write_result("sync", {"transports": ["object_store", args.backend], "sizes": rows}, args.out, args.quick)


if __name__ == "__main__":
    main()
