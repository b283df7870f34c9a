"""Prompt difficulty against a learned proxy, evaluated on the gold (issue 19): thirds, pruning the hardest
against random pruning of the same count. Difficulty is the proxy's, frozen from the initial policy over 8
samples a prompt; the policy trains on the proxy's pairs."""

from benchmarks.studies.base import Claim, Study

PROXY = "python -m benchmarks.proxy_rms --only proxy-sort-b1000-n0.2-h64"
# what every gold study shares: 5 seeds, the proxy built first, claims judged on the gold
GOLD = {"seeds": (0, 1, 2, 3, 4), "setup": (PROXY,), "metric": "heldout_reward/gold"}
BIN = "selection.prompts=bin"
RANDOM = ("selection.prompts=random", "selection.match=drop_hardest")
EQUAL = "selection.max_pairs=56"  # under the easiest third's pairs in most iterations (65 a run-iteration on average)

STUDY = Study(
    name="gold_difficulty",
    title="Prompt difficulty on a learned proxy, judged by the gold",
    results="gold_proxy.md",
    experiment="gold_difficulty",
    arms={
        "all prompts": ("selection.fraction=0.0",),
        "hardest third": (BIN, "selection.bin=0"),
        "easiest third": (BIN, "selection.bin=2"),
        "hardest third, 56 pairs": (BIN, "selection.bin=0", EQUAL),
        "easiest third, 56 pairs": (BIN, "selection.bin=2", EQUAL),
        "random third": ("selection.prompts=random", "selection.match=keep_easiest", "selection.fraction=0.34"),
        **{f"drop hardest {f}": (f"selection.fraction={f}",) for f in (0.3, 0.5)},
        **{f"drop random {f}": (*RANDOM, f"selection.fraction={f}") for f in (0.3, 0.5)},
    },
    claims=(
        Claim("training on the easiest third beats training on the hardest third", "easiest third", "hardest third"),
        Claim("the easiest third beats a random third (same number of prompts)", "easiest third", "random third"),
        # added after the first results were seen (the paper's headline, "hard prompts hurt", at equal prompt count)
        Claim("a random third beats the hardest third (same number of prompts)", "random third", "hardest third"),
        Claim(
            "at equal pair counts too, the easiest third beats the hardest third",
            "easiest third, 56 pairs",
            "hardest third, 56 pairs",
        ),
        Claim("dropping the hardest 30% of prompts beats training on all", "drop hardest 0.3", "all prompts"),
        Claim("dropping the hardest 30% beats dropping a random 30%", "drop hardest 0.3", "drop random 0.3"),
        Claim("dropping the hardest half beats dropping a random half", "drop hardest 0.5", "drop random 0.5"),
    ),  # fmt: skip
    check=("easiest third", 0),
    **GOLD,
    extra="benchmarks.studies.gold_tables:difficulty_tables",
)
