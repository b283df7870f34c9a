"""The buffer's config (torch-free): prompt selection, pair building and metrics, and the difficulty source."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from spo.errors import ConfigError, require
from spo.plugins import PAIR_BUILDERS, PAIR_METRICS, PREDICTORS, PROMPT_POLICIES, SIGNALS

log = logging.getLogger(__name__)

SAMPLINGS = ("greedy", "weighted")
IMPLICIT_FORMS = ("length_normalized", "dpo")
DIFFICULTY_SOURCES = ("current", "frozen", "file", "predicted")
# difficulty.features, per set: (reads the policy's embedding, adds hashed word n-grams); the text statistics are
# always in (spo.buffer.features)
FEATURE_SETS = {"text": (False, False), "words": (False, True), "policy": (True, False), "policy_words": (True, True)}
FEATURES = tuple(FEATURE_SETS)
HISTORY_USABLE = ("share", "pass_rate")  # spo.buffer.predictors.history.READERS
LEARNED_FITS = ("fixed", "l1_cv")  # spo.buffer.predictors.learned: a fixed L2 penalty, or L1 chosen by cross-validation


@dataclass
class SelectionConfig:
    """Which prompts to keep (``prompts``, a prompt policy) and which pairs to train on.

    ``pair_builder`` turns a prompt's samples into a candidate pair; ``pair_metric`` ranks the
    candidates and keeps the top ``pair_fraction``; ``max_pairs`` then caps the pairs trained per iteration
    (a random subset of those kept), for arms compared at equal pair counts. ``pairs`` is the old name of
    ``pair_metric`` (accepted, with a deprecation warning, for one release).
    """

    prompts: str = "all"
    fraction: float = 0.3
    n_bins: int = 3
    bin: int = 0
    match: str = "drop_hardest"
    signal: str = "reward_gap"
    sampling: str = "greedy"
    pair_samples: int | None = None
    pair_builder: str = "within"
    strong: str | None = None
    weak: str | None = None
    pair_metric: str = "all"
    pairs: str | None = None  # deprecated: pair_metric
    pair_fraction: float = 0.4
    max_pairs: int | None = None
    ap_weight: float = 1.0
    implicit: str = "length_normalized"
    judge_dim: str | None = None
    min_reward_spread: float = 0.0

    def upgrade(self, key: str = "selection") -> None:
        """Move the deprecated ``pairs`` into ``pair_metric``."""
        if self.pairs is None:
            return
        if self.pair_metric not in ("all", self.pairs):
            raise ConfigError(f"{key}.pairs: deprecated name of {key}.pair_metric, and the two disagree")
        log.warning("%s.pairs is deprecated and will be removed; use %s.pair_metric=%s", key, key, self.pairs)
        self.pair_metric, self.pairs = self.pairs, None

    def validate(self, key: str = "selection") -> None:
        PROMPT_POLICIES.check(self.prompts, f"{key}.prompts")
        PROMPT_POLICIES.check(self.match, f"{key}.match")
        require(PROMPT_POLICIES.flag(self.match, "matchable"), f"{key}.match", f"{self.match!r} has no fixed count")
        counted = self.match if self.prompts == "random" else self.prompts
        if PROMPT_POLICIES.flag(counted, "fraction_dropped"):
            require(0 <= self.fraction < 1, f"{key}.fraction", f"must be in [0, 1) for {counted}, got {self.fraction}")
        elif PROMPT_POLICIES.flag(counted, "uses_fraction"):
            require(0 < self.fraction <= 1, f"{key}.fraction", f"must be in (0, 1], got {self.fraction}")
        require(self.n_bins >= 2, f"{key}.n_bins", f"must be >= 2, got {self.n_bins}")
        require(0 <= self.bin < self.n_bins, f"{key}.bin", f"must be in [0, {self.n_bins}), got {self.bin}")
        SIGNALS.check(self.signal, f"{key}.signal")
        require(self.sampling in SAMPLINGS, f"{key}.sampling", f"must be one of {SAMPLINGS}")
        PAIR_METRICS.check(self.pair_metric, f"{key}.pair_metric")
        pf = self.pair_fraction
        require(0 < pf <= 1, f"{key}.pair_fraction", f"must be in (0, 1], got {pf}")
        PAIR_BUILDERS.check(self.pair_builder, f"{key}.pair_builder")
        require(self.implicit in IMPLICIT_FORMS, f"{key}.implicit", f"must be one of {IMPLICIT_FORMS}")
        if PAIR_METRICS.flag(self.pair_metric, "needs_judge_dim"):
            require(self.judge_dim is not None, f"{key}.judge_dim", f"required for pair_metric={self.pair_metric}")
        if self.pair_samples is not None:
            require(self.pair_samples >= 2, f"{key}.pair_samples", f"must be >= 2, got {self.pair_samples}")
        if self.max_pairs is not None:
            require(self.max_pairs >= 1, f"{key}.max_pairs", f"must be >= 1 (or null: no cap), got {self.max_pairs}")
        require(self.min_reward_spread >= 0, f"{key}.min_reward_spread", f"must be >= 0, got {self.min_reward_spread}")

    @property
    def needs_logprobs(self) -> bool:
        """The pair metric reads the policy's log-probs (the metric's own ``needs_logprobs`` flag)."""
        return PAIR_METRICS.flag(self.pair_metric, "needs_logprobs")


@dataclass
class DifficultyConfig:
    """Where difficulty comes from, and which scorer and samples estimate it.

    ``current`` re-estimates it each iteration from that iteration's samples;
    ``frozen`` estimates it once with the initial policy (a difficulty pass over
    every prompt the run will use) and selects *before* generation; ``file``
    reads it from a ``prompts.parquet``/``difficulty.parquet`` or a run directory.

    ``predicted`` predicts it before generating, every iteration, from each prompt's history and a
    model of prompt ``features`` (``predictor``: ``history``, ``learned`` or ``both``). The iteration
    then draws ``oversample`` times ``prompts_per_iteration`` candidates, keeps those the prompt policy
    keeps on predicted difficulty, and generates them in order of predicted probability of a usable
    pair (``explore`` of the slots go to random candidates), in waves, until ``prompts_per_iteration``
    prompts gave a usable pair or the candidates run out. An observation ``k`` policy versions old
    weighs ``discount**k``; the learned model needs ``min_observations``. ``refit=wave`` refits the
    predictor after every wave on what the iteration's prompts gave so far and ranks the rest again (the
    first iteration, with no history, is then ranked from its second wave on); ``iteration`` (the default)
    ranks once. On the pass/fail tiny task wave refits did not lower tokens per trained pair
    (``benchmarks/results/predicted.md``). ``history_usable`` is how a prompt's past gives its chance of a
    usable pair: ``share`` of usable visits, or ``pass_rate`` (a pass/fail pair scorer: a Beta posterior of
    its pass rate; :mod:`spo.buffer.predictors.history`). ``features`` and ``learned_fit`` shape the learned
    model (:mod:`spo.buffer.features`, :mod:`spo.buffer.predictors.learned`). ``prior_runs``: finished runs of the
    same task whose observations join the history from the first iteration on (a predictor warmed on earlier
    logs; :func:`spo.buffer.history.prior_observations`). ``first_samples``: sample that many answers of each
    candidate first, and the rest of ``generator.n_samples`` only for candidates whose first answers give no usable
    pair (a top-up); a candidate whose first answers already spread enough keeps them alone, and trains on the best of
    those few against the worst: on a graded reward, narrower pairs than all ``n_samples`` would give (on SmolLM2 a
    rule margin of 0.46 against 0.53; whether that costs held-out reward was not settled,
    ``benchmarks/results/predicted.md``).
    """

    source: str = "current"
    file: str | None = None
    scorer: str | None = None
    n_samples: int | None = None
    predictor: str = "both"
    features: str = "policy"
    oversample: float = 2.0
    explore: float = 0.1
    discount: float = 0.5
    min_observations: int = 16
    refit: str = "iteration"
    history_usable: str = "share"
    learned_fit: str = "fixed"
    prior_runs: list[str] | None = None
    first_samples: int | None = None

    def validate(self, key: str = "difficulty") -> None:
        require(self.source in DIFFICULTY_SOURCES, f"{key}.source", f"must be one of {DIFFICULTY_SOURCES}")
        if self.source == "file":
            require(self.file is not None, f"{key}.file", "required when difficulty.source=file")
            require(Path(self.file).expanduser().exists(), f"{key}.file", f"no such file or directory: {self.file}")
        if self.n_samples is not None:
            require(self.n_samples >= 1, f"{key}.n_samples", f"must be >= 1, got {self.n_samples}")
        PREDICTORS.check(self.predictor, f"{key}.predictor")
        require(self.features in FEATURES, f"{key}.features", f"must be one of {FEATURES}, got {self.features!r}")
        require(self.oversample >= 1, f"{key}.oversample", f"must be >= 1, got {self.oversample}")
        require(0 <= self.explore <= 1, f"{key}.explore", f"must be in [0, 1], got {self.explore}")
        require(0 < self.discount <= 1, f"{key}.discount", f"must be in (0, 1], got {self.discount}")
        require(self.refit in ("wave", "iteration"), f"{key}.refit", f"must be wave or iteration, got {self.refit!r}")
        require(self.history_usable in HISTORY_USABLE, f"{key}.history_usable",
                f"must be one of {HISTORY_USABLE}, got {self.history_usable!r}")  # fmt: skip
        require(self.learned_fit in LEARNED_FITS, f"{key}.learned_fit",
                f"must be one of {LEARNED_FITS}, got {self.learned_fit!r}")  # fmt: skip
        for run in self.prior_runs or []:
            require(Path(run).expanduser().joinpath("config.yaml").exists(), f"{key}.prior_runs",
                    f"not a run directory (no config.yaml): {run}")  # fmt: skip
        require(not self.prior_runs or not reads_policy(self.features), f"{key}.prior_runs",
                f"another run's prompts carry no embedding by this policy; use difficulty.features=text or words, "
                f"got {self.features!r}")  # fmt: skip
        require(self.min_observations >= 2, f"{key}.min_observations", f"must be >= 2, got {self.min_observations}")
        if self.first_samples is not None:
            require(self.source == "predicted", f"{key}.first_samples", "needs difficulty.source=predicted")
            require(self.first_samples >= 2, f"{key}.first_samples", f"must be >= 2, got {self.first_samples}")


def reads_policy(kind: str) -> bool:
    """Whether feature set ``kind`` includes the policy's embedding of the prompt."""
    return FEATURE_SETS[kind][0]
