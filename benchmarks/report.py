"""Collect ``benchmarks/results/*.json`` into the human-readable ``benchmarks/results/README.md``.

``findings.md`` beside them (hand-written: what the profiles showed, what was fixed) is appended.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.common import RESULTS, family
from spo.io import atomic_file

# the sections in the README's order (a result not named here is not rendered)
ORDER = tuple(
    """
    learner learner_smollm2 dpo_step engines generation pipeline overlap overlap_smollm2 overlap_smollm2_it6
    overlap_smollm2_from_seed2_it6 overlap_smollm2_it6_pinned overlap_smollm2_it3_bgsave overlap_smollm2_it6_sp
    overlap_smollm2_it6_prefix overlap_smollm2_from_seed1_it6_prefix overlap_smollm2_from_seed3_it6_prefix
    overlap_smollm2_it6_prefix_seeds0-5 pinning pinning_smollm2 predicted predicted_tiny_revisit
    predicted_tiny_exact predicted_tiny_exact_wave predicted_tiny_exact_revisit predicted_tiny_exact_revisit_from3
    predicted_tiny_exact_revisit_pass predicted_tiny_exact_revisit_pass_d1_from3 predicted_smollm2
    predicted_smollm2_words_prior predicted_smollm2_words_prior_pool5 predicted_tiny_first2 predicted_smollm2_first2
    predicted_smollm2_words_prior_first2 predicted_tiny_exact_revisit_first2
    predicted_tiny_exact_revisit_first2_from3 predicted_smollm2_words_prior_first2_from3
    predicted_smollm2_words_prior_first2_evalpin predicted_smollm2_words_prior_first2_evalpin_from3
    predicted_smollm2_words_prior_first2_evalpin_from6 predicted_smollm2_words_prior_first2_evalpin_seeds0-8
    predicted_smollm2_words_prior_first2_evalpin_from9
    predicted_smollm2_words_prior_evalpin predicted_smollm2_words_prior_evalpin_from3
    predicted_smollm2_first2_random_evalpin predicted_stale buffer sync
    """.split()
)


def _load(results: Path) -> dict[str, dict]:
    return {
        name: json.loads((results / f"{name}.json").read_text())
        for name in ORDER
        if (results / f"{name}.json").exists()
    }


def _learner(r: dict) -> list[str]:
    t, m = r["tokens_per_s"], r["mfu"]
    return [
        "## Learner: DPO tokens/s against TRL's DPOTrainer",
        f"Tiny Llama (hidden {r['model']['hidden_size']}, {r['model']['layers']} layers), {r['pairs']} pairs, "
        f"micro-batch {r['micro_batch']}, fp32, reference model = initial policy; best of {r['repeats']} "
        f"interleaved rounds each. Peak fp32 matmul measured in the same run: "
        f"{r['peak_matmul_flops'] / 1e9:.1f} GFLOP/s.{_notes(r)}",
        "",
        "| learner | tokens/s | vs TRL | MFU |",
        "|---|---|---|---|",
        f"| TRL DPOTrainer, fp32 (1 process, 2 threads) | {t['trl']:.0f} | 1.00x | {m['trl']:.1%} |",
        *_spo_rows(r),
        f"| (TRL with its defaults: bf16 autocast, gradient checkpointing) | {t['trl_defaults']:.0f} | {t['trl_defaults'] / t['trl']:.2f}x | - |",
        "",
        "Top of the profile of one spo rank (cProfile, by own time):",
        "```",
        r["profile_spo_rank"],
        "```",
    ]


_SHARED_NOTE = (" share_prompt rows: tokens/s counts the pairs' tokens as two rows each, the work TRL does for "
                "them; MFU counts the tokens they compute (the prompt once per pair).")  # fmt: skip
SPO_ROWS = {
    "spo_1rank": "spo, 1 DeepSpeed rank (2 threads)",
    "spo_2ranks": "spo, 2 ZeRO-2 ranks (1 thread each, gloo)",
    "spo_1rank_shared": "spo, 1 rank, share_prompt",
    "spo_2ranks_shared": "spo, 2 ZeRO-2 ranks, share_prompt",
}


def _spo_rows(r: dict) -> list[str]:
    """One row per spo learner the run measured (results from before share_prompt have two)."""
    t, m, q = r["tokens_per_s"], r["mfu"], r["ratio_vs_trl"]
    return [f"| {label} | {t[k]:.0f} | {q[k]:.2f}x | {m[k]:.1%} |" for k, label in SPO_ROWS.items() if t.get(k)]


def _notes(r: dict) -> str:
    """The share_prompt note where such rows were measured, and the groups the run skipped with its reasons."""
    shared = any(k.endswith("_shared") and r["tokens_per_s"].get(k) for k in SPO_ROWS)
    reasons: dict[str, list[str]] = {}
    for name, why in r.get("not_run", {}).items():
        reasons.setdefault(why, []).append(name)
    gone = "".join(f" Not run: {', '.join(names)} ({why})." for why, names in reasons.items())
    return (_SHARED_NOTE if shared else "") + gone


def _learner_smollm2(r: dict) -> list[str]:
    t, m = r["tokens_per_s"], r["mfu"]
    return [
        "## Learner on SmolLM2-135M: DPO tokens/s against TRL's DPOTrainer",
        f"{r['pairs']} ifeval_lite pairs, micro-batch {r['micro_batch']}, fp32, reference = initial policy; "
        f"best of {r['repeats']} interleaved rounds.{_notes(r)}",
        "",
        "| learner | tokens/s | vs TRL | MFU |",
        "|---|---|---|---|",
        f"| TRL DPOTrainer, fp32 (1 process, 2 threads) | {t['trl']:.0f} | 1.00x | {m['trl']:.1%} |",
        *_spo_rows(r),
    ]  # fmt: skip


def _dpo_step(r: dict) -> list[str]:
    order = r["layout_order"]  # the JSON's keys are written sorted
    rows, first = [], r["layouts"][order[0]]
    for name in order:
        x = r["layouts"][name]
        f, per = x["fraction_of_wall"], x["per_pair_epoch_s"]
        comm = f"{x['allreduce_s']:.2f}" if x["allreduce_s"] else "-"
        rows.append(f"| {name.replace('_', ' ')} | {x['ranks']} ({x['zero_stage']}) "
                    f"| {x['wall_s']:.1f} | {first['wall_s'] / x['wall_s']:.2f}x | {x['steps']} | {per['wall_s']:.2f} | "
                    + " | ".join(f"{f[p]:.0%}" for p in ("reference", "forward", "backward", "step"))
                    + f" | {x['padding_fraction']:.0%} | {comm} |")  # fmt: skip
    return [
        "## Where a DPO training call goes",
        f"Model {r['model']}, {r['pairs']} pairs ({r['pairs_source']}); ranks of 1 thread each, or one rank of 2 "
        f"threads; micro-batch {r['micro_batch']} per rank, {r['epochs']} epochs; layouts one after the other, each "
        "its fastest timed call. Phases from the learner's own clock, averaged over ranks; padding over "
        "micro-batches formed at random; the last column is one all-reduce of a gradient-sized tensor.",
        "",
        "| layout | ranks (ZeRO stage) | call (s) | speed-up | steps | per pair-epoch (s) | reference | forward "
        "| backward | step | padding | one gradient all-reduce (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]  # fmt: skip


def _engines(r: dict) -> list[str]:
    rows = []
    for c in r["cases"]:
        for path in ("generate", "generate_static_cache", "continuous_batching", "hf_shared"):
            if path in c["tokens_per_s"]:
                cell = f"{c['tokens_per_s'][path]:.0f} | {c['ratio_vs_generate'][path]:.2f}x"
            else:
                error = c["errors"][path]
                cell = f"{'not run' if error.startswith('skipped') else 'failed'} | {error[:90]}"
            rows.append(f"| {c['model']} | {c['n']} | {path} | {cell} |")
    greedy = ", ".join(f"{k} {v:.0%}" for k, v in r["greedy_match"].items())
    return [
        "## Rollout engines: samples per prompt sharing one prefill",
        "Temperature 0.8, top-p 0.95; tokens counted up to and including EOS; best of the interleaved rounds.",
        "",
        "| model | N | path | tokens/s | vs generate |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"`hf_shared` greedy output equal to `generate`'s, token for token: {greedy} of prompts.",
    ]


def _generation(r: dict) -> list[str]:
    t = r["tokens_per_s"]
    return [
        "## Generation: the HF engine actor against plain `model.generate`",
        f"{r['prompts']} prompts x {r['samples_per_prompt']} samples, batch {r['batch']}, same seeds "
        f"({r['new_tokens']} new tokens).",
        "",
        "| path | tokens/s | ratio |",
        "|---|---|---|",
        f"| plain `model.generate`, in process | {t['plain_generate']:.0f} | 1.00x |",
        f"| spo HF engine, in process (log-probs kept) | {t['engine_in_process']:.0f} | {r['ratio_engine_vs_plain']:.3f}x |",
        f"| spo HF engine in a Ray actor (Arrow table out) | {t['engine_actor']:.0f} | {r['ratio_actor_vs_plain']:.3f}x |",
        "",
        "Top of the profile of the engine (cProfile, by own time):",
        "```",
        r["profile_engine"],
        "```",
    ]


def _pipeline(r: dict) -> list[str]:
    o, g = r["overlap"], r["generators"]
    return [
        "## Pipeline overlap and generator actors",
        f"Tiny experiment, {r['prompts']} prompts x 4 samples, scored by the rule reward and a tiny RM.",
        "",
        "| rollout | seconds |",
        "|---|---|",
        f"| serial: generate all | {o['serial']['generate_s']:.2f} |",
        f"| serial: then score all | {o['serial']['score_s']:.2f} |",
        f"| serial: then buffer all | {o['serial']['buffer_s']:.2f} |",
        f"| serial: sum | {o['serial']['sum_s']:.2f} |",
        f"| streamed (spo) | {o['streamed_s']:.2f} ({o['streamed_vs_serial']:.2f}x of serial) |",
        "",
        f"Share of scoring and buffering hidden under generation: {o['hidden_fraction']:.0%}.",
        "",
        "| generator actors | iteration s | rollout s | train s | eval s |",
        "|---|---|---|---|---|",
        *[f"| {k.split('_')[0]} | {v['iteration_s']:.1f} | {v['rollout_s']:.1f} | {v['train_s']:.1f} | {v['eval_s']:.1f} |"
          for k, v in g.items()],
        "",
        f"2 actors against 1: {r['two_vs_one_actor_speedup']:.2f}x.",
    ]  # fmt: skip


def _buffer(r: dict) -> list[str]:
    rows = [f"| {x['samples']:,} | {x['ingest_s']:.2f} | {x['select_s']:.2f} | {x['us_per_sample']:.1f} | {x['peak_rss_mb']:.0f} |"
            for x in r["sizes"]]  # fmt: skip
    return [
        "## Replay buffer scale",
        "Ingest in 10k-sample chunks, then difficulty, drop-hardest-30% selection and pair building.",
        "",
        "| samples | ingest s | select + pairs s | us/sample | peak RSS MB |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Cost per sample, largest against smallest: {r['per_sample_cost_growth']:.2f}x (1.0 is linear).",
    ]


def _sync(r: dict) -> list[str]:
    a, b = r["transports"]
    rows = [f"| {x['hidden_size']}x{x['layers']} | {x['bytes'] / 1e6:.1f} | {x[f'{a}_s'] * 1e3:.1f} | {x[f'{a}_vs_memcpy']:.3f}x | "
            f"{x[f'{b}_s'] * 1e3:.1f} | {x[f'{b}_vs_memcpy']:.3f}x | {x['memcpy_bytes_per_s'] / 1e9:.2f} |"
            for x in r["sizes"]]  # fmt: skip
    return [
        f"## Weight sync ({a} and {b}) against memcpy",
        "One generator; each push ends with its acknowledgement. The ratio is memcpy time / push time.",
        "",
        f"| model | MB | {a} ms | {a} vs memcpy | {b} ms | {b} vs memcpy | memcpy GB/s |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]


def _ci(d: dict | None, fmt: str = "{:.2f}") -> str:
    if not d:
        return "-"
    ci = d.get("ci")
    return fmt.format(d["mean"]) + (f" ({fmt.format(ci[0])} to {fmt.format(ci[1])})" if ci else "")


def _overlap(r: dict) -> list[str]:
    rows = []
    for mode, c in r["vs_sync"].items():
        rows.append(f"| {mode} | {_ci(c['time_to_target_speedup'])}x | {c['target_missed']} | "
                    f"{_ci(c['per_iteration_speedup'])}x | {_ci(c['final_reward_diff'], '{:+.3f}')} |")  # fmt: skip
    sim = r["simulated"]
    shares = ", ".join(f"{k}: {v:.2f}x" for k, v in sim["by_generation_share"].items())
    return [
        f"## Pipeline modes against split `sync` ({r.get('model', 'tiny')}, seeds {r['seeds']})",
        "Ratios paired by seed, mean and 95% t-interval over seeds; see `benchmarks/results/pipeline.md`.",
        "",
        "| mode | time to target reward | seeds missing the target | time per iteration | final reward difference |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Overlap model from the split sync stage times: {sim['measured_ratio']:.2f}x here; by generation share "
        f"of a step: {shares}.",
    ]


def _pinning(r: dict) -> list[str]:
    b = r["speed_beside_vs_alone"]
    return [
        f"## Two roles on two cores, pinned or not ({r['model']}, 1 thread each)",
        f"Speed beside the other role relative to alone, mean of {r['rounds']} interleaved rounds of "
        f"{r['seconds']:.0f} s (`cluster.<role>_cores`: generator core 0, learner core 1).",
        "",
        "| | learner | generator |",
        "|---|---|---|",
        *(f"| {case} | {x['learner']:.2f}x | {x['generator']:.2f}x |" for case, x in b.items()),
    ]


def _predicted(r: dict) -> list[str]:
    c = r["compare"]
    d = c["heldout_diff_per_iteration"]
    rows = [f"| {s} | {v['budget']} | {v['posthoc']['tokens_per_pair']:.1f} | {v['predicted']['tokens_per_pair']:.1f} | "
            f"{v['posthoc']['heldout'][-1]:.3f} | {v['predicted']['heldout'][-1]:.3f} |" for s, v in r["runs"].items()]  # fmt: skip
    return [
        f"## Predicted difficulty against post-hoc selection, same pair budget ({r.get('model', 'tiny')}, "
        f"seeds {', '.join(map(str, r['seeds']))})",
        f"Tokens per trained pair, predicted / post-hoc: {c['tokens_per_pair_ratio']['mean']:.2f}; held-out reward "
        f"difference per iteration {d['mean']:+.3f} (CI {d['ci'][0]:+.3f} to {d['ci'][1]:+.3f}, bootstrap over seeds).",
        *_control(r.get("compare_control")),
        "",
        "| seed | budget | tokens/pair post-hoc | tokens/pair predicted | final post-hoc | final predicted |",
        "|---|---|---|---|---|---|",
        *rows,
    ]


def _control(c: dict | None) -> list[str]:
    """With a second post-hoc run per seed (``--control yes``): the arm against both runs pooled, and the two runs."""
    if not c:
        return []
    both, twin = c["predicted_vs_both"], c["control_vs_posthoc"]
    return [f"Against both post-hoc runs pooled (t-interval over seeds): tokens per trained pair "
            f"{_ci(both['tokens_per_pair_ratio'], '{:.3f}')}x, held-out reward per seed "
            f"{_ci(both['heldout_diff_per_seed'], '{:+.3f}')}. Second post-hoc run against the first: "
            f"{twin['tokens_per_pair_ratio']['mean']:.2f}x tokens per pair, held-out per iteration "
            f"{_ci(twin['heldout_diff_per_iteration'], '{:+.3f}')}."]  # fmt: skip


def _stale(r: dict) -> list[str]:
    labels = [f"history@{d}" for d in r["discounts"]] + ["learned", "both"]
    rows = []
    for arm, row in r["summary"].items():
        cells = [f"{_f(row[x]['spearman'])} / {_f(row[x]['auc'])}" for x in labels]
        rows.append(
            f"| {arm} ({r['arms'][arm]}) | {_f(row['abs_change'])} | {_f(row['noise_floor'])} | "
            + " | ".join(cells)
            + " |"
        )
    return [
        "## Stale history: predictors under a steady and a fast-moving policy",
        f"Seeds {r['seeds']}, iterations >= 2; difficulty Spearman / usable-pair AUC, offline (`spo analyze predict`).",
        "",
        "| arm | mean abs difficulty change since last visit | resampling alone | " + " | ".join(labels) + " |",
        "|---|---|---|" + "---|" * len(labels),
        *rows,
        "",
        "Resampling alone: the |change| expected if no prompt's difficulty had moved, from each visit's sample "
        "variance over its count.",
    ]


def _f(x) -> str:
    return "-" if x is None else f"{x:.3f}"


# each result by its renderer: every overlap_*, pinning_* and predicted_* result by its family's (predicted_stale,
# listed after them, has its own)
FAMILIES = {"overlap": _overlap, "pinning": _pinning, "predicted": _predicted}
SECTIONS = {
    "learner": _learner,
    "learner_smollm2": _learner_smollm2,
    "dpo_step": _dpo_step,
    "engines": _engines,
    "generation": _generation,
    "pipeline": _pipeline,
    "buffer": _buffer,
    "sync": _sync,
    **{name: FAMILIES[family(name)] for name in ORDER if family(name) in FAMILIES},
    "predicted_stale": _stale,
}


def _section(name: str, r: dict) -> list[str]:
    return [*SECTIONS[name](r), _produced(r)] if name in SECTIONS else []


def _produced(r: dict) -> str:
    """Which commit, command, date and machine produced a result; older results did not record it."""
    p = r.get("produced_by")
    if p is None:
        return f"_Produced before results recorded their commit and command ({r['machine']['cpu']})._"
    parts = r.get("parts")
    pooled = (
        f" The parts were measured on {r['machine']['cpu']} at {', '.join(x['commit'] for x in parts)}."
        if parts
        else ""
    )
    return f"_Produced by `{p['command']}` at commit `{p['commit']}` on {p['date']}; {p['machine']}.{pooled}_"


def render(results: Path = RESULTS) -> str:
    found = _load(results)
    if not found:
        raise SystemExit(f"{results}: no benchmark results; run `make bench` first")
    m = next(iter(found.values()))["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), torch {m['torch']}, device {m['device']}. "
        "Every ratio was measured side by side in one run; absolute times on this shared machine are noisy.",
        "Regenerate with `make bench`.",
        "",
    ]
    for name, r in found.items():
        lines += [*_section(name, r), ""]
        if r.get("quick"):
            lines.insert(len(lines) - 1, "(quick mode: sizes too small for the numbers to mean anything)")
    if (results / "findings.md").exists():
        lines += [(results / "findings.md").read_text()]
    return "\n".join(lines)


def main() -> None:
    results = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS
    with atomic_file(results / "README.md", "w") as fh:
        fh.write(render(results))
    print(f"wrote {results / 'README.md'}")


if __name__ == "__main__":
    main()
