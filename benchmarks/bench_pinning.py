"""Two roles on two cores: a learner-like step beside a generator-like step, pinned to their cores or not.

One process per role, 1 thread each: the learner's stand-in runs a forward and backward pass of 4 sequences
of 130 tokens, the generator's a sampled rollout of 4 answers of 20 tokens to each of 24 prompts of 50 tokens
(Hugging Face ``generate``, KV cache). Each is timed alone on its core, then both side by side, pinned
(``spo.cluster.cpus.claim_cpus``, as ``cluster.<role>_cores`` does: generator core 0, learner core 1) and
unpinned (1 thread each, the OS placing them). Rounds are interleaved. Reported: steps/s and each role's
speed beside the other relative to alone. This is what ``bench_overlap``'s split layout relies on: each role
as fast beside the other as alone.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import time

import torch
from transformers import AutoModelForCausalLM

from benchmarks.common import SMOLLM2, cache_dir, parse_args, write_result
from spo.assets.tiny import TinySpec, ensure_tiny_policy
from spo.cluster.cpus import claim_cpus

CORES = {"generator": (0,), "learner": (1,)}


def _step(role: str, model):
    """The role's stand-in step on ``model``."""
    g = torch.Generator().manual_seed(0)
    if role == "learner":
        x = torch.randint(0, model.config.vocab_size, (4, 130), generator=g)
        return lambda: model(input_ids=x, labels=x).loss.backward()
    model.eval()
    x = torch.randint(0, model.config.vocab_size, (24, 50), generator=g)

    def rollout():
        with torch.no_grad():
            model.generate(input_ids=x, attention_mask=torch.ones_like(x), do_sample=True, num_return_sequences=4,
                           max_new_tokens=20, min_new_tokens=20, pad_token_id=0)  # fmt: skip

    return rollout


def _worker(role: str, pinned: bool, model_path: str, seconds: float, start, out) -> None:
    claim_cpus(role, 1, CORES[role] if pinned else ())
    step = _step(role, AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32))
    step()  # warm-up
    start.wait()  # side by side: both start timing together
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    out.put((role, n / (time.perf_counter() - t0)))


def measure(roles: tuple[str, ...], pinned: bool, model_path: str, seconds: float) -> dict[str, float]:
    """Steps/s of each of ``roles``, run at the same time in processes of their own."""
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(len(roles)), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(r, pinned, model_path, seconds, start, out)) for r in roles]
    for p in procs:
        p.start()
    rates = dict(out.get(timeout=600) for _ in roles)
    for p in procs:
        p.join()
    return rates


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], model=("tiny", "tiny or smollm2 (prepared by make demo)"),
                      rounds=("2", "interleaved rounds"), seconds=("40", "seconds per measurement"))  # fmt: skip
    if args.quick or args.model == "tiny":
        model_path = str(ensure_tiny_policy(cache_dir(), TinySpec(hidden_size=128, num_layers=2, sft_steps=10)))
    else:
        model_path = str(SMOLLM2)
    rounds, seconds = (1, 2.0) if args.quick else (int(args.rounds), float(args.seconds))
    cases = {"learner_alone": (("learner",), True), "generator_alone": (("generator",), True),
             "pinned": (("generator", "learner"), True), "unpinned": (("generator", "learner"), False)}  # fmt: skip
    rates: dict[str, list[dict]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (roles, pinned) in cases.items():
            rates[name].append(measure(roles, pinned, model_path, seconds))
            print(name, rates[name][-1], flush=True)
    mean = {name: {r: statistics.mean(x[r] for x in runs) for r in runs[0]} for name, runs in rates.items()}
    alone = {"learner": mean["learner_alone"]["learner"], "generator": mean["generator_alone"]["generator"]}
    beside = {case: {r: mean[case][r] / alone[r] for r in alone} for case in ("pinned", "unpinned")}
    for case, ratio in beside.items():
        print(f"{case}: learner {ratio['learner']:.2f}x and generator {ratio['generator']:.2f}x its speed alone")
    name = "pinning" if args.model == "tiny" else f"pinning_{args.model}"
    write_result(name, {"model": args.model, "rounds": rounds, "seconds": seconds, "steps_per_s": rates,
                             "speed_beside_vs_alone": beside}, args.out, args.quick)  # fmt: skip


if __name__ == "__main__":
    main()
