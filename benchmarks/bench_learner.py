"""DPO training tokens/s: spo's DeepSpeed learner against TRL's DPOTrainer, same model, data and batch.

Both do the same work per pair: a reference forward and a policy forward and backward over the chosen
and the rejected sequence. Model FLOP utilisation counts 8 x (matmul parameters) FLOPs per token
(2 for the reference forward, 6 for the policy's forward and backward) against this machine's fp32
matmul peak, measured in the same run. The learners run in turn, three rounds, and each keeps its best
round. ``_shared`` rows run spo with ``learner.share_prompt`` (one row per pair, the prompt's tokens once):
tokens/s still counts the two-row tokens, the work TRL does for the same pairs, and their MFU counts the
tokens they compute. A cProfile of one in-process spo learner rank shows where its time goes.
"""

from __future__ import annotations

import random
import tempfile
import time

import pyarrow as pa
import ray
import torch

from benchmarks.common import SMOLLM2, cache_dir, parse_args, peak_matmul_flops, profile_top, start_ray, write_result
from spo.assets.tiny import TinySpec, ensure_tiny_policy
from spo.chat import chat_prompt, load_tokenizer, row_conversation
from spo.learner.config import LearnerConfig
from spo.learner.group import LearnerGroup
from spo.learner.logprobs import tokenize
from spo.learner.shared_prompt import PAD, pack_pairs
from spo.tasks import ifeval_lite, sort_digits
from spo.tasks.ifeval_perturb import satisfy_all

THREADS = 2
GROUPS = {"spo_1rank": (1, False), "spo_2ranks": (2, False), "spo_1rank_shared": (1, True),
          "spo_2ranks_shared": (2, True)}  # name: (ranks, share_prompt)  # fmt: skip
# On SmolLM2 all four groups (6 ranks, about 3-4 GB each, beside TRL in the driver) exceed 24 GiB: Ray's
# memory monitor killed a rank. Four ranks fit: one rank with and without share_prompt, two ranks with it.
SMOLLM2_GROUPS = ("spo_1rank", "spo_1rank_shared", "spo_2ranks_shared")
SMOLLM2_SKIPPED = "six SmolLM2 ranks beside TRL exceed 24 GiB"  # why the other groups are not run (in the JSON)


def make_pairs(n: int, seed: int = 0) -> pa.Table:
    rng = random.Random(seed)
    rows = sort_digits.generate_prompts(n, seed=seed + 5, min_len=6, max_len=10)
    out = []
    for r in rows:
        good = sort_digits.solution(r["prompt"])
        digits = good.split()
        rng.shuffle(digits)
        out.append({"prompt_id": r["prompt_id"], "prompt": r["prompt"], "chosen": good, "rejected": " ".join(digits)})
    return pa.Table.from_pylist(out)


ANSWER = ("The quiet sea rests under a pale moon tonight, and the small boats sleep along the harbour wall "
          "while the lighthouse turns its slow white beam across the water")  # fmt: skip


def make_ifeval_pairs(n: int, seed: int = 0) -> pa.Table:
    """SmolLM2-sized pairs: ifeval_lite prompts, an answer edited towards the constraints against the plain one."""
    rng = random.Random(seed)
    out = []
    for r in ifeval_lite.generate_prompts(n, seed=seed + 5):
        words = ANSWER.split()[: rng.randint(12, 28)]
        plain = " ".join(words)
        out.append({"prompt_id": r["prompt_id"], "prompt": r["prompt"], "rejected": plain,
                    "chosen": satisfy_all(r["prompt"], plain, rng)})  # fmt: skip
    return pa.Table.from_pylist(out)


def token_counts(tokenizer, rows: list[dict], share_prompt: bool = False) -> tuple[int, int]:
    """Real and computed (padded) token positions of pair ``rows`` as one batch, as the learner lays them out:
    two rows each (prompt + chosen, prompt + rejected), or one shared row."""
    prompts = [row_conversation(r) for r in rows]
    chosen, rejected = [r["chosen"] for r in rows], [r["rejected"] for r in rows]
    if share_prompt:
        segment = pack_pairs(tokenizer, prompts, chosen, rejected).segment
        return int((segment != PAD).sum()), segment.numel()
    mask = tokenize(tokenizer, prompts + prompts, chosen + rejected).attention_mask
    return int(mask.sum()), mask.numel()


def count_tokens(tokenizer, pairs: pa.Table, share_prompt: bool = False) -> int:
    """Tokens of the pairs as two rows each (prompt + chosen, prompt + rejected), or as one shared row."""
    return token_counts(tokenizer, pairs.to_pylist(), share_prompt)[0]


def matmul_params(model_path: str) -> int:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_path)
    embed = model.get_input_embeddings().weight.numel()
    tied = model.get_output_embeddings().weight is model.get_input_embeddings().weight
    return sum(p.numel() for p in model.parameters()) - embed + (embed if tied else 0)  # lm_head is a matmul


def learner_cfg(micro_batch: int, ranks: int = 2, share_prompt: bool = False) -> LearnerConfig:
    return LearnerConfig(epochs=1, micro_batch_size=micro_batch, lr=1e-4, zero_stage=2, reference="initial",
                         num_ranks=ranks, share_prompt=share_prompt)  # fmt: skip


def spo_group(model_path: str, pairs_ref, ranks: int, micro_batch: int, share_prompt: bool) -> LearnerGroup:
    """A learner group that has trained once (warm); groups wait in turn, so their logical CPUs are small."""
    cfg = learner_cfg(micro_batch, ranks, share_prompt)
    group = LearnerGroup(cfg, model_path, 0.25, THREADS // ranks, seed=0)
    group.train(pairs_ref, 0)
    return group


def spo_tokens_per_s(group: LearnerGroup, pairs_ref, tokens: int, iteration: int) -> float:
    start = time.perf_counter()
    group.train(pairs_ref, iteration)
    return tokens / (time.perf_counter() - start)


def trl_tokens_per_s(model_path: str, pairs: pa.Table, tokens: int, micro_batch: int, defaults: bool = False) -> float:
    """TRL DPOTrainer on the same pairs (prompts given with the same chat template); steps after the first.

    Like spo on CPU, fp32 without activation checkpointing; ``defaults`` keeps TRL's own defaults
    instead (bf16 autocast and gradient checkpointing), for reference.
    """
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, TrainerCallback
    from trl import DPOConfig, DPOTrainer

    tok = load_tokenizer(model_path)
    tok.padding_side = "right"
    rows = pairs.to_pylist()
    data = Dataset.from_list(
        [{"prompt": chat_prompt(tok, r["prompt"]), "chosen": r["chosen"], "rejected": r["rejected"]} for r in rows]
    )
    stamps: list[float] = []

    class Stamp(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            stamps.append(time.perf_counter())

    steps = len(rows) // micro_batch
    with tempfile.TemporaryDirectory() as out:
        args = DPOConfig(output_dir=out, max_steps=steps, per_device_train_batch_size=micro_batch, learning_rate=1e-4,
                         beta=0.1, report_to=[], use_cpu=True, save_strategy="no", logging_steps=10**6,
                         dataloader_num_workers=0, max_grad_norm=1.0, seed=0,
                         **({} if defaults else {"bf16": False, "gradient_checkpointing": False}))  # fmt: skip
        model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
        trainer = DPOTrainer(model=model, args=args, train_dataset=data, processing_class=tok, callbacks=[Stamp()])
        trainer.train()
    per_step = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    return tokens / (per_step * steps)


def profile_spo_rank(model_path: str, pairs: pa.Table, micro_batch: int) -> str:
    """The top of a cProfile of one in-process spo learner rank (world size 1) training on ``pairs``."""
    from spo.learner.worker import LearnerWorker

    worker = LearnerWorker(0, 1, THREADS)
    host, port = worker.address()
    worker.setup(host, port, model_path, learner_cfg(micro_batch), 0)
    worker.train(pairs, 0)
    return profile_top(lambda: worker.train(pairs, 1))


def interleaved_rates(model_path: str, pairs: pa.Table, tokens: int, micro_batch: int, repeats: int,
                      with_trl_defaults: bool, names: tuple[str, ...]) -> dict[str, list[float]]:  # fmt: skip
    """Tokens/s of every spo group and of TRL, round by round (this machine's speed drifts by 10-30% between
    minutes, so the learners take turns). TRL's defaults (bf16 autocast) take minutes per round on SmolLM2."""
    start_ray(THREADS)
    rates: dict[str, list[float]] = {**{name: [] for name in names}, "trl": [], "trl_defaults": []}
    try:
        ref = ray.put(pairs)
        groups = {name: spo_group(model_path, ref, GROUPS[name][0], micro_batch, GROUPS[name][1]) for name in names}
        for rep in range(repeats):
            for name, group in groups.items():
                rates[name].append(spo_tokens_per_s(group, ref, tokens, rep + 1))
            rates["trl"].append(trl_tokens_per_s(model_path, pairs, tokens, micro_batch))
            if with_trl_defaults:
                rates["trl_defaults"].append(trl_tokens_per_s(model_path, pairs, tokens, micro_batch, defaults=True))
        for group in groups.values():
            group.shutdown()
    finally:
        ray.shutdown()
    return rates


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], model=("tiny", "tiny or smollm2 (prepared by make demo)"))
    torch.set_num_threads(THREADS)
    if args.model == "smollm2":
        n_pairs, micro_batch, repeats = 32, 4, 2
        model_path, pairs, spec = str(SMOLLM2), make_ifeval_pairs(32), None
    else:
        n_pairs, micro_batch, repeats = (16, 4, 1) if args.quick else (256, 8, 3)
        spec = TinySpec(hidden_size=128 if args.quick else 256, num_layers=2 if args.quick else 4, sft_steps=10)
        model_path, pairs = str(ensure_tiny_policy(cache_dir(), spec)), make_pairs(n_pairs)
    tokenizer = load_tokenizer(model_path)
    tokens, shared_tokens = count_tokens(tokenizer, pairs), count_tokens(tokenizer, pairs, share_prompt=True)
    peak = peak_matmul_flops(512 if args.quick else 1024)
    flops_per_token = 8 * matmul_params(model_path)

    tiny = args.model == "tiny"
    names = tuple(GROUPS) if tiny else SMOLLM2_GROUPS
    rates = interleaved_rates(model_path, pairs, tokens, micro_batch, repeats, with_trl_defaults=tiny, names=names)
    best = {k: max(v, default=None) for k, v in rates.items()}
    trl = best["trl"]
    measured = [name for name in GROUPS if best.get(name)]
    computed = {name: shared_tokens / tokens if GROUPS[name][1] else 1.0 for name in measured}
    profile = profile_spo_rank(model_path, pairs, micro_batch)
    result = {
        "model": {
            "name": args.model,
            "flops_per_token": flops_per_token,
            **({"hidden_size": spec.hidden_size, "layers": spec.num_layers} if spec else {}),
        },  # fmt: skip
        "pairs": n_pairs,
        "micro_batch": micro_batch,
        "tokens_per_pass": tokens,
        "shared_tokens_per_pass": shared_tokens,
        "peak_matmul_flops": peak,
        "repeats": repeats,
        "tokens_per_s_all": rates,
        "tokens_per_s": best,
        "ratio_vs_trl": {name: best[name] / trl for name in measured},
        "mfu": {
            **{name: best[name] * computed[name] * flops_per_token / peak for name in measured},
            "trl": trl * flops_per_token / peak,
        },  # fmt: skip
        "profile_spo_rank": profile,
        "not_run": {name: SMOLLM2_SKIPPED for name in GROUPS if name not in names},
    }
    print("tokens/s: " + ", ".join(f"{k} {v:.0f}" for k, v in best.items() if v) + "; vs TRL: "
          + ", ".join(f"{k} {v:.2f}x" for k, v in result["ratio_vs_trl"].items()))  # fmt: skip
    print(profile)
    write_result("learner" if args.model == "tiny" else f"learner_{args.model}", result, args.out, args.quick)


if __name__ == "__main__":
    main()
