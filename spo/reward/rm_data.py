"""Labelled pairs for ``spo rm train``: a run's samples, optionally relabelled and augmented by a rule.

Without a rule, the labels are one scorer's rewards stored with the samples. With a rule (an import
path such as ``spo.tasks.ifeval_lite:reward``), every answer is labelled by calling it, and an
``augment`` function (``(prompt, response, rng) -> [edited responses]``) adds edited answers that the
rule labels too. A pair is two answers to one prompt whose labels differ; its ``source`` says
whether both answers were sampled (``sampled``) or at least one was an edit (``edited``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from spo.registry import import_object
from spo.reward.rule import RuleScorer
from spo.schemas import reward_col


def labelled_answers(
    path: str | Path, scorer: str, rule: str | None = None, augment: str | None = None, seed: int = 0
) -> dict[str, list[dict]]:
    """Per prompt id: answers with ``prompt``, ``response``, ``label``, ``edited``; sorted ids."""
    table = pq.read_table(path)
    col = reward_col(scorer)
    if rule is None and col not in table.column_names:
        raise ValueError(f"{path}: no column {col!r}; scorers there: {[c for c in table.column_names if '/' in c]}")
    if augment is not None and rule is None:
        raise ValueError("--augment needs --rule: edited answers are labelled by the rule")
    label: Callable | None = _rule_label(rule) if rule else None
    edit: Callable | None = import_object(augment) if augment else None
    finish = table.column("finish_reason").to_pylist() if "finish_reason" in table.column_names else None
    rng = random.Random(seed)
    out: dict[str, list[dict]] = {}
    for i, row in enumerate(table.select(["prompt_id", "prompt", "response"]).to_pylist()):
        reason = finish[i] if finish else None
        value = label(row["prompt"], row["response"], reason) if label else table.column(col)[i].as_py()
        answers = out.setdefault(row["prompt_id"], [])
        answers.append({**row, "label": value, "edited": False})
        for text in edit(row["prompt"], row["response"], rng) if edit else []:
            if any(a["response"] == text for a in answers):
                continue  # an edit that repeats an answer adds nothing
            answers.append({**row, "response": text, "label": label(row["prompt"], text, "stop"), "edited": True})
    return {pid: out[pid] for pid in sorted(out)}


def _rule_label(rule: str) -> Callable:
    """``(prompt, response, finish_reason) -> label`` by the rule, called as the rule scorer calls it (with the
    finish reason only if the rule takes one)."""
    scorer = RuleScorer(rule)
    return lambda prompt, response, reason: scorer.score([prompt], [response], [reason or "stop"])[0]


def difficulty(answers: list[dict]) -> float:
    """A prompt's difficulty as the buffer defines it: the mean label of its sampled answers."""
    sampled = [a["label"] for a in answers if not a["edited"]] or [a["label"] for a in answers]
    return sum(sampled) / len(sampled)


def pairs_from_answers(by_prompt: dict[str, list[dict]], max_per_prompt: int = 6, seed: int = 0) -> list[dict]:
    """(prompt_id, prompt, chosen, rejected, source, difficulty, margin) for answers whose labels differ;
    ``margin`` is the label of chosen minus that of rejected.

    Pairs of two sampled answers are kept first (up to ``max_per_prompt``), then pairs with an edit
    fill the prompt's quota, so edits add data without crowding out the policy's own answers.
    """
    rng = random.Random(seed)
    pairs = []
    for pid, answers in by_prompt.items():
        found = {"sampled": [], "edited": []}
        for a, b in itertools.combinations(answers, 2):
            if a["label"] != b["label"] and a["response"] != b["response"]:
                chosen, rejected = (a, b) if a["label"] > b["label"] else (b, a)
                found["edited" if a["edited"] or b["edited"] else "sampled"].append((chosen, rejected))
        level, taken = difficulty(answers), 0
        for source in ("sampled", "edited"):
            rng.shuffle(found[source])
            kept = found[source][: max(0, max_per_prompt - taken)]
            taken += len(kept)
            for chosen, rejected in kept:
                pairs.append({"prompt_id": pid, "prompt": chosen["prompt"], "chosen": chosen["response"],
                              "rejected": rejected["response"], "source": source, "difficulty": level,
                              "margin": chosen["label"] - rejected["label"]})  # fmt: skip
    if not pairs:
        raise ValueError("no prompt has two answers with different labels")
    return pairs


def split_by_prompt(pairs: list[dict], fractions: tuple[float, ...], seed: int) -> list[list[dict]]:
    """Pairs split into len(fractions)+1 parts with disjoint prompts: the fractions' parts, then the rest."""
    ids = sorted({p["prompt_id"] for p in pairs})
    random.Random(seed).shuffle(ids)
    parts, start = [], 0
    for f in fractions:
        take = set(ids[start : start + max(1, int(len(ids) * f))])
        start += len(take)
        parts.append([p for p in pairs if p["prompt_id"] in take])
    rest = set(ids[start:])
    return [*parts, [p for p in pairs if p["prompt_id"] in rest]]


def degrade(pairs: list[dict], max_pairs: int | None = None, label_noise: float = 0.0, seed: int = 0) -> list[dict]:
    """A proxy's training data of controlled quality: at most ``max_pairs`` pairs (a seeded choice), and
    exactly ``round(label_noise * n)`` of them, chosen at random, with chosen and rejected swapped
    (``flipped: True``). The gold labels are the ones given; the held-out pairs are never degraded."""
    if not 0.0 <= label_noise < 0.5:
        raise ValueError(f"label_noise must be in [0, 0.5), got {label_noise}")
    if max_pairs is not None and max_pairs < 1:
        raise ValueError(f"max_pairs must be >= 1, got {max_pairs}")
    rng = random.Random(seed)
    kept = pairs if max_pairs is None or max_pairs >= len(pairs) else rng.sample(pairs, max_pairs)
    flip = set(rng.sample(range(len(kept)), round(label_noise * len(kept))))
    swapped = ({**p, "chosen": p["rejected"], "rejected": p["chosen"], "flipped": True} for p in kept)
    return [s if i in flip else {**p, "flipped": False} for i, (p, s) in enumerate(zip(kept, swapped))]
