"""Rollout engines side by side: plain ``generate``, its static-cache and continuous-batching paths,
and spo's ``hf_shared`` loop, on the tiny policy and SmolLM2-135M, N = 4 and 8.

Every path samples with the same settings (the demo's: temperature 0.8, top-p 0.95 on SmolLM2) and
counts its own new tokens, up to and including EOS; paths run interleaved and each keeps its best
of the repeats. A greedy check compares ``hf_shared`` with ``generate`` token for token.
"""

from __future__ import annotations

import time

import torch
from transformers import AutoModelForCausalLM, GenerationConfig

from benchmarks.common import SMOLLM2, cache_dir, parse_args, write_result
from spo.assets.tiny import TinySpec, ensure_tiny_policy
from spo.chat import chat_prompt, load_tokenizer
from spo.rollout.base import SamplingParams
from spo.rollout.hf_shared_engine import HFSharedEngine
from spo.tasks import ifeval_lite, sort_digits

THREADS = 2


def _new_tokens(new: torch.Tensor, eos: int) -> int:
    """Tokens up to and including the first EOS of each row."""
    is_eos = new == eos
    first = torch.where(is_eos.any(1), is_eos.float().argmax(1) + 1, torch.full((new.shape[0],), new.shape[1]))
    return int(first.sum())


def hf_generate(model, tok, prompts, sampling, batch: int, **extra) -> int:
    """``model.generate`` over batches of prompts, n return sequences each; new tokens."""
    tokens = 0
    torch.manual_seed(sampling.seed)
    for i in range(0, len(prompts), batch):
        enc = tok([chat_prompt(tok, p) for p in prompts[i : i + batch]], return_tensors="pt", padding=True,
                  add_special_tokens=False)  # fmt: skip
        out = model.generate(**enc, do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=0,
                             max_new_tokens=sampling.max_new_tokens, num_return_sequences=sampling.n,
                             pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, **extra)  # fmt: skip
        tokens += _new_tokens(out[:, enc["input_ids"].shape[1] :], tok.eos_token_id)
    return tokens


def continuous_batching(model, tok, prompts, sampling, batch: int) -> int:
    """transformers' continuous batching (``generate_batch``, paged attention), one request per sample."""
    ids = [tok(chat_prompt(tok, p), add_special_tokens=False).input_ids for p in prompts for _ in range(sampling.n)]
    config = GenerationConfig(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=0,
                              max_new_tokens=sampling.max_new_tokens, eos_token_id=tok.eos_token_id,
                              pad_token_id=tok.pad_token_id)  # fmt: skip
    torch.manual_seed(sampling.seed)
    out = model.generate_batch(inputs=ids, generation_config=config)
    return sum(len(o.generated_tokens) for o in out.values())


def shared(engine, prompts, sampling, batch: int) -> int:
    groups = engine.generate(prompts, sampling)
    return sum(c.n_tokens for g in groups for c in g)


def run_case(name: str, path: str, prompts: list[str], sampling: SamplingParams, repeats: int,
             skip: dict[str, str] | None = None) -> dict:  # fmt: skip
    """tokens/s per path, best of ``repeats`` interleaved rounds, and each path's ratio to plain generate.

    ``skip``: paths not run, with the reason (recorded as their error).
    """
    tok = load_tokenizer(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    engine = HFSharedEngine(path, batch_size=16)
    paths = {
        "generate": lambda: hf_generate(model, tok, prompts, sampling, 16),
        "generate_static_cache": lambda: hf_generate(model, tok, prompts, sampling, 16, cache_implementation="static"),
        "continuous_batching": lambda: continuous_batching(model, tok, prompts, sampling, 16),
        "hf_shared": lambda: shared(engine, prompts, sampling, 16),
    }
    best: dict[str, float] = {}
    errors: dict[str, str] = dict(skip or {})
    for _ in range(repeats):
        for key, fn in paths.items():
            if key in errors:
                continue
            try:
                start = time.perf_counter()
                with torch.no_grad():
                    tokens = fn()
                best[key] = max(best.get(key, 0.0), tokens / (time.perf_counter() - start))
            except Exception as exc:  # a library path that does not run here is a result too
                errors[key] = f"{type(exc).__name__}: {str(exc)[:200]}"
    base = best["generate"]
    result = {"model": name, "n": sampling.n, "prompts": len(prompts), "tokens_per_s": best,
              "ratio_vs_generate": {k: v / base for k, v in best.items()}, "errors": errors}  # fmt: skip
    for key in paths:
        shown = f"{best[key]:.0f} tok/s ({best[key] / base:.2f}x)" if key in best else f"failed: {errors[key]}"
        print(f"{name} N={sampling.n} {key}: {shown}")
    return result


def greedy_matches(path: str, prompts: list[str], max_new_tokens: int) -> float:
    """Fraction of prompts whose hf_shared greedy answer equals ``generate``'s, token for token."""
    tok = load_tokenizer(path)
    engine = HFSharedEngine(path, batch_size=16)
    greedy = SamplingParams(n=1, temperature=0.0, max_new_tokens=max_new_tokens)
    mine = [g[0].text for g in engine.generate(prompts, greedy)]
    same = 0
    for p, text in zip(prompts, mine):
        enc = tok(chat_prompt(tok, p), return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            out = engine.model.generate(**enc, do_sample=False, max_new_tokens=max_new_tokens,
                                        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)  # fmt: skip
        same += tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True) == text
    return same / len(prompts)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    torch.set_num_threads(THREADS)
    tiny = str(ensure_tiny_policy(cache_dir(), TinySpec()))
    tiny_prompts = [r["prompt"] for r in sort_digits.generate_prompts(64, seed=3, min_len=4, max_len=8)]
    cases = [("tiny", tiny, tiny_prompts[: 16 if args.quick else 64], 24)]
    if SMOLLM2.exists() and not args.quick:
        smol_prompts = [r["prompt"] for r in ifeval_lite.generate_prompts(16, seed=5)]
        cases.append(("smollm2", str(SMOLLM2), smol_prompts, 40))
    results, greedy, skip = [], {}, {}
    for name, path, prompts, max_new in cases:
        for n in (4, 8):
            sampling = SamplingParams(n=n, temperature=0.8, top_p=0.95, max_new_tokens=max_new, seed=11)
            results.append(run_case(name, path, prompts, sampling, 1 if args.quick else 2, skip))
        slow = [c["ratio_vs_generate"].get("continuous_batching", 0.0) for c in results]
        if max(slow) < 0.5:  # at a tenth of generate's speed it would take most of an hour on SmolLM2
            skip = {"continuous_batching": f"skipped: {max(slow):.2f}x of generate at best on the tiny model"}
        greedy[name] = greedy_matches(path, prompts[:8], max_new)
        print(f"{name}: hf_shared greedy equals generate on {greedy[name]:.0%} of prompts")
    write_result("engines", {"cases": results, "greedy_match": greedy}, args.out, args.quick)


if __name__ == "__main__":
    main()
