"""Generation throughput: spo's HF engine in a Ray actor against plain ``model.generate`` in this process.

Same model, prompts, batch size, sampling and seeds, so both produce the same tokens; the ratio of
their times is what Ray, Arrow packing and log-prob bookkeeping cost. A cProfile of the in-process
engine shows where its time goes.
"""

from __future__ import annotations

import time

import ray
import torch
from transformers import AutoModelForCausalLM

from benchmarks.common import cache_dir, parse_args, profile_top, start_ray, write_result
from spo.assets.tiny import TinySpec, ensure_tiny_policy
from spo.chat import chat_prompt, load_tokenizer
from spo.rollout.base import SamplingParams
from spo.rollout.hf_engine import HFEngine
from spo.rollout.pool import GeneratorPool
from spo.tasks import sort_digits

THREADS = 2


def plain_generate(model_path: str, prompts: list[str], sampling: SamplingParams, batch_size: int) -> tuple[float, int]:
    """Seconds and new tokens for bare ``model.generate``, seeded exactly as the engine seeds it."""
    tok = load_tokenizer(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
    gen = torch.Generator().manual_seed(sampling.seed)
    tokens = 0
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(prompts), batch_size):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
            enc = tok([chat_prompt(tok, p) for p in prompts[i : i + batch_size]], return_tensors="pt", padding=True,
                      add_special_tokens=False)  # fmt: skip
            out = model.generate(**enc, do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=0,
                                 max_new_tokens=sampling.max_new_tokens, num_return_sequences=sampling.n,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)  # fmt: skip
            new = out[:, enc["input_ids"].shape[1] :]
            tokens += int((new != tok.pad_token_id).sum())
    return time.perf_counter() - start, tokens


def actor_generate(pool: GeneratorPool, rows: list[dict], sampling: SamplingParams, chunk: int) -> float:
    start = time.perf_counter()
    ray.get([pool.submit(rows[i : i + chunk], 0, sampling) for i in range(0, len(rows), chunk)])
    return time.perf_counter() - start


def engine_generate(engine: HFEngine, prompts: list[str], sampling: SamplingParams, batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(prompts), batch):
        engine.generate(prompts[i : i + batch], sampling)
    return time.perf_counter() - start


def profile_engine(model_path: str, prompts: list[str], sampling: SamplingParams) -> str:
    engine = HFEngine(model_path)
    engine.generate(prompts[:8], sampling)
    return profile_top(lambda: engine.generate(prompts, sampling))


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    torch.set_num_threads(THREADS)
    n_prompts, repeats = (16, 1) if args.quick else (256, 3)
    cache = cache_dir()
    model_path = str(ensure_tiny_policy(cache, TinySpec()))
    rows = sort_digits.generate_prompts(n_prompts, seed=3, min_len=4, max_len=8)
    prompts = [r["prompt"] for r in rows]
    sampling = SamplingParams(n=4, temperature=1.0, top_p=1.0, max_new_tokens=24, seed=11)
    batch = 32  # the engine's batch size; the actor gets chunks of the same size

    start_ray(THREADS)
    try:
        pool = GeneratorPool(1, "hf", {"model_path": model_path}, "tiny", num_cpus=THREADS, threads=THREADS)
        actor_generate(pool, rows[:batch], sampling, batch)  # warm-up
        engine = HFEngine(model_path, batch_size=batch)
        plain_s, engine_s, actor_s = [], [], []
        for _ in range(repeats):  # interleaved, so drift hits all alike
            plain_s.append(plain_generate(model_path, prompts, sampling, batch)[0])
            engine_s.append(engine_generate(engine, prompts, sampling, batch))
            actor_s.append(actor_generate(pool, rows, sampling, batch))
        pool.shutdown()
    finally:
        ray.shutdown()
    _, tokens = plain_generate(model_path, prompts, sampling, batch)
    profile = profile_engine(model_path, prompts, sampling)
    plain, in_process, actor = min(plain_s), min(engine_s), min(actor_s)
    result = {
        "prompts": n_prompts,
        "samples_per_prompt": sampling.n,
        "batch": batch,
        "new_tokens": tokens,
        "seconds": {"plain_generate": plain, "engine_in_process": in_process, "engine_actor": actor},
        "tokens_per_s": {
            "plain_generate": tokens / plain,
            "engine_in_process": tokens / in_process,
            "engine_actor": tokens / actor,
        },
        "ratio_engine_vs_plain": plain / in_process,
        "ratio_actor_vs_plain": plain / actor,
        "profile_engine": profile,
    }
    print(
        f"plain generate {tokens / plain:.0f} tok/s, engine in process {tokens / in_process:.0f} tok/s "
        f"({plain / in_process:.3f}x), engine actor {tokens / actor:.0f} tok/s ({plain / actor:.3f}x)"
    )
    print(profile)
    write_result("generation", result, args.out, args.quick)


if __name__ == "__main__":
    main()
