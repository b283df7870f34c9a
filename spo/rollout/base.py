"""The engine interface (``generator.engine``; entries in :data:`spo.plugins.ENGINES`).

An engine turns prompts into samples with the current policy and accepts new weights.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class SamplingParams:
    """How to sample: ``n`` responses per prompt."""

    n: int
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64
    seed: int = 0


@dataclass
class Completion:
    """One sampled response and what the engine knows about it. ``logprob_sum``: the log-prob of the answer as
    the learner scores it, its sampled tokens followed by EOS (for an answer cut at the length limit, the EOS
    it never sampled), when the tokens are what ``text`` encodes to (see :func:`text_logprob`); ``None``
    when the engine cannot give it."""

    text: str
    n_tokens: int
    logprob_sum: float | None
    finish_reason: str  # "stop" or "length"


def text_logprob(tokenizer, text: str, sampled: list[int], logprob: float, stopped: bool) -> float | None:
    """``logprob`` if ``text`` (with EOS when the answer stopped) re-encodes to the ``sampled`` tokens, else
    ``None``: a decoded answer need not re-encode to what was sampled (a byte-level token that is not valid
    UTF-8 alone, say), and a log-prob would then describe tokens that no later pass over the text sees."""
    again = tokenizer(text + (tokenizer.eos_token if stopped else ""), add_special_tokens=False)["input_ids"]
    return float(logprob) if again == [int(t) for t in sampled] else None


class Engine(ABC):
    """Samples from a causal LM and takes weight updates in place."""

    @abstractmethod
    def generate(self, prompts: list[str | list[dict]], sampling: SamplingParams) -> list[list[Completion]]:
        """Return ``sampling.n`` completions for each prompt (a user turn, or a conversation ending in one:
        see :mod:`spo.chat`), in prompt order."""

    @abstractmethod
    def load_weights(self, named_tensors: Iterable[tuple[str, torch.Tensor]]) -> None:
        """Replace the policy's parameters with ``named_tensors``."""

    def embed(self, prompts: list[str | list[dict]]) -> np.ndarray:
        """One vector per prompt: the policy's own reading of it (for difficulty prediction)."""
        raise NotImplementedError(
            f"the {type(self).__name__} engine cannot read prompt embeddings; use difficulty.features=text"
        )

    # The generic hook for weight transports (spo.sync): run ``fn(sink, local_rank, *args)`` in every
    # process that holds this engine's weights. Here that is this process, and the sink is the engine.
    # An engine with worker processes (vLLM) runs it in each worker. Engines know nothing of transports.
    def receivers(self) -> int:
        """How many processes hold this engine's weights."""
        return 1

    def call_receivers(self, fn: Callable, *args) -> list:
        """``fn(sink, local_rank, *args)`` in each receiving process; returns the results in rank order."""
        return [fn(self, 0, *args)]
