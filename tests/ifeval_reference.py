"""IFEval's reference checkers (from the installed ``lm-eval``) and an adversarial answer corpus.

The reference is loaded from ``lm_eval/tasks/ifeval/`` without running ``lm_eval``'s package
``__init__`` files (which import the rest of the harness) and without any download: nltk's
``punkt_tab`` download at import is replaced by a recorder (the sentence checkers that need it are
not compared). ``REFERENCE`` maps each ifeval_lite constraint kind to the reference instruction
that has the same meaning.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import types
from importlib.metadata import distribution
from pathlib import Path
from unittest import mock

import langdetect
import nltk

PACKAGES = ("lm_eval", "lm_eval.tasks", "lm_eval.tasks.ifeval")


def load_instructions():
    """``lm_eval.tasks.ifeval.instructions``, imported alone; returns (module, downloads attempted)."""
    root = Path(str(distribution("lm_eval").locate_file("lm_eval/tasks/ifeval")))
    names = (*PACKAGES, "lm_eval.tasks.ifeval.instructions_util", "lm_eval.tasks.ifeval.instructions")
    saved = {n: sys.modules.get(n) for n in names}
    downloads: list[str] = []
    try:
        for name, path in zip(PACKAGES, (root.parent.parent, root.parent, root)):
            pkg = types.ModuleType(name)
            pkg.__path__ = [str(path)]
            sys.modules[name] = pkg
        with mock.patch.object(nltk, "download", lambda res, *a, **k: downloads.append(res) or False):
            module = importlib.import_module("lm_eval.tasks.ifeval.instructions")
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old
    langdetect.DetectorFactory.seed = 0
    return module, downloads


def paragraphs(answer: str) -> int:
    """IFEval's paragraph count: parts between blank lines that are not blank themselves."""
    return max(1, sum(1 for p in answer.split("\n\n") if p.strip()))


def reference_checker(ins, kind: str, arg, answer: str):
    """The reference instruction with the meaning of ifeval_lite's ``kind`` with ``arg``."""
    build = {
        "lowercase": (ins.LowercaseLettersEnglishChecker, lambda: {}),
        "uppercase": (ins.CapitalLettersEnglishChecker, lambda: {}),
        "include_word": (ins.KeywordChecker, lambda: {"keywords": [arg]}),
        "no_commas": (ins.CommaChecker, lambda: {}),
        "max_words": (ins.NumberOfWords, lambda: {"num_words": arg + 1, "relation": "less than"}),
        "start_with": (
            ins.ParagraphFirstWordCheck,
            lambda: {"num_paragraphs": paragraphs(answer), "nth_paragraph": 1, "first_word": arg},
        ),
        "end_with": (ins.EndChecker, lambda: {"end_phrase": arg}),
        "bullets": (ins.BulletListChecker, lambda: {"num_bullets": arg}),
        "quotes": (ins.QuotationChecker, lambda: {}),
        "json": (ins.JsonFormat, lambda: {}),
    }
    cls, kwargs = build[kind]
    checker = cls(kind)
    checker.build_description(**kwargs())
    return checker


BODIES = [
    "the sea is calm tonight", "The Sea Is Calm", "THE SEA IS CALM TONIGHT", "café au lait is warm",
    "naïve bees hum in the garden", "日本語の文章です", "東京 tokyo", "ΚΑΛΗΜΕΡΑ ΚΟΣΜΕ", "καλημέρα κόσμε",
    "die straße ist lang", "123 456", "🙂 🙂", "don't stop now", "blue skies forever", "the bluebird sings",
    "yes we can", "Today is the day", "once upon a time", "a warm day, a quiet night", "tea，coffee",
    "it is snow", "we go together again", "HERE WE GO AGAIN", "sometimes it rains today",
]  # fmt: skip
WRAPS = [
    "{b}", "{b}.", "{b}!", '"{b}"', "'{b}'", "\u201c{b}\u201d", "{b} 'forever'.", "{b} forever", "'Yes' {b}",
    "Yes: {b}", "Yes\u2014{b}", "Yes, {b}", "\n\n{b}", "  {b}  \n", "{b}\n\n{b}", "*{b}*", "Once, {b} now",
    "{b} today?", "Here's {b}", "\"Today\" {b}", "{b} again...", "{b} now\"",
]  # fmt: skip
MARKERS = ["- ", "-  ", "-\t", "* ", "*\t", "  - ", "\t* ", "-", "*", "\u2022 ", "1. ", "**", "---", "\u00a0- "]
PAYLOADS = ['{"a": 1}', '["x", "y"]', "{a: 1}", '"str"', "42", "", '{"k": "\u00e9\u6f22"}']
FENCES = [
    "{p}", "```json\n{p}\n```", "```JSON\n{p}\n```", "```Json\n{p}\n```", "```jsonc\n{p}\n```",
    "```python\n{p}\n```", "```\n{p}\n```", "```json\n{p}", "  ```json {p} ```  ", "\n{p}\n",
]  # fmt: skip
EMPTY = ["", " ", "\n\n", "\t", "\u3000"]


def corpus() -> list[str]:
    """Adversarial answers: case and script variants, quotes, punctuation, lists, fences, empties."""
    answers = [w.format(b=b) for b, w in itertools.product(BODIES, WRAPS)]
    answers += [b.upper() for b in BODIES] + [b.lower() for b in BODIES] + [b.title() for b in BODIES]
    for marker, n, intro in itertools.product(MARKERS, (1, 2, 3, 4), ("", "Facts:\n", "-5 degrees\n")):
        answers.append(intro + "\n".join(f"{marker}item {i}" for i in range(n)))
    answers += [f.format(p=p) for p, f in itertools.product(PAYLOADS, FENCES)]
    return list(dict.fromkeys(answers + EMPTY))


ARGS = {
    "lowercase": [None], "uppercase": [None], "no_commas": [None], "quotes": [None], "json": [None],
    "include_word": ["blue", "warm", "now"], "max_words": [1, 3, 5, 10], "bullets": [1, 2, 3, 4],
    "start_with": ["yes", "today", "once", "here"], "end_with": ["forever", "now", "today", "again"],
}  # fmt: skip
