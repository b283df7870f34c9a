"""Warm-up per policy size for the gold capacity study (issue 19): the initial gold reward of tiny policies of
several widths after several SFT step counts, so that each size can start from a comparable initial gold.

Each cell is a 1-iteration run of the proxy setting (``experiment=tiny reward=sort_proxy``, 16 prompts: the
training is negligible); its initial held-out evaluation, the same 128 held-out prompts x 2 samples every study
run starts from, gives ``heldout_reward/gold`` before any update. It then prints, per width, the step count
whose initial gold is closest to ``--target`` (default 0.551, the default policy's on the Intel draw; it is
0.504 on the AMD EPYC draw, so pass the value of the machine at hand).

    python -m benchmarks.capacity_warmup --widths 64,128,256 --steps 50,150,400 --lrs 3e-3,1e-3

``--lrs`` are SFT learning rates (``model.tiny_sft_lr``; the tiny policy's default is 3e-3): a wider policy may
need a smaller one to warm up as far as a narrow one.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from benchmarks.common import cache_dir, compose_config, parse_args, write_result
from spo.io import read_jsonl
from spo.runner import SelfPlayRunner


def initial_gold(run_dir: Path, width: int, steps: int, lr: float) -> float:
    """The gold held-out reward of the tiny policy of ``width`` after ``steps`` SFT steps at ``lr``, untrained."""
    cfg = compose_config("experiment=tiny", "reward=sort_proxy", "iterations=1", "prompts_per_iteration=16",
                         f"model.tiny_hidden_size={width}", f"model.tiny_sft_steps={steps}",
                         f"model.tiny_sft_lr={lr}", "tracking.backends=[]",
                         f"run_dir={run_dir}", f"cache_dir={cache_dir()}")  # fmt: skip
    SelfPlayRunner(cfg).run()
    first = next(x for x in read_jsonl(run_dir / "metrics.jsonl") if x["stage"] == "eval")
    return float(first["heldout_reward/gold"])


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], widths=("64,128,256", "hidden sizes"),
                      steps=("50,150,400", "SFT step counts"), lrs=("3e-3", "SFT learning rates"),
                      target=("0.551", "initial gold to match"))  # fmt: skip
    widths, steps = [int(w) for w in args.widths.split(",")], [int(s) for s in args.steps.split(",")]
    cells = []
    with tempfile.TemporaryDirectory() as tmp:
        for width, n, lr in itertools.product(widths, steps, [float(x) for x in args.lrs.split(",")]):
            gold = initial_gold(Path(tmp) / f"h{width}-s{n}-lr{lr}", width, n, lr)
            cells.append({"width": width, "sft_steps": n, "sft_lr": lr, "initial_gold": gold})
            print(f"width {width}, {n} SFT steps at lr {lr:g}: initial gold {gold:.3f}", flush=True)
    target = float(args.target)
    pick = {
        w: min((c for c in cells if c["width"] == w), key=lambda c: abs(c["initial_gold"] - target)) for w in widths
    }
    for w, c in pick.items():
        print(f"width {w}: {c['sft_steps']} SFT steps at lr {c['sft_lr']:g} (initial gold {c['initial_gold']:.3f}, "
              f"target {target})")  # fmt: skip
    write_result("capacity_warmup", {"target": target, "cells": cells, "pick": pick}, args.out, args.quick)


if __name__ == "__main__":
    main()
