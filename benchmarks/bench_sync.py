"""Weight-sync push time against model size, as bytes/s against a ``memcpy`` of the same bytes.

The object-store push is: rank 0 gathers its parameters, puts them in Ray's object store, and each
generator copies them into its model and acknowledges. The memcpy is one ``Tensor.copy_`` of a flat
buffer of the same size, in this process, measured in the same run.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from pathlib import Path

import ray
import torch

from benchmarks.common import best_of, parse_args, write_result
from spo.assets.tiny import TinySpec, ensure_tiny_policy
from spo.cluster import actor_env
from spo.config import LearnerConfig, SyncConfig
from spo.learner.group import LearnerGroup
from spo.rollout.pool import GeneratorPool
from spo.sync.object_store import ObjectStoreTransport


def push_seconds(model_path: str, repeats: int) -> tuple[float, int]:
    cfg = asdict(LearnerConfig(num_ranks=1, zero_stage=2))
    learner = LearnerGroup(1, model_path, cfg, 0.5, 1, seed=0)
    gens = GeneratorPool(1, "hf", {"model_path": model_path}, "tiny", num_cpus=0.5, threads=1)
    try:
        nbytes = sum(t.nbytes for _, t in ray.get(learner.export_weights()))
        transport = ObjectStoreTransport(SyncConfig())
        transport.push(learner, gens, 1)  # warm-up
        times = []
        for v in range(repeats):
            start = time.perf_counter()
            transport.push(learner, gens, v + 2)
            times.append(time.perf_counter() - start)
        return min(times), nbytes
    finally:
        learner.shutdown()
        gens.shutdown()


def memcpy_seconds(nbytes: int, repeats: int) -> float:
    src = torch.empty(nbytes // 4, dtype=torch.float32).uniform_()
    dst = torch.empty_like(src)
    dst.copy_(src)
    return best_of(lambda: dst.copy_(src), repeats)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    torch.set_num_threads(1)
    sizes = [(64, 1), (128, 2)] if args.quick else [(128, 2), (384, 4), (768, 8)]
    repeats = 1 if args.quick else 3
    cache = Path(os.environ.get("SPO_CACHE", "~/.cache/spo")).expanduser()
    paths = [
        (h, n, str(ensure_tiny_policy(cache, TinySpec(hidden_size=h, num_layers=n, sft_steps=1)))) for h, n in sizes
    ]
    ray.init(address="local", num_cpus=2, include_dashboard=False, runtime_env={"env_vars": actor_env(str(cache))})
    rows = []
    try:
        for hidden, layers, path in paths:
            push, nbytes = push_seconds(path, repeats)
            copy = memcpy_seconds(nbytes, 5)
            rows.append({"hidden_size": hidden, "layers": layers, "bytes": nbytes, "push_s": push, "memcpy_s": copy,
                         "push_bytes_per_s": nbytes / push, "memcpy_bytes_per_s": nbytes / copy,
                         "push_vs_memcpy": copy / push})  # fmt: skip
            print(f"{nbytes / 1e6:8.1f} MB: push {push * 1e3:7.1f} ms ({nbytes / push / 1e9:.2f} GB/s), "
                  f"memcpy {copy * 1e3:6.2f} ms ({nbytes / copy / 1e9:.2f} GB/s): {copy / push:.3f}x memcpy", flush=True)  # fmt: skip
    finally:
        ray.shutdown()
    write_result("sync", {"transport": "object_store", "sizes": rows}, args.out, args.quick)


if __name__ == "__main__":
    main()
