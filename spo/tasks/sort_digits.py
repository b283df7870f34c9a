"""The embedded toy task: sort a list of digits.

A prompt reads ``sort: 7 3 9 1`` and the ideal response is ``1 3 7 9``. The
reward is the fraction of positions that match the sorted list, counted over
the longer of the two, so it is graded rather than binary. Longer lists are
harder, which gives the prompts a real spread of difficulty.
"""

from __future__ import annotations

import hashlib
import random

PREFIX = "sort:"


def make_prompt(digits: list[int]) -> str:
    """Render a digit list as a prompt."""
    return f"{PREFIX} " + " ".join(str(d) for d in digits)


def solution(prompt: str) -> str:
    """The correct response to a prompt."""
    return " ".join(str(d) for d in sorted(_digits(prompt)))


def _digits(prompt: str) -> list[int]:
    body = prompt.strip()
    if not body.startswith(PREFIX):
        raise ValueError(f"not a sort_digits prompt: {prompt!r}")
    return [int(t) for t in body[len(PREFIX) :].split()]


def reward(prompt: str, response: str) -> float:
    """Fraction of positions where the response matches the sorted digits."""
    target = solution(prompt).split()
    got = response.split()
    hits = sum(a == b for a, b in zip(target, got))
    return hits / max(len(target), len(got))


def exact_reward(prompt: str, response: str) -> float:
    """1.0 if the response is exactly the sorted digits, else 0.0: the pass/fail form of :func:`reward`.

    Short lists are almost always solved and long ones almost never, so most prompts' N samples all tie
    and give no pair: the regime where predicting a prompt's outcome before generating it can pay.
    """
    return float(response.split() == solution(prompt).split())


def generate_prompts(n: int, seed: int, min_len: int, max_len: int) -> list[dict]:
    """``n`` distinct prompts with ids, lengths drawn uniformly in [min_len, max_len]."""
    rng = random.Random(seed)
    seen: set[str] = set()
    rows = []
    while len(rows) < n:
        length = rng.randint(min_len, max_len)
        prompt = make_prompt([rng.randint(0, 9) for _ in range(length)])
        if prompt in seen:
            continue
        seen.add(prompt)
        rows.append({"prompt_id": f"sort-{seed}-{len(rows):06d}", "prompt": prompt})
    return rows


def edit_reward(prompt: str, response: str) -> float:
    """1 - normalised Levenshtein distance between the response and the sorted digits (by token).

    A second, differently shaped scorer for the same task: it forgives a shifted
    run of correct digits that the positional :func:`reward` counts as wrong.
    """
    target = solution(prompt).split()
    got = response.split()
    prev = list(range(len(got) + 1))
    for i, t in enumerate(target, start=1):
        cur = [i] + [0] * len(got)
        for j, g in enumerate(got, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (t != g))
        prev = cur
    return 1.0 - prev[-1] / max(len(target), len(got))


def judge(prompt: str, response: str) -> dict[str, int]:
    """A rule-based stand-in for an LLM judge: 1-5 scores on two dimensions.

    ``correctness`` grows with the positional reward; ``length`` falls with the
    difference between the response's and the answer's digit counts.
    """
    target, got = solution(prompt).split(), response.split()
    return {
        "correctness": 1 + round(4 * reward(prompt, response)),
        "length": 5 - min(4, abs(len(target) - len(got))),
    }


NOISY_JUDGE_SD = 0.15


def noisy_judge(prompt: str, response: str) -> dict[str, int]:
    """A judge that knows the gold with its own independent error: ``correctness`` is ``1 + round(4 * r)``
    for ``r`` the gold reward plus Gaussian noise (sd ``NOISY_JUDGE_SD``), clipped to [0, 1]. The noise is
    a fixed function of the (prompt, response) text, so a judge's verdict is repeatable across runs and
    independent of any reward model's errors."""
    digest = hashlib.blake2b(f"{prompt}\x00{response}".encode(), digest_size=8).digest()
    noisy = reward(prompt, response) + random.Random(digest).gauss(0.0, NOISY_JUDGE_SD)
    return {"correctness": 1 + round(4 * min(1.0, max(0.0, noisy)))}


def prompts(task) -> list[dict]:
    """The task's ``n_train + n_heldout`` prompts (the ``sort_digits`` entry of ``spo.plugins.TASKS``)."""
    return generate_prompts(task.n_train + task.n_heldout, task.seed, task.min_len, task.max_len)
