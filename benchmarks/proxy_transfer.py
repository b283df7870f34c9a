"""Difficulty transfer between proxies, and between each proxy and the gold (issue 19, item 6): do two proxy
RMs agree on which prompts are hard, and does either agree with the gold?

The prompts are the proxy grid's held-out ones (no proxy trained or stopped early on them). A prompt's
difficulty, by a scorer, is the mean score of its 8 answers in the gold-data run of ``benchmarks.proxy_rms``:
each proxy's score, and the gold's (the task's rule, as the ``gold`` scorer of ``reward=sort_proxy``). Every
two estimates are compared by Spearman rho, with a 95% bootstrap CI over prompts.

Usage: ``python -m benchmarks.proxy_transfer [--proxies NAME...]`` (builds a named proxy of the grid first if it
is missing) writes ``benchmarks/results/proxy_transfer.json`` and its table in ``gold_proxy.md``;
``--render`` rewrites the table from the JSON.
"""

from __future__ import annotations

import argparse
import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.common import RESULTS, write_result
from benchmarks.proxy_rms import ensure_proxy, gold_samples
from benchmarks.studies.render import write_block
from spo.analysis.stats import bootstrap_ci, spearman
from spo.assets.tiny import TinySpec, ensure_tiny_policy
from spo.buffer.difficulty import prompt_stats
from spo.reward.rule import RuleScorer
from spo.reward.sequence_classifier import SequenceClassifierScorer
from spo.schemas import difficulty_col, reward_col

GOLD = "spo.tasks.sort_digits:reward"
PROXIES = ("proxy-sort-b250-n0.2-h64", "proxy-sort-b1000-n0.2-h64", "proxy-sort-b4000-n0-h128")


def heldout_prompts(models: Path, proxies: list[str]) -> set[str]:
    """The prompts every proxy held out (its ``heldout_pairs.parquet``)."""
    sets = [set(pq.read_table(models / p / "heldout_pairs.parquet", columns=["prompt_id"])["prompt_id"].to_pylist())
            for p in proxies]  # fmt: skip
    return set.intersection(*sets)


def difficulties(samples: Path, models: Path, proxies: list[str]) -> dict[str, dict[str, float]]:
    """Per scorer (``gold`` and each proxy): each held-out prompt's difficulty, as the buffer defines it
    (``spo.buffer.difficulty.prompt_stats``: the mean score of the prompt's answers)."""
    keep = heldout_prompts(models, proxies)
    table = pq.read_table(samples, columns=["prompt_id", "sample_idx", "prompt", "response", "finish_reason"])
    table = table.filter(pc.is_in(table["prompt_id"], pa.array(sorted(keep))))
    if table.num_rows == 0:
        raise SystemExit(f"{samples}: none of its prompts is held out by every proxy of {proxies}")
    prompts, responses = table["prompt"].to_pylist(), table["response"].to_pylist()
    policy = str(ensure_tiny_policy("~/.cache/spo", TinySpec()))
    scores = {"gold": RuleScorer(GOLD).score(prompts, responses, table["finish_reason"].to_pylist())}
    for name in proxies:
        scores[name] = SequenceClassifierScorer(str(models / name), policy, batch_size=256).score(prompts, responses)
    for name, values in scores.items():
        table = table.append_column(reward_col(name), pa.array(values, pa.float64()))
    stats = prompt_stats(table, list(scores))
    ids = stats["prompt_id"].to_pylist()
    return {name: dict(zip(ids, stats[difficulty_col(name)].to_pylist())) for name in scores}


def agreement(diff: dict[str, dict[str, float]]) -> list[dict]:
    """Spearman rho of every two scorers' difficulty, with its 95% bootstrap CI over prompts."""
    out = []
    for a, b in combinations(diff, 2):
        ids = sorted(diff[a])
        x, y = np.array([diff[a][i] for i in ids]), np.array([diff[b][i] for i in ids])
        lo, hi = bootstrap_ci(x, y, spearman, seed=0)
        out.append({"a": a, "b": b, "prompts": len(ids), "spearman": spearman(x, y), "ci": [lo, hi]})
    return out


def render() -> str:
    """The table of ``gold_proxy.md``'s transfer block, from the committed JSON."""
    data = json.loads((RESULTS / "proxy_transfer.json").read_text())
    p = data["produced_by"]
    lines = [f"Generated {p['date']} by `{p['command']}` at commit `{p['commit']}` on {p['machine']}.", "",
             "| difficulty by | against | prompts | Spearman rho [95% CI] |", "|---|---|---|---|"]  # fmt: skip
    for r in data["pairs"]:
        lines.append(
            f"| {r['a']} | {r['b']} | {r['prompts']} | {r['spearman']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}] |"
        )
    body = "\n".join(lines) + "\n"
    return write_block(RESULTS / "gold_proxy.md", "proxy_transfer", "python -m benchmarks.proxy_transfer", body)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="~/.cache/spo/models")
    parser.add_argument("--proxies", nargs="+", default=list(PROXIES))
    parser.add_argument("--render", action="store_true", help="only rewrite the table from the committed JSON")
    args = parser.parse_args(argv)
    if not args.render:
        models = Path(args.models).expanduser()
        for name in args.proxies:
            ensure_proxy(models, name)
        diff = difficulties(gold_samples(), models, args.proxies)
        write_result("proxy_transfer", {"proxies": args.proxies, "pairs": agreement(diff)}, RESULTS, quick=False)
    print(render())


if __name__ == "__main__":
    main()
