"""Tables for the gold/proxy studies: the proxy's and the gold's held-out reward side by side per arm (proxy
up with gold flat is over-optimisation), and, for difficulty, how reliable the proxy's estimate is and how
well it ranks prompts as the gold does."""

from __future__ import annotations

import statistics

import pyarrow.parquet as pq

from benchmarks.studies.base import Study
from benchmarks.studies.run import stage_rows, trained_totals
from spo.analysis.reliability import split_half
from spo.analysis.transfer import transfer


def proxy_and_gold(study: Study, runs: dict) -> list[str]:
    """Per arm, means over seeds: initial and final held-out reward on the proxy and on the gold, and pairs."""
    out = ["Held-out reward on the proxy the policy trained on and on the gold, initial -> final (mean over seeds), "
           "and the pairs trained (all iterations):", "",
           "| arm | runs | proxy | gold | pairs trained |", "|---|---|---|---|---|"]  # fmt: skip
    for arm in study.arms:
        paths = [p for (a, _), p in sorted(runs.items()) if a == arm]
        if not paths:
            continue
        evals = [stage_rows(p, "eval") for p in paths]
        cells = []
        for s in ("proxy", "gold"):
            first, last = (statistics.mean(e[i][f"heldout_reward/{s}"] for e in evals) for i in (0, -1))
            cells.append(f"{first:.3f} -> {last:.3f}")
        pairs = statistics.mean(trained_totals(p)[0] for p in paths)
        out.append(f"| {arm} | {len(paths)} | {cells[0]} | {cells[1]} | {pairs:.0f} |")
    return out


def difficulty_estimate(study: Study, runs: dict, arm: str = "all prompts") -> list[str]:
    """On each seed's difficulty pass (the initial policy, 8 samples a prompt): split-half reliability of the
    proxy's and the gold's difficulty, and the rank agreement of the proxy's difficulty with the gold's."""
    out = ["", f"The difficulty estimate, from each '{arm}' run's difficulty pass (the initial policy's samples of "
           "every prompt the run uses): split-half Spearman rho of the prompt's mean reward over the even and odd "
           "samples, the Spearman-Brown reliability of the full estimate, and the agreement of the proxy's "
           "difficulty ranking with the gold's (95% bootstrap CIs over prompts):", "",
           "| seed | prompts | samples each | proxy: split-half rho | proxy: reliability | gold: split-half rho | "
           "gold: reliability | proxy vs gold difficulty, Spearman rho |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for (a, seed), path in sorted(runs.items()):
        if a != arm:
            continue
        samples = pq.read_table(path / "difficulty_pass" / "samples.parquet")
        rel = {s: split_half(samples, s) for s in ("proxy", "gold")}
        t = transfer(str(path), str(path), "proxy", "gold")
        cells = []
        for s in ("proxy", "gold"):
            r = rel[s]
            cells += [f"{r['rho_half']:.3f} ({r['rho_half_ci95'][0]:.3f}, {r['rho_half_ci95'][1]:.3f})",
                      f"{r['rho_full']:.3f} ({r['rho_full_ci95'][0]:.3f}, {r['rho_full_ci95'][1]:.3f})"]  # fmt: skip
        lo, hi = t["spearman_ci95"]
        out.append(f"| {seed} | {rel['gold']['prompts']} | {rel['gold']['samples_per_prompt']:.0f} | "
                   + " | ".join(cells) + f" | {t['spearman']:.3f} ({lo:.3f}, {hi:.3f}) |")  # fmt: skip
    return out


def difficulty_tables(study: Study, runs: dict) -> list[str]:
    return proxy_and_gold(study, runs) + difficulty_estimate(study, runs)
