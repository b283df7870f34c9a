"""Proxy reward models for the toy sort task, of controlled quality, measured against the gold (issue 19).

The gold is the task's exact rule. A one-iteration run of the tiny policy (1024 prompts x 8 samples)
gives answers the gold labels; ``spo rm train`` trains tiny sequence classifiers on a budget of those
comparisons with a share of labels swapped. Every proxy is measured on the same held-out prompts with the
gold labels: overall, by the prompt's gold difficulty third (from its 8 samples) and by gold margin third.
Whether the proxies are less accurate on hard prompts is the paper's mechanism.

Usage: ``python -m benchmarks.proxy_rms`` (about 6 minutes on 2 cores) writes
``benchmarks/results/proxy_rms.json`` and the generated table in ``gold_proxy.md``;
``--render`` rewrites that table from the JSON; ``--only NAME`` trains one proxy of the grid if it is not
built yet (a study's setup).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.studies.provenance import label, machine, today
from benchmarks.studies.render import write_block
from spo.analysis.runs import runs_root
from spo.assets.tiny import TinySpec, build_tiny_reward_model, ensure_tiny_policy
from spo.io import atomic_file
from spo.reward.rm_data import labelled_answers, pairs_from_answers
from spo.reward.rm_train import train_reward_model
from spo.run_state import completed_iteration

RESULTS = Path(__file__).resolve().parent / "results"
DATA_RUN = "proxy-gold-data"
DATA_COMMAND = ["python", "-m", "spo.train", "experiment=tiny", "iterations=1", "prompts_per_iteration=1024",
                "task.n_train=1024", "generator.n_samples=8", "seed=100", f"run_name={DATA_RUN}"]  # fmt: skip
GRID = [(budget, noise, hidden) for hidden in (64, 128) for noise in (0.0, 0.2) for budget in (250, 1000, 4000)]
PARTS = ("third_hard", "third_medium", "third_easy", "margin_small", "margin_large")


def gold_samples() -> Path:
    run = runs_root() / DATA_RUN
    if completed_iteration(run) < 0:
        subprocess.run([sys.executable, *DATA_COMMAND[1:]], check=True)
    return run / "iter_0" / "samples.parquet"


def _name(budget: int, noise: float, hidden: int) -> str:
    return f"proxy-sort-b{budget}-n{noise:g}-h{hidden}"


def train_grid(models: Path, epochs: int, only: str | None = None) -> list[dict]:
    """Train every proxy of the grid (or only the one named ``only``) on the gold-labelled answers."""
    grid = [g for g in GRID if only is None or _name(*g) == only]
    if not grid:
        raise SystemExit(f"--only {only}: not in the grid; its proxies: {[_name(*g) for g in GRID]}")
    policy = ensure_tiny_policy("~/.cache/spo", TinySpec())
    answers = labelled_answers(gold_samples(), "rule", rule="spo.tasks.sort_digits:reward", seed=0)
    pairs = pairs_from_answers(answers, max_per_prompt=12, seed=0)
    out = []
    for budget, noise, hidden in grid:
        base = build_tiny_reward_model(policy, models / f"tiny-rm-base-h{hidden}", hidden, 1, 2 * hidden)
        name = _name(budget, noise, hidden)
        result = train_reward_model(pairs, str(base), str(policy), models / name, epochs=epochs, lr=1e-3,
                                    batch_size=32, seed=0, force=True, max_pairs=budget, label_noise=noise)  # fmt: skip
        out.append({"proxy": name, "budget": budget, "noise": noise, "hidden": hidden, **_row(result)})
        print(f"[proxy] {name}: held-out accuracy {result['heldout_accuracy']:.3f}", flush=True)
    return out


def ensure_proxy(models: Path, name: str, epochs: int = 4) -> Path:
    """The proxy of the grid called ``name`` under ``models``, trained first unless it is already there."""
    if (models / name / "config.json").exists():
        print(f"[proxy] {name}: already built", flush=True)
    else:
        train_grid(models, epochs, name)
    return models / name


def _row(result: dict) -> dict:
    parts = result["heldout_parts"]
    return {"train_pairs": result["train_pairs"], "heldout_pairs": result["heldout_pairs"],
            "accuracy": result["heldout"]["accuracy"], "accuracy_ci": result["heldout"]["accuracy_ci"],
            **{p: {"accuracy": parts[p]["accuracy"], "ci": parts[p]["accuracy_ci"], "pairs": parts[p]["pairs"]}
               for p in PARTS if p in parts}}  # fmt: skip


def _cell(part: dict | None) -> str:
    return "-" if part is None else f"{part['accuracy']:.3f} [{part['ci'][0]:.3f}, {part['ci'][1]:.3f}]"


def markdown(rows: list[dict], header: list[str]) -> str:
    lines = [*header, "", "| proxy | train pairs | label noise | hidden | held-out accuracy | hard third | medium "
             "third | easy third | small gold margin | large gold margin | hard below easy |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        hard, easy = r.get("third_hard"), r.get("third_easy")
        below = "yes" if hard and easy and hard["ci"][1] < easy["ci"][0] else "no (CIs overlap)"
        lines.append(f"| {r['proxy']} | {r['train_pairs']} | {r['noise']:g} | {r['hidden']} | "
                     f"{r['accuracy']:.3f} [{r['accuracy_ci'][0]:.3f}, {r['accuracy_ci'][1]:.3f}] | "
                     + " | ".join(_cell(r.get(p)) for p in PARTS) + f" | {below} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def render() -> str:
    """The table block of ``gold_proxy.md``, from the committed JSON."""
    data = json.loads((RESULTS / "proxy_rms.json").read_text())
    body = markdown(data["rows"], data["header"])
    return write_block(RESULTS / "gold_proxy.md", "proxy_rms", "python -m benchmarks.proxy_rms", body)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="~/.cache/spo/models")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--render", action="store_true", help="only rewrite the table from the committed JSON")
    parser.add_argument("--only", help="train this one proxy of the grid unless it is already there (a study's setup)")
    args = parser.parse_args(argv)
    models = Path(args.models).expanduser()
    if args.only:
        ensure_proxy(models, args.only, args.epochs)
        return
    if not args.render:
        rows = train_grid(models, args.epochs)
        header = [f"Generated {today()} by `python -m benchmarks.proxy_rms` at commit `{label()}` "
                  f"on {machine()}.", "", f"Gold-labelled answers: `{' '.join(DATA_COMMAND)}`."]  # fmt: skip
        with atomic_file(RESULTS / "proxy_rms.json", "w") as fh:
            json.dump({"header": header, "rows": rows}, fh, indent=1)
    print(render())


if __name__ == "__main__":
    main()
