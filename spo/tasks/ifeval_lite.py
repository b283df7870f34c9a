"""ifeval_lite: short writing tasks with 1-3 instructions that a program can check.

Each prompt is a writing task followed by its constraints, phrased from fixed templates, so the
constraints can be read back from the prompt text alone (:func:`constraints_of`). The reward is
the fraction of constraints satisfied, 0 for an empty answer, minus a small penalty for an answer
cut off at the token limit.

The checkers follow IFEval's definitions (Google's reference checkers, as ``lm-eval`` ships them in
``lm_eval/tasks/ifeval/instructions.py``) wherever the instruction is the same: ``no_commas`` is
``punctuation:no_comma``, ``quotes`` is ``startend:quotation``, ``json`` is
``detectable_format:json_format``, ``max_words`` N is ``length_constraints:number_words`` "less than"
N+1 (words are runs of ``\\w``, so Unicode words count once and "don't" twice), ``bullets`` is
``detectable_format:number_bullet_lists``, ``start_with`` is ``length_constraints:nth_paragraph_first_word``
on the first paragraph, and the case checks are ``change_case:english_*``.
``tests/unit/test_ifeval_reference.py`` runs both on an adversarial corpus. Deliberate differences,
each because spo's instruction is worded differently:

- **case** (``lowercase``, ``uppercase``): spo's instruction does not ask for English, so there is no
  language detection; the answer must contain a cased letter (``str.islower``/``str.isupper``), so
  text with no cased letters (CJK, digits) satisfies neither.
- **include_word**: "include the word 'blue'" asks for the word, so a whole-word match; IFEval's
  keyword check is a substring ("bluebird" counts there).
- **start_with**: the first word ends at any non-word character ("Yes:" and "Yes--" start with "Yes");
  IFEval cuts only at ``. , ? ! ' "``. Opening quotes, typographic ones too, are skipped, and a
  leading blank line does not hide the first word (IFEval then finds an empty first paragraph).
- **end_with**: "end with the word" asks for the final whole word, so punctuation and quotes after it
  are ignored ("... forever." and "... 'forever'." end with "forever") and a longer word does not count
  ("snow" does not end with "now"); IFEval's end checker is a raw suffix match for a whole phrase.
- **bullets**: the instruction says each bullet starts with "- ", so a marker must be followed by
  spaces or tabs and text; IFEval also counts lines such as "-5 degrees", "---" or "*italic*".
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

TOPICS = [
    "the ocean", "a rainy day", "coffee", "friendship", "the moon", "a small town", "trains", "gardening",
    "winter", "a lost key", "music", "the desert", "bicycles", "a library", "cats", "mountains", "bread",
    "a birthday", "the internet", "rivers", "robots", "a market", "summer", "chess", "the forest", "tea",
    "a lighthouse", "snow", "the city at night", "honey bees", "a museum", "football", "clouds", "paper",
    "an old bridge", "the kitchen", "volcanoes", "a picnic", "stars", "the first day of school",
]  # fmt: skip
TASKS = [
    "Write a short poem about {t}.", "Describe {t} in two sentences.", "Give one tip about {t}.",
    "Explain {t} to a child.", "Write a short product description inspired by {t}.", "Tell a tiny story about {t}.",
    "List a few facts about {t}.", "Write a one-line slogan about {t}.",
]  # fmt: skip
WORDS = ["blue", "happy", "green", "quiet", "bright", "gold", "simple", "warm", "fast", "gentle"]
START_WORDS = ["Yes", "Today", "Once", "Sometimes", "Here"]
END_WORDS = ["forever", "today", "again", "together", "now"]


@dataclass(frozen=True)
class Constraint:
    """One checkable instruction: its kind, its argument, and the sentence that states it."""

    kind: str
    arg: str | int | None
    text: str


def _words(text: str) -> list[str]:
    """Runs of word characters, as IFEval's ``count_words`` splits (Unicode-aware; "don't" is two)."""
    return re.findall(r"\w+", text)


def _first_word(text: str) -> str:
    """The word the answer opens with, after any opening quotes; "" if it opens with no word."""
    m = re.match(rf"[{QUOTES}]*(\w+)", text.lstrip())
    return m.group(1).lower() if m else ""


def _last_word(text: str) -> str:
    """The answer's final whole word, ignoring punctuation, quotes and spaces after it."""
    m = re.search(r"(\w+)\W*$", text)
    return m.group(1).lower() if m else ""


def _is_json(text: str) -> bool:
    """IFEval's json_format: strip a fence (```json, ```Json, ```JSON or ```), then parse."""
    body = text.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):
        body = body.removeprefix(fence)
    try:
        json.loads(body.removesuffix("```").strip())
    except ValueError:
        return False
    return True


def _bullets(text: str) -> int:
    """Lines whose marker ('-' or '*') is followed by whitespace and then text on the same line."""
    return len(re.findall(r"^[^\S\n]*[-*][^\S\n]+\S", text, re.M))


QUOTES = "'\"\u2018\u2019\u201c\u201d\u00ab\u00bb"
CHECKS: dict[str, Callable[[str, object], bool]] = {
    "lowercase": lambda r, _: r.islower(),
    "uppercase": lambda r, _: r.isupper(),
    "include_word": lambda r, w: re.search(rf"\b{re.escape(str(w))}\b", r, re.I) is not None,
    "no_commas": lambda r, _: "," not in r,
    "max_words": lambda r, n: len(_words(r)) <= int(n),
    "start_with": lambda r, w: _first_word(r) == str(w).lower(),
    "end_with": lambda r, w: _last_word(r) == str(w).lower(),
    "bullets": lambda r, n: _bullets(r) == int(n),
    "quotes": lambda r, _: len(r.strip()) >= 2 and r.strip()[0] == '"' and r.strip()[-1] == '"',
    "json": lambda r, _: _is_json(r),
}

# How each constraint is stated; "{}" is its argument. The patterns read them back.
TEMPLATES = {
    "lowercase": "Your entire answer must be in lowercase letters.",
    "uppercase": "Your entire answer must be in capital letters.",
    "include_word": "Include the word '{}'.",
    "no_commas": "Do not use any commas.",
    "max_words": "Answer in at most {} words.",
    "start_with": "Start your answer with the word '{}'.",
    "end_with": "End your answer with the word '{}'.",
    "bullets": "Use exactly {} bullet points, each on its own line starting with '- '.",
    "quotes": "Wrap your entire answer in double quotes.",
    "json": "Answer in valid JSON.",
}
PATTERNS = {kind: re.compile(re.escape(t).replace(re.escape("{}"), r"([\w']+)")) for kind, t in TEMPLATES.items()}
CONFLICTS = [
    {"lowercase", "uppercase"}, {"json", "bullets"}, {"json", "quotes"}, {"json", "start_with"},
    {"json", "end_with"}, {"quotes", "start_with"}, {"quotes", "end_with"}, {"bullets", "start_with"},
    {"quotes", "bullets"}, {"json", "no_commas"},
]  # fmt: skip
KINDS = list(TEMPLATES)


def _argument(kind: str, rng: random.Random):
    if kind == "include_word":
        return rng.choice(WORDS)
    if kind == "max_words":
        return rng.choice([10, 15, 20, 30, 40])
    if kind == "start_with":
        return rng.choice(START_WORDS)
    if kind == "end_with":
        return rng.choice(END_WORDS)
    if kind == "bullets":
        return rng.choice([2, 3, 4])
    return None


def make_constraint(kind: str, arg=None) -> Constraint:
    """A constraint of ``kind`` with ``arg``, phrased by its template."""
    text = TEMPLATES[kind].format(arg) if "{}" in TEMPLATES[kind] else TEMPLATES[kind]
    return Constraint(kind, arg, text)


def generate_prompts(n: int, seed: int, max_constraints: int = 3) -> list[dict]:
    """``n`` distinct prompts, each a task plus 1..``max_constraints`` compatible constraints; seeded."""
    rng = random.Random(seed)
    rows, seen = [], set()
    limit = len(TOPICS) * len(TASKS) * 200
    for _ in range(limit):
        if len(rows) == n:
            break
        task = rng.choice(TASKS).format(t=rng.choice(TOPICS))
        target = rng.randint(1, max_constraints)
        kinds: list[str] = []
        for kind in rng.sample(KINDS, len(KINDS)):
            if len(kinds) < target and not any({kind, k} in CONFLICTS for k in kinds):
                kinds.append(kind)
        constraints = [make_constraint(k, _argument(k, rng)) for k in kinds]
        prompt = " ".join([task, *(c.text for c in constraints)])
        if prompt not in seen:
            seen.add(prompt)
            rows.append({"prompt_id": f"ifeval-{len(rows):06d}", "prompt": prompt})
    if len(rows) < n:
        raise ValueError(f"ifeval_lite: only {len(rows)} distinct prompts can be made, asked for {n}")
    return rows


def constraints_of(prompt: str) -> list[Constraint]:
    """The constraints stated in ``prompt``, read back from their templates."""
    found = []
    for kind, pattern in PATTERNS.items():
        m = pattern.search(prompt)
        if m:
            arg = m.group(1) if m.groups() else None
            found.append(make_constraint(kind, int(arg) if arg is not None and arg.isdigit() else arg))
    return found


def check(constraint: Constraint, response: str) -> bool:
    """Whether ``response`` satisfies ``constraint``."""
    return bool(CHECKS[constraint.kind](response, constraint.arg))


TRUNCATION_PENALTY = 0.2


def reward(prompt: str, response: str, finish_reason: str | None = None) -> float:
    """Fraction of the prompt's constraints satisfied; 0 if empty; minus 0.2 if cut off at the limit."""
    constraints = constraints_of(prompt)
    if not constraints:
        raise ValueError(f"ifeval_lite: no constraint found in prompt {prompt[:80]!r}")
    if not response.strip():
        return 0.0
    score = sum(check(c, response) for c in constraints) / len(constraints)
    return max(0.0, score - TRUNCATION_PENALTY) if finish_reason == "length" else score


def pass_rates(prompts: list[str], responses: list[str]) -> dict[str, tuple[int, int]]:
    """Per constraint kind: ``(passed, total)`` over the given answers."""
    out: dict[str, list[int]] = {k: [0, 0] for k in KINDS}
    for p, r in zip(prompts, responses):
        for c in constraints_of(p):
            out[c.kind][0] += check(c, r)
            out[c.kind][1] += 1
    return {k: (v[0], v[1]) for k, v in out.items() if v[1]}


def prompts(task) -> list[dict]:
    """The task's ``n_train + n_heldout`` prompts (the ``ifeval_lite`` entry of ``spo.plugins.TASKS``)."""
    return generate_prompts(task.n_train + task.n_heldout, task.seed, task.max_constraints)
