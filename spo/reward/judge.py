"""Judges: per-dimension integer scores (1-5) for sample-level quality deltas.

``judge`` prompts a generative model (any engine backend) with a rubric that lists
the dimensions, and parses its reply robustly (``dim: 4``, ``dim = 4``, ``**Dim**: 4/5``
or a JSON object). Dimensions that do not parse are asked for once more, with sampling;
whatever still does not parse is recorded as missing (None), never as zero.

``rule_judge`` (:mod:`spo.reward.rule_judge`) calls a Python function instead.
"""

from __future__ import annotations

import json
import re

from spo.chat import transcript
from spo.plugins import ENGINES
from spo.reward.base import Judge
from spo.rollout.base import SamplingParams

RUBRIC = (
    "You are a strict grader. Rate the RESPONSE to the PROMPT on each dimension from 1 (poor) to 5 "
    "(excellent). Reply with one line per dimension, exactly as 'name: score'.\n"
    "Dimensions: {dims}\n\nPROMPT:\n{prompt}\n\nRESPONSE:\n{response}"
)


def parse_scores(reply: str, dimensions: list[str]) -> dict[str, int | None]:
    """Integer scores in [1, 5] per dimension found in ``reply``; None for the rest."""
    found: dict[str, int | None] = dict.fromkeys(dimensions)
    start, end = reply.find("{"), reply.rfind("}")
    if 0 <= start < end:
        try:
            obj = {str(k).lower(): v for k, v in json.loads(reply[start : end + 1]).items()}
            for d in dimensions:
                v = obj.get(d.lower())
                if isinstance(v, (int, float)) and float(v).is_integer() and 1 <= v <= 5:
                    found[d] = int(v)
        except (json.JSONDecodeError, AttributeError):
            pass
    for d in dimensions:
        if found[d] is None:
            pattern = rf"\*{{0,2}}{re.escape(d).replace('_', '[ _-]')}\*{{0,2}}\s*[:=\-]\s*\**\s*([1-5])(?:\s*/\s*5)?\b"
            m = re.search(pattern, reply, flags=re.IGNORECASE)
            if m:
                found[d] = int(m.group(1))
    return found


class GenerativeJudge(Judge):
    """A causal LM behind an engine, prompted with :data:`RUBRIC` (a conversation as its transcript)."""

    conversational = True

    @classmethod
    def check_config(cls, sc, key):
        super().check_config(sc, key)
        cls.require_path(sc, key, "judge (a generative model)")

    @classmethod
    def kwargs(cls, sc, ctx):
        return {"path": cls.local(sc.path), "dimensions": list(sc.dimensions), "engine": ctx.engine,
                "max_new_tokens": sc.max_new_tokens, "trust_remote_code": sc.trust_remote_code}  # fmt: skip

    def __init__(self, path: str, dimensions: list[str], engine: str = "hf", max_new_tokens: int = 64,
                 trust_remote_code: bool = False, **_: object):  # fmt: skip
        if not dimensions:
            raise ValueError("judge scorer: 'dimensions' must list at least one dimension")
        self.dimensions = list(dimensions)
        self.engine = ENGINES.get(engine)(model_path=path, trust_remote_code=trust_remote_code)
        self.max_new_tokens = max_new_tokens

    def _ask(self, prompts: list[str], responses: list[str], temperature: float, seed: int) -> list[str]:
        dims = ", ".join(self.dimensions)
        queries = [RUBRIC.format(dims=dims, prompt=transcript(p), response=r) for p, r in zip(prompts, responses)]
        sampling = SamplingParams(n=1, temperature=temperature, max_new_tokens=self.max_new_tokens, seed=seed)
        return [c[0].text for c in self.engine.generate(queries, sampling)]

    def judge(self, prompts: list[str], responses: list[str]) -> dict[str, list[int | None]]:
        parsed = [parse_scores(r, self.dimensions) for r in self._ask(prompts, responses, 0.0, 0)]
        retry = [i for i, p in enumerate(parsed) if None in p.values()]
        if retry:
            replies = self._ask([prompts[i] for i in retry], [responses[i] for i in retry], 0.7, 1)
            for i, reply in zip(retry, replies):
                again = parse_scores(reply, self.dimensions)
                parsed[i] = {d: parsed[i][d] if parsed[i][d] is not None else again[d] for d in self.dimensions}
        return {d: [p[d] for p in parsed] for d in self.dimensions}
