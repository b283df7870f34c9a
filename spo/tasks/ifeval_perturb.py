"""Edits of an ifeval_lite answer that satisfy or break its prompt's constraints: cheap RM data.

The rule labels any answer, so an answer edited to meet (or miss) one of its prompt's instructions is
a valid labelled example for a reward model (``spo rm train --augment``). Each edit acts on one
constraint and keeps the rest of the answer, so the pair (edited, original) differs mainly in that
constraint.
"""

from __future__ import annotations

import json
import random
import re

from spo.tasks.ifeval_lite import END_WORDS, START_WORDS, WORDS, Constraint, constraints_of


def _bulletize(text: str, n: int) -> str:
    words = text.split() or ["point"]
    size = max(1, -(-len(words) // n))
    return "\n".join("- " + " ".join(words[i : i + size]) for i in range(0, len(words), size))


def _satisfy(c: Constraint, text: str, rng: random.Random) -> str:
    k, arg = c.kind, c.arg
    edits = {
        "lowercase": lambda: text.lower(),
        "uppercase": lambda: text.upper(),
        "include_word": lambda: f"{text.rstrip('.')} and {arg}.",
        "no_commas": lambda: text.replace(",", ""),
        "max_words": lambda: " ".join(text.split()[: max(1, int(arg or 10) - rng.randint(0, 3))]),
        "start_with": lambda: f"{arg} {text}",
        "end_with": lambda: f"{text.rstrip(' .!?')} {arg}.",
        "bullets": lambda: _bulletize(text, int(arg or 2)),
        "quotes": lambda: f'"{text.strip(chr(34))}"',
        "json": lambda: json.dumps({"answer": text}),
    }
    return edits[k]()


def _violate(c: Constraint, text: str, rng: random.Random) -> str:
    k, arg = c.kind, c.arg
    edits = {
        "lowercase": lambda: text[:1].upper() + text[1:] if text else "No",
        "uppercase": lambda: text.lower(),
        "include_word": lambda: re.sub(rf"\b{re.escape(str(arg))}\b", "", text, flags=re.I),
        "no_commas": lambda: re.sub(r" ", ", ", text, count=1),
        "max_words": lambda: text + " " + " ".join(rng.choice(WORDS) for _ in range(int(arg or 10) + 2)),
        "start_with": lambda: f"{rng.choice([w for w in START_WORDS if w != arg])} {text}",
        "end_with": lambda: f"{text.rstrip(' .!?')} {rng.choice([w for w in END_WORDS if w != arg])}.",
        "bullets": lambda: _bulletize(text, int(arg or 2) + 1),
        "quotes": lambda: text.strip().strip('"'),
        "json": lambda: "{" + text,
    }
    return edits[k]()


ORDER = ["max_words", "include_word", "no_commas", "end_with", "start_with", "bullets", "lowercase", "uppercase",
         "quotes", "json"]  # fmt: skip


def satisfy_all(prompt: str, response: str, rng: random.Random) -> str:
    """``response`` edited towards every constraint of ``prompt`` in turn (later edits may undo earlier ones)."""
    for c in sorted(constraints_of(prompt), key=lambda c: ORDER.index(c.kind)):
        response = _satisfy(c, response, rng)
    return response


def variants(prompt: str, response: str, rng: random.Random, n: int = 4) -> list[str]:
    """Up to ``n`` distinct edits of ``response``: all constraints at once, then one constraint each."""
    constraints = constraints_of(prompt)
    out: dict[str, None] = {satisfy_all(prompt, response, rng): None} if constraints else {}
    out.pop(response, None)
    for _ in range(4 * n):
        if len(out) == n or not constraints:
            break
        c = rng.choice(constraints)
        edited = (_satisfy if rng.random() < 0.6 else _violate)(c, response, rng)
        if edited.strip() and edited != response:
            out[edited] = None
    return list(out)
