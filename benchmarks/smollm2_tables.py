"""The tables of ``benchmarks/results/smollm2_ifeval.md`` from the study's run directories.

Usage: ``python -m benchmarks.smollm2_tables RUN [RUN ...]`` (one run per seed). Prints markdown:
held-out reward per iteration with win rates, per-constraint pass rates pooled over the runs, and the
mean wall time per stage.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from spo.tasks import ifeval_lite as ie

STAGES = ("generate_s", "score_s", "train_s", "sync_s", "checkpoint_s", "eval_s", "iteration_s")


def rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def heldout_table(runs: list[Path]) -> list[str]:
    out = ["| run | seed | initial | " + " | ".join(f"iter {i}" for i in range(3)) + " | change | win rate | LC win rate |",
           "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    finals = []
    for run in runs:
        evals = [r for r in rows(run) if r.get("stage") == "eval"]
        seed = yaml.safe_load((run / "config.yaml").read_text())["seed"]
        h = [e["heldout_reward"] for e in evals]
        last = evals[-1]
        finals.append(h[-1] - h[0])
        out.append(f"| {run.name} | {seed} | " + " | ".join(f"{x:.3f}" for x in h) + f" | {h[-1] - h[0]:+.3f} | "
                   f"{last.get('win_rate', float('nan')):.3f} | {last.get('lc_win_rate', float('nan')):.3f} |")  # fmt: skip
    if len(finals) > 1:
        out.append(
            f"| mean ± sd of the change | | | | | | {statistics.mean(finals):+.3f} ± {statistics.stdev(finals):.3f} | | |"
        )
    return out


def constraint_table(runs: list[Path]) -> list[str]:
    first: dict[str, list[int]] = {}
    last: dict[str, list[int]] = {}
    for run in runs:
        files = sorted((run / "eval").glob("policy_v*.parquet"), key=lambda p: int(p.stem.removeprefix("policy_v")))
        for target, path in ((first, files[0]), (last, files[-1])):
            t = pq.read_table(path).to_pylist()
            rates = ie.pass_rates([r["prompt"] for r in t], [r["response"] for r in t])
            for kind, (ok, n) in rates.items():
                acc = target.setdefault(kind, [0, 0])
                acc[0] += ok
                acc[1] += n
    out = ["| constraint | answers | initial policy | after 3 iterations |", "|---|---|---|---|"]
    for kind in sorted(first, key=lambda k: first[k][0] / first[k][1]):
        (a, n), (b, _) = first[kind], last[kind]
        out.append(f"| {kind} | {n} | {a / n:.2f} | {b / n:.2f} |")
    return out


def time_table(runs: list[Path]) -> list[str]:
    out = ["| run | " + " | ".join(s.removesuffix("_s") for s in STAGES) + " |", "|" + "---|" * (len(STAGES) + 1)]
    for run in runs:
        its = [r for r in rows(run) if r.get("stage") == "iteration"]
        means = [statistics.mean(r.get(s, 0.0) for r in its) for s in STAGES]
        out.append(f"| {run.name} | " + " | ".join(f"{m:.1f}" for m in means) + " |")
    return out


def study_tables(study, runs: dict) -> list[str]:
    """The smollm2 study's extra tables (:mod:`benchmarks.studies.smollm2`): per-iteration held-out reward with
    win rates, per-constraint pass rates and stage times, over its runs in seed order."""
    ordered = [runs[key] for key in sorted(runs, key=lambda k: k[1])]
    out = []
    for title, table in (("Held-out reward (rule) per iteration", heldout_table(ordered)),
                         ("Pass rate per constraint, pooled over the seeds' held-out answers", constraint_table(ordered)),
                         ("Mean seconds per iteration, by stage (wall time; noisy on a shared machine)", time_table(ordered))):  # fmt: skip
        out += [f"{title}:", "", *table, ""]
    return out[:-1]


def main() -> None:
    runs = [Path(p) for p in sys.argv[1:]]
    for table in (heldout_table(runs), constraint_table(runs), time_table(runs)):
        print("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
