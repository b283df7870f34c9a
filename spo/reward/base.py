"""The reward interfaces: a :class:`Scorer` gives one reward per sample, a :class:`Judge` per-dimension
scores. Every backend checks its own config section and builds its own constructor arguments."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from spo.errors import require
from spo.paths import require_model


@dataclass(frozen=True)
class ScorerContext:
    """What a scorer may need from the run beyond its own section: the policy and its engine backend."""

    policy_path: str
    engine: str = "hf"


class RewardBackend:
    """Config hooks every reward backend has; flags: ``is_judge``, and ``conversational``: the backend
    reads the whole conversation (a message list, see :mod:`spo.chat`) where a prompt has earlier turns;
    otherwise it gets the last user turn as a string (what rule rewards check)."""

    is_judge = False
    conversational = False

    @classmethod
    def check_config(cls, sc, key: str) -> None:
        """Raise a ConfigError naming ``key.<field>`` if the section ``sc`` cannot build this backend."""

    @classmethod
    def kwargs(cls, sc, ctx: ScorerContext) -> dict:
        """Constructor arguments from the section ``sc``."""
        return {}

    @staticmethod
    def require_path(sc, key: str, what: str) -> None:
        require(bool(sc.path), f"{key}.path", f"a {what} needs a checkpoint path")
        require_model(sc.path, f"{key}.path")

    @staticmethod
    def local(path: str) -> str:
        return str(Path(path).expanduser())


class Scorer(RewardBackend, ABC):
    """Maps (prompt, response) pairs to scalar rewards; higher is better."""

    @abstractmethod
    def score(self, prompts: list, responses: list[str], finish_reasons: list[str] | None = None) -> list[float]:
        """One reward per (prompt, response); NaN marks a reward that could not be computed.

        ``finish_reasons`` (``stop`` or ``length``, per response) lets a scorer penalise truncation.
        """


class Judge(RewardBackend, ABC):
    """Scores each sample on named dimensions (its reward is their mean)."""

    is_judge = True
    dimensions: list[str]

    @classmethod
    def check_config(cls, sc, key: str) -> None:
        require(bool(sc.dimensions), f"{key}.dimensions", "a judge needs at least one dimension")

    @abstractmethod
    def judge(self, prompts: list[str], responses: list[str]) -> dict[str, list[int | None]]:
        """One list per dimension, aligned with the samples; None where no score was obtained."""
