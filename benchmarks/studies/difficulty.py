"""Prompt difficulty (frozen from the initial policy): thirds by difficulty, pruning the hardest, random
pruning as a control for quantity, a curriculum, a smaller policy, and how two scorers rank difficulty."""

from __future__ import annotations

import statistics

from benchmarks.studies.base import Claim, Study
from benchmarks.studies.run import trained_totals
from spo.analysis.transfer import transfer

BINS = "experiment=difficulty_bins"
PRUNE = "experiment=prune_sweep"
THIRD = ("selection.match=keep_easiest", "selection.fraction=0.34")
ARMS = {
    "all prompts": (PRUNE, "selection.fraction=0.0"),
    "hardest third": (BINS, "selection.bin=0"),
    "middle third": (BINS, "selection.bin=1"),
    "easiest third": (BINS, "selection.bin=2"),
    **{f"drop hardest {f}": (PRUNE, f"selection.fraction={f}") for f in (0.1, 0.3, 0.5, 0.7)},
    **{
        f"drop random {f}": (
            PRUNE,
            "selection.prompts=random",
            "selection.match=drop_hardest",
            f"selection.fraction={f}",
        )
        for f in (0.5, 0.7)
    },  # fmt: skip
    "curriculum third (easy to hard)": (PRUNE, "selection.prompts=curriculum", *THIRD),
    "random third": (PRUNE, "selection.prompts=random", *THIRD),
    "h64 hardest third": ("experiment=capacity_sweep", "model.tiny_hidden_size=64", "selection.bin=0"),
    "h64 easiest third": ("experiment=capacity_sweep", "model.tiny_hidden_size=64", "selection.bin=2"),
}


def extra_tables(study: Study, runs: dict) -> list[str]:
    """Pairs trained and prompts generated per arm, and the rule-vs-edit difficulty transfer per seed."""
    out = ["| arm | pairs trained (all iterations, mean over seeds) | prompts generated |", "|---|---|---|"]
    for arm in study.arms:
        totals = [trained_totals(path) for (a, _), path in sorted(runs.items()) if a == arm]
        if totals:
            pairs, prompts = (statistics.mean(t[k] for t in totals) for k in (0, 1))
            out.append(f"| {arm} | {pairs:.0f} | {prompts:.0f} |")
    out += ["", "Difficulty transfer between two scorers of the same difficulty-pass answers (`rule`, positional, "
            "and `edit`, 1 - normalised Levenshtein), on the 'all prompts' runs:", "",
            "| seed | Spearman rho (95% bootstrap CI) | Kendall tau-b | hardest 10% / 30% / 50% overlap |",
            "|---|---|---|---|"]  # fmt: skip
    for (arm, seed), path in sorted(runs.items()):
        if arm == "all prompts":
            r = transfer(str(path), str(path), "rule", "edit")
            lo, hi = r["spearman_ci95"]
            overlap = " / ".join(f"{v:.2f}" for v in r["hardest_overlap"].values())
            out.append(f"| {seed} | {r['spearman']:.3f} ({lo:.3f}, {hi:.3f}) | {r['kendall_tau_b']:.3f} | {overlap} |")
    return out


STUDY = Study(
    name="difficulty",
    title="Prompt difficulty: thirds, pruning the hardest, random pruning, curriculum, capacity",
    results="difficulty.md",
    experiment="difficulty_bins",
    arms=ARMS,
    claims=(
        Claim("training on the easiest third beats training on the hardest third", "easiest third", "hardest third"),
        Claim("dropping the hardest 30% of prompts beats training on all", "drop hardest 0.3", "all prompts"),
        Claim(
            "dropping the hardest half beats dropping a random half (same number of prompts)",
            "drop hardest 0.5",
            "drop random 0.5",
        ),
        Claim(
            "a curriculum gives no reliable gain over a random third (within 0.02)",
            "curriculum third (easy to hard)",
            "random third",
            kind="matches",
            margin=0.02,
        ),
        Claim(
            "for a smaller policy (hidden 64) the easiest third beats the hardest",
            "h64 easiest third",
            "h64 hardest third",
        ),
    ),  # fmt: skip
    check=("easiest third", 0),
    extra="benchmarks.studies.difficulty:extra_tables",
)
