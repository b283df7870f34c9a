"""Where a DPO training call goes on SmolLM2: reference pass, forward, backward, optimizer step, padding.

The demo's learner (2 DeepSpeed ranks of 1 thread each, ZeRO-2 over gloo, micro-batches of 4, 2 epochs,
reference = the policy at the iteration's start) trains on the same pairs in both layouts, two rows per
pair and ``learner.share_prompt`` (one row); with the shared prompt also on the same two ranks without ZeRO
partitioning (stage 0: one all-reduce of the gradients per step) and as one rank of 2 threads. One after
the other, each keeping its fastest of ``repeats`` calls after a warm-up call on a few pairs. Phase times come from the learner's own clock (:mod:`spo.learner.phases`), averaged over
ranks. Also measured: one all-reduce of the gradient's size between the two ranks (ZeRO-2 moves about
that much per step: a reduce-scatter of gradients, an all-gather of parameters), and the padding of
micro-batches of 4 formed at random (the fraction of computed token positions that are padding).

Pairs: ``--pairs`` names parquet files of selected pairs (a run's ``iter_*/pairs.parquet``); without it,
the synthetic ifeval pairs of ``bench_learner``.
"""

from __future__ import annotations

import glob
import random
import time

import pyarrow as pa
import pyarrow.parquet as pq
import ray
import torch

from benchmarks.bench_learner import make_ifeval_pairs, token_counts
from benchmarks.common import SMOLLM2, cache_dir, parse_args, start_ray, write_result
from spo.assets.tiny import TinySpec, ensure_tiny_policy
from spo.chat import load_tokenizer
from spo.learner.config import LearnerConfig
from spo.learner.group import LearnerGroup
from spo.learner.phases import PHASES
from spo.learner.worker import deepspeed_config

# name: (ranks, share_prompt, ZeRO stage). The demo's learner is "shared"; "shared_stage0" is the same two ranks
# without ZeRO partitioning (one all-reduce of the gradients per step); "shared_1rank" is one rank of 2
# threads (no gradient exchange), what one process on these 2 cores would run.
LAYOUTS = {
    "two_rows": (2, False, 2),
    "shared": (2, True, 2),
    "shared_stage0": (2, True, 0),
    "shared_1rank": (1, True, 0),
}
MICRO_BATCH, EPOCHS = 4, 2


def load_pairs(pattern: str) -> pa.Table:
    files = sorted(glob.glob(pattern))
    if not files:
        raise SystemExit(f"--pairs: no file matches {pattern!r}")
    cols = ("prompt_id", "prompt", "context", "chosen", "rejected", "selected")
    tables = [pq.read_table(f, columns=[c for c in cols if c in pq.read_schema(f).names]) for f in files]
    pairs = pa.concat_tables(tables, promote_options="default")
    if "selected" in pairs.column_names:  # a run's pairs file also holds the candidates it did not train on
        pairs = pairs.filter(pairs.column("selected")).drop_columns("selected")
    return pairs


def padding(tokenizer, pairs: pa.Table, share_prompt: bool, seed: int = 0) -> dict:
    """Real and computed (padded) token positions over micro-batches of ``MICRO_BATCH`` formed at random."""
    rows = pairs.to_pylist()
    random.Random(seed).shuffle(rows)
    counts = [
        token_counts(tokenizer, rows[i : i + MICRO_BATCH], share_prompt) for i in range(0, len(rows), MICRO_BATCH)
    ]
    real, computed = map(sum, zip(*counts))
    return {"tokens_real": real, "tokens_computed": computed, "padding_fraction": 1 - real / computed}


def allreduce_seconds(worker, repeats: int = 3) -> float | None:
    """The fastest of ``repeats`` all-reduces of a float32 tensor the size of the model (runs in a rank)."""
    if worker.world_size == 1:
        return None
    t = torch.zeros(sum(p.numel() for p in worker.engine.module.parameters()))
    times = []
    for _ in range(repeats):
        torch.distributed.barrier()
        start = time.perf_counter()
        torch.distributed.all_reduce(t)
        times.append(time.perf_counter() - start)
    return min(times)


def measure(model_path: str, pairs: pa.Table, ranks: int, share_prompt: bool, stage: int, repeats: int) -> dict:
    """Phase times of the fastest of ``repeats`` training calls, after a warm-up call on a few pairs."""
    cfg = LearnerConfig(epochs=EPOCHS, micro_batch_size=MICRO_BATCH, lr=1e-5, beta=0.1, zero_stage=stage,
                        num_ranks=ranks, share_prompt=share_prompt)  # fmt: skip
    group = LearnerGroup(cfg, model_path, 0.25, 2 // ranks, seed=0)
    try:
        ref = ray.put(pairs)
        group.train(ray.put(pairs.slice(0, 2 * MICRO_BATCH)), 0)
        calls = []
        for it in range(1, repeats + 1):
            start = time.perf_counter()
            metrics = group.train(ref, it)
            calls.append({"wall_s": time.perf_counter() - start, "steps": metrics["steps"],
                          **{p: metrics[f"train_{p}_s"] for p in PHASES}})  # fmt: skip
        allreduce = ray.get(group.call(allreduce_seconds))[0]
    finally:
        group.shutdown()
    best = min(calls, key=lambda c: c["wall_s"])
    pair_epochs = pairs.num_rows * EPOCHS
    stage_run = deepspeed_config(cfg, ranks)["zero_optimization"]["stage"]  # one rank runs stage 0
    return {**best, "ranks": ranks, "zero_stage": stage_run, "calls": calls, "allreduce_s": allreduce,
            "per_pair_epoch_s": {p: best[p] / pair_epochs for p in (*PHASES, "wall_s")},
            "fraction_of_wall": {p: best[p] / best["wall_s"] for p in PHASES}}  # fmt: skip


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], pairs=("", "glob of pairs.parquet files (default: synthetic)"),
                      repeats=("2", "timed calls per layout, after a warm-up call"),
                      layouts=(",".join(LAYOUTS), "comma-separated layouts"))  # fmt: skip
    names = args.layouts.split(",")
    if not set(names) <= set(LAYOUTS):
        raise SystemExit(f"--layouts: unknown {sorted(set(names) - set(LAYOUTS))}; known: {list(LAYOUTS)}")
    torch.set_num_threads(1)
    if args.quick:
        model_path = str(ensure_tiny_policy(cache_dir(), TinySpec(hidden_size=64, num_layers=2, sft_steps=5)))
        pairs, repeats, source = make_ifeval_pairs(8), 1, "bench_learner.make_ifeval_pairs(8)"
    else:
        model_path, repeats = str(SMOLLM2), int(args.repeats)
        source = args.pairs or "bench_learner.make_ifeval_pairs(32)"
        pairs = load_pairs(args.pairs) if args.pairs else make_ifeval_pairs(32)
    tokenizer = load_tokenizer(model_path)
    start_ray(2)
    try:
        layouts = {name: {**measure(model_path, pairs, *LAYOUTS[name], repeats), **padding(tokenizer, pairs, LAYOUTS[name][1])}
                   for name in names}  # fmt: skip
    finally:
        ray.shutdown()
    result = {"model": "tiny" if args.quick else "smollm2", "pairs": pairs.num_rows, "pairs_source": source,
              "micro_batch": MICRO_BATCH, "epochs": EPOCHS,
              "layouts": layouts, "layout_order": names}  # fmt: skip
    for name, r in layouts.items():
        share = ", ".join(f"{p} {r['fraction_of_wall'][p]:.0%}" for p in PHASES)
        comm = f"; one gradient-sized all-reduce {r['allreduce_s']:.2f} s" if r["allreduce_s"] else ""
        print(f"{name}: {r['wall_s']:.1f} s per call ({r['steps']} steps; {share}); padding "
              f"{r['padding_fraction']:.0%}{comm}")  # fmt: skip
    for name, r in layouts.items():
        print(f"{name}: {layouts[names[0]]['wall_s'] / r['wall_s']:.2f}x faster than {names[0]}")
    write_result("dpo_step", result, args.out, args.quick)


if __name__ == "__main__":
    main()
