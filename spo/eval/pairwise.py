"""A pairwise generative judge for win rates, asked twice with the answers' positions swapped.

The judge sees the prompt (a multi-turn one as its transcript) and two answers labelled A and B, and
replies with a letter.
Each comparison is asked in both orders. A win needs both orders to prefer the
candidate, a loss needs both to prefer the baseline, and anything else (disagreement,
which is position bias, or an unparsable reply) counts as a tie, that is, half.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow.parquet as pq

from spo.chat import row_conversation, transcript
from spo.eval.heldout import match_baseline
from spo.eval.winrate import win_rate_report
from spo.plugins import ENGINES
from spo.rollout.base import SamplingParams

PROMPT = (
    "Which response answers the prompt better? Reply with the single letter A or B.\n\n"
    "PROMPT:\n{prompt}\n\nRESPONSE A:\n{a}\n\nRESPONSE B:\n{b}"
)


def parse_choice(reply: str) -> str | None:
    """'A' or 'B' from the reply's first standalone letter (``Response B``, ``**A**``, ``B.``), else None."""
    m = re.search(r"(?<![A-Za-z])([AB])(?![A-Za-z])", reply)
    return m.group(1) if m else None


def combine(first: list[str | None], second: list[str | None]) -> np.ndarray:
    """Outcomes for the candidate: it was A in ``first`` and B in ``second``."""
    out = []
    for x, y in zip(first, second):
        if x == "A" and y == "B":
            out.append(1.0)
        elif x == "B" and y == "A":
            out.append(0.0)
        else:
            out.append(0.5)
    return np.array(out)


class PairwiseJudge:
    """A generative model behind an engine, comparing two answers per prompt."""

    def __init__(self, path: str, engine: str = "hf", max_new_tokens: int = 8, trust_remote_code: bool = False):
        self.engine = ENGINES.get(engine)(model_path=path, trust_remote_code=trust_remote_code)
        self.max_new_tokens = max_new_tokens

    def _ask(self, prompts: list, a: list[str], b: list[str]) -> list[str | None]:
        queries = [PROMPT.format(prompt=transcript(p), a=x, b=y) for p, x, y in zip(prompts, a, b)]
        sampling = SamplingParams(n=1, temperature=0.0, max_new_tokens=self.max_new_tokens)
        return [parse_choice(c[0].text) for c in self.engine.generate(queries, sampling)]

    def compare(self, prompts: list, candidate: list[str], baseline: list[str]) -> np.ndarray:
        """1 / 0.5 / 0 per prompt, with positions swapped between the two asks."""
        return combine(self._ask(prompts, candidate, baseline), self._ask(prompts, baseline, candidate))

    def compare_files(self, candidate_path: str, baseline_path: str) -> dict:
        """Win rates of the candidate answers in one Parquet file against the baseline's in another.

        Answers pair as in :func:`~spo.eval.heldout.match_baseline`.
        """
        pairs = match_baseline(pq.read_table(candidate_path).to_pylist(), pq.read_table(baseline_path).to_pylist())
        y = self.compare([row_conversation(c) for c, _ in pairs], [c["response"] for c, _ in pairs],
                         [b["response"] for _, b in pairs])  # fmt: skip
        # win_rate_report turns scores into outcomes; outcomes 1/0.5/0 against 0.5 map back to themselves
        report = win_rate_report(y, np.full(len(y), 0.5), np.array([c["n_tokens"] for c, _ in pairs]),
                                 np.array([b["n_tokens"] for _, b in pairs]))  # fmt: skip
        return {f"{k}/pairwise": v for k, v in report.items()}
