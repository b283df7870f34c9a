"""Stale history: how the difficulty predictors hold up when the policy moves fast between a prompt's visits.

Per seed, two runs of the predicted arm on recurring prompts (``tiny_revisit``'s setting: 256 training
prompts, so each recurs every other iteration or so): ``steady`` at the default learning rate and
``fast`` at ``FAST_LR`` (5x). For each run: how fast the policy moved (held-out reward per iteration,
and the mean absolute change of a recurring prompt's difficulty since its previous visit), then, offline
(``spo analyze predict``), the history predictor replayed at several ``difficulty.discount`` values, and
the learned and combined predictors at the run's own settings. Held-out rewards are not compared between
arms (the learning rates differ by design); the question is whether the predictors' quality falls with a
fast policy and whether discounting old observations recovers it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from benchmarks.bench_predicted import MODELS, run, summary
from benchmarks.common import cache_dir, parse_args, write_result
from spo.analysis.predict import evaluate
from spo.schemas import difficulty_col

ARMS = {"steady": "learner.lr=1e-4", "fast": "learner.lr=5e-4"}
DISCOUNTS = (1.0, 0.5, 0.1)
BUDGET = 80  # prompts with a usable pair per iteration: the post-hoc runs' mean in predicted_tiny_revisit.json


def drift(run_dir: Path) -> list[dict]:
    """Per iteration k >= 1, over the prompts seen before: the mean |difficulty change| since their last visit,
    and the change resampling alone would give a policy that did not move (``noise_floor``: the mean of
    sqrt(2/pi) * sqrt(var_now / n_now + var_then / n_then), the expected |difference| of two independent
    sample means, from each visit's own reward variance). Read from the per-prompt statistics the run stored
    in ``prompts.parquet`` (``spo.buffer.difficulty.prompt_stats``; the std there is the population one)."""
    scorer = yaml.safe_load((run_dir / "config.yaml").read_text())["reward"]["primary"]
    iters = sorted(int(p.name.split("_")[1]) for p in run_dir.glob("iter_*") if (p / "prompts.parquet").exists())
    cols = ["prompt_id", difficulty_col(scorer), f"reward_std/{scorer}", "n_samples"]
    last: dict[str, tuple[float, float]] = {}  # prompt -> (mean, variance of the mean)
    out = []
    for k in iters:
        t = pq.read_table(run_dir / f"iter_{k}" / "prompts.parquet", columns=cols)
        t = t.filter(pc.is_valid(t.column(cols[1])))  # predicted runs list candidates never generated
        ids, mean, std, n = (t.column(c).to_pylist() for c in cols)
        now = {i: (m, sd**2 / (c - 1)) for i, m, sd, c in zip(ids, mean, std, n)}  # sample variance / n
        seen = [i for i in now if i in last]
        if k > iters[0]:
            out.append({"iteration": k, "recurring": len(seen),
                        "abs_change": _mean(abs(now[i][0] - last[i][0]) for i in seen),
                        "noise_floor": _mean(np.sqrt(2 / np.pi * (now[i][1] + last[i][1])) for i in seen)})  # fmt: skip
        last.update(now)
    return out


def offline(run_dir: Path) -> list[dict]:
    rows = [{**r, "discount": d} for d in DISCOUNTS for r in evaluate(run_dir, "history", discount=d)]
    return rows + [{**r, "discount": None} for name in ("learned", "both") for r in evaluate(run_dir, name)]


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], seeds=("3", "seeds"), iterations=("6", "iterations per run"))
    seeds = [0] if args.quick else list(range(int(args.seeds)))
    its, budget = ("2", 16) if args.quick else (args.iterations, BUDGET)
    both, oversample = MODELS["tiny_revisit"].both, MODELS["tiny_revisit"].oversample
    out = {"seeds": seeds, "arms": ARMS, "discounts": list(DISCOUNTS), "budget": budget, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for arm, lr in ARMS.items():
                d = run(Path(tmp) / f"{arm}-{seed}", cache_dir(), *both, lr, f"seed={seed}", f"iterations={its}",
                        f"task.n_heldout={64 if args.quick else 128}", f"prompts_per_iteration={budget}",
                        "difficulty.source=predicted", f"difficulty.oversample={oversample}")  # fmt: skip
                s = summary(d)
                out["runs"][f"{arm}-{seed}"] = {"arm": arm, "seed": seed, "heldout": s["heldout"],
                                                "drift": drift(d), "offline": offline(d)}  # fmt: skip
                print(f"{arm} seed {seed}: held-out {s['heldout'][0]:.3f} -> {s['heldout'][-1]:.3f}", flush=True)
    out["summary"] = summarise(out["runs"])
    write_result("predicted_stale", out, args.out, args.quick)


def summarise(runs: dict) -> dict:
    """Per arm, means over seeds and iterations >= 2 (where history exists): drift and each predictor's quality."""
    table = {}
    for arm in ARMS:
        rs = [r for r in runs.values() if r["arm"] == arm]
        later = [x for r in rs for x in r["drift"] if x["iteration"] >= 2]
        row = {key: _mean(x[key] for x in later) for key in ("abs_change", "noise_floor")}
        for label, name, disc in [*((f"history@{d}", "history", d) for d in DISCOUNTS), ("learned", "learned", None),
                                  ("both", "both", None)]:  # fmt: skip
            sel = [o for r in rs for o in r["offline"] if o["predictor"] == name and o["discount"] == disc
                   and o["iteration"] >= 2]  # fmt: skip
            row[label] = {"spearman": _mean(o.get("difficulty_spearman") for o in sel),
                          "auc": _mean(o.get("usable_auc") for o in sel)}  # fmt: skip
        table[arm] = row
    return table


def _mean(values) -> float | None:
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


if __name__ == "__main__":
    main()
