"""Typed configuration: dataclasses registered in Hydra's ConfigStore, plus validation.

Hydra rejects unknown keys against these schemas; :func:`validate` checks values
and files, naming the offending key, before any actor starts.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError

BUILTIN_TASKS = ("sort_digits", "ifeval_lite")


class ConfigError(ValueError):
    """An invalid configuration; the message names the key."""


@dataclass
class ModelConfig:
    """The policy. ``path`` names an HF checkpoint directory; ``tiny`` builds one locally."""

    name: str = "tiny"
    path: str | None = None
    trust_remote_code: bool = False
    tiny_hidden_size: int = 128
    tiny_num_layers: int = 2
    tiny_sft_steps: int = 150


@dataclass
class TaskConfig:
    """Where prompts come from: a built-in generator or a JSONL/Parquet file.

    Built-in generators: ``sort_digits`` (``min_len``..``max_len`` digits) and ``ifeval_lite``
    (a writing task with 1..``max_constraints`` checkable instructions).

    A prompt that is empty or longer than ``max_prompt_tokens`` (chat template included)
    is an error, or, with ``on_bad_prompt=drop``, dropped and counted.
    """

    name: str = "sort_digits"
    prompts_file: str | None = None
    heldout_file: str | None = None
    n_train: int = 2000
    n_heldout: int = 128
    min_len: int = 2
    max_len: int = 8
    max_constraints: int = 3
    seed: int = 7
    max_prompt_tokens: int = 512
    on_bad_prompt: str = "error"


@dataclass
class ScorerConfig:
    """One reward source: ``rule``, ``sequence_classifier``, ``judge`` (generative, per-dimension 1-5
    scores from a rubric) or ``rule_judge`` (a Python function returning per-dimension scores)."""

    backend: str = "rule"
    fn: str | None = None
    path: str | None = None
    trust_remote_code: bool = False
    chat_template: str = "policy"
    batch_size: int = 32
    num_workers: int = 1
    dimensions: list[str] = field(default_factory=list)
    max_new_tokens: int = 64


@dataclass
class RewardConfig:
    """The scorers, keyed by name; ``primary`` drives difficulty and pairs.

    A sample whose scorer raised or returned NaN/inf is quarantined; the run stops once the
    quarantined share of an iteration's samples exceeds ``max_failure_fraction``.
    """

    scorers: dict[str, ScorerConfig] = field(default_factory=dict)
    primary: str = MISSING
    max_failure_fraction: float = 0.05


@dataclass
class PoolConfig:
    """An extra, fixed generator pool (not trained): another model that also answers every prompt.

    ``path`` names an HF checkpoint; without it a tiny model is built with the ``tiny_*`` sizes.
    """

    path: str | None = None
    tiny_hidden_size: int = 128
    tiny_num_layers: int = 2
    tiny_sft_steps: int = 150
    num_workers: int = 1


@dataclass
class GeneratorConfig:
    """Rollout engine and sampling; ``extra_pools`` adds fixed models beside the policy.

    ``engine_kwargs`` go to the engine as they are (for vLLM: ``tensor_parallel_size``,
    ``gpu_memory_utilization``, ``dtype``, ``max_model_len``...).
    """

    engine: str = "hf"
    num_workers: int = 1
    n_samples: int = 4
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 24
    chunk_size: int = 32
    extra_pools: dict[str, PoolConfig] = field(default_factory=dict)
    engine_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class SelectionConfig:
    """Which prompts to keep and how to build pairs (see ``spo.buffer.selection``)."""

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
    pairs: str = "all"
    pair_fraction: float = 0.4
    ap_weight: float = 1.0
    implicit: str = "length_normalized"
    judge_dim: str | None = None


@dataclass
class DifficultyConfig:
    """Where difficulty comes from, and which scorer and samples estimate it.

    ``current`` re-estimates it each iteration from that iteration's samples;
    ``frozen`` estimates it once with the initial policy (a difficulty pass over
    every prompt the run will use) and selects *before* generation; ``file``
    reads it from a ``prompts.parquet``/``difficulty.parquet`` or a run directory.
    """

    source: str = "current"
    file: str | None = None
    scorer: str | None = None
    n_samples: int | None = None


@dataclass
class LossParams:
    """The loss hyper-parameters (see :mod:`spo.learner.losses`); the learner config carries them."""

    beta: float = 0.1
    label_smoothing: float = 0.0
    gamma: float = 0.5
    desirable_weight: float = 1.0
    undesirable_weight: float = 1.0
    nll_weight: float = 0.0


@dataclass
class LearnerConfig(LossParams):
    """The DeepSpeed learner group and its loss (plus the loss hyper-parameters of :class:`LossParams`)."""

    loss: str = "dpo"
    lr: float = 1e-4
    weight_decay: float = 0.0
    epochs: int = 2
    micro_batch_size: int = 8
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    warmup_steps: int = 0
    zero_stage: int = 2
    num_ranks: int = 2
    reference: str = "iteration_start"


@dataclass
class SyncConfig:
    """How new weights reach the generators: ``object_store`` (CPU), ``nccl`` (GPU: bucketed broadcast
    from learner rank 0 to every engine, ``bucket_mb`` per bucket), ``gloo`` (the same on CPU), or
    ``disk`` (a safetensors checkpoint in ``disk_dir``, which the learner and every generator can read)."""

    transport: str = "object_store"
    bucket_mb: float = 256.0
    disk_dir: str | None = None


@dataclass
class ClusterConfig:
    """Ray connection and per-role resources (CPUs are logical Ray resources).

    A dead generator or scorer actor is restarted up to ``max_restarts`` times, and the
    chunks it held are run again. ``*_gpus`` are GPUs per actor (a vLLM engine needs its
    ``tensor_parallel_size``); roles never share a GPU (whole GPUs only) unless ``colocate``.
    """

    address: str | None = None
    num_cpus: int | None = None
    generator_cpus: float = 1.0
    scorer_cpus: float = 0.25
    learner_cpus: float = 0.25
    buffer_cpus: float = 0.0
    generator_threads: int = 2
    learner_threads: int = 1
    scorer_threads: int = 1
    max_restarts: int = 3
    generator_gpus: float = 0.0
    scorer_gpus: float = 0.0
    learner_gpus: float = 0.0
    colocate: bool = False


@dataclass
class EvalConfig:
    """In-loop held-out evaluation with fixed sampling.

    ``judge`` names the scorer that decides win rates (default: ``reward.primary``);
    ``baseline`` is ``initial`` (the iteration-0 policy's answers) or a JSONL file of
    reference answers (``prompt_id``, ``answer``) covering every held-out prompt.
    ``pairwise_judge`` names a generative model that also compares each answer with the
    baseline's, pairwise, in both orders (``win_rate/pairwise``).
    """

    n_samples: int = 2
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 1234
    judge: str | None = None
    baseline: str = "initial"
    pairwise_judge: str | None = None


@dataclass
class TrackingConfig:
    """Live metric trackers beside ``metrics.jsonl``: any of tensorboard, wandb, mlflow."""

    backends: list[str] = field(default_factory=lambda: ["tensorboard"])
    project: str = "spo"


@dataclass
class Config:
    """The whole run. ``resume`` names a run directory to continue (see :mod:`spo.run_state`)."""

    run_name: str = "default"
    run_dir: str = MISSING
    resume: str | None = None
    cache_dir: str = "~/.cache/spo"
    seed: int = 0
    iterations: int = 3
    prompts_per_iteration: int = 256
    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    difficulty: DifficultyConfig = field(default_factory=DifficultyConfig)
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


def register() -> None:
    """Register the schemas so that ``conf/config.yaml`` is validated against them."""
    ConfigStore.instance().store(name="spo_schema", node=Config)


def to_config(dcfg: DictConfig) -> Config:
    """Re-check a composed config against the schema (Hydra's ``+key=`` bypasses it) and type it."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.to_container(dcfg, resolve=False))
        return OmegaConf.to_object(merged)
    except ConfigKeyError as exc:
        raise ConfigError(f"{exc.full_key}: no such config key") from exc


def _require(cond: bool, key: str, msg: str) -> None:
    if not cond:
        raise ConfigError(f"{key}: {msg}")


def validate(cfg: Config) -> None:
    """Check values that the schema cannot express; raise :class:`ConfigError` naming the key."""
    from spo.learner.losses import LOSSES
    from spo.reward.base import SCORERS
    from spo.rollout.base import ENGINES
    from spo.sync.base import TRANSPORTS

    _require(cfg.iterations >= 1, "iterations", f"must be >= 1, got {cfg.iterations}")
    _require(cfg.prompts_per_iteration >= 1, "prompts_per_iteration", "must be >= 1")
    t = cfg.task
    _require(t.on_bad_prompt in ("error", "drop"), "task.on_bad_prompt", f"must be error|drop, got {t.on_bad_prompt!r}")
    _require(t.max_prompt_tokens >= 1, "task.max_prompt_tokens", f"must be >= 1, got {t.max_prompt_tokens}")
    _require(
        0 <= cfg.reward.max_failure_fraction <= 1,
        "reward.max_failure_fraction",
        f"must be in [0, 1], got {cfg.reward.max_failure_fraction}",
    )
    _require(cfg.cluster.max_restarts >= 0, "cluster.max_restarts", "must be >= 0")
    for role in ("generator", "scorer", "learner"):
        gpus = getattr(cfg.cluster, f"{role}_gpus")
        _require(gpus >= 0, f"cluster.{role}_gpus", f"must be >= 0, got {gpus}")
        _require(
            cfg.cluster.colocate or gpus == int(gpus),
            f"cluster.{role}_gpus",
            f"{gpus} is a fraction of a GPU, which would share it with another role; use whole GPUs or "
            "set cluster.colocate=true",
        )
    tp = cfg.generator.engine_kwargs.get("tensor_parallel_size", 1)
    if cfg.generator.engine == "vllm" and cfg.cluster.generator_gpus:
        _require(
            cfg.cluster.generator_gpus >= tp,
            "cluster.generator_gpus",
            f"each vLLM engine needs tensor_parallel_size={tp} GPUs, got {cfg.cluster.generator_gpus}",
        )
    _require(cfg.learner.warmup_steps >= 0, "learner.warmup_steps", "must be >= 0")
    g = cfg.generator
    _require(g.n_samples >= 2, "generator.n_samples", f"must be >= 2 to build pairs, got {g.n_samples}")
    _require(g.engine in ENGINES, "generator.engine", f"unknown engine {g.engine!r}; known: {sorted(ENGINES)}")
    _require(g.num_workers >= 1, "generator.num_workers", "must be >= 1")
    _require(0 < g.top_p <= 1, "generator.top_p", f"must be in (0, 1], got {g.top_p}")
    _require(g.temperature > 0, "generator.temperature", f"must be > 0, got {g.temperature}")
    _require(g.max_new_tokens >= 1, "generator.max_new_tokens", "must be >= 1")
    _require(g.chunk_size >= 1, "generator.chunk_size", "must be >= 1")
    lr = cfg.learner
    _require(lr.beta > 0, "learner.beta", f"must be > 0, got {lr.beta}")
    _require(lr.lr > 0, "learner.lr", f"must be > 0, got {lr.lr}")
    _require(lr.loss in LOSSES, "learner.loss", f"unknown loss {lr.loss!r}; known: {sorted(LOSSES)}")
    _require(0 <= lr.label_smoothing < 0.5, "learner.label_smoothing", f"must be in [0, 0.5), got {lr.label_smoothing}")
    _require(lr.gamma >= 0, "learner.gamma", f"must be >= 0, got {lr.gamma}")
    _require(lr.nll_weight >= 0, "learner.nll_weight", f"must be >= 0, got {lr.nll_weight}")
    _require(
        lr.desirable_weight > 0 and lr.undesirable_weight > 0,
        "learner.desirable_weight",
        "KTO weights must be > 0",
    )
    _require(lr.zero_stage in (0, 1, 2, 3), "learner.zero_stage", f"must be 0-3, got {lr.zero_stage}")
    _require(lr.num_ranks >= 1, "learner.num_ranks", "must be >= 1")
    _require(lr.micro_batch_size >= 1, "learner.micro_batch_size", "must be >= 1")
    _require(
        lr.reference in ("iteration_start", "initial"),
        "learner.reference",
        f"must be 'iteration_start' or 'initial', got {lr.reference!r}",
    )
    _require(cfg.sync.transport in TRANSPORTS, "sync.transport", f"unknown transport {cfg.sync.transport!r}")
    _require(cfg.sync.bucket_mb > 0, "sync.bucket_mb", f"must be > 0, got {cfg.sync.bucket_mb}")
    if cfg.sync.transport == "disk":
        _require(bool(cfg.sync.disk_dir), "sync.disk_dir", "required for sync.transport=disk (shared storage)")
    _validate_selection(cfg)
    from spo.tracking import check_backends

    check_backends(list(cfg.tracking.backends))
    _require(bool(cfg.reward.scorers), "reward.scorers", "at least one scorer is required")
    _require(
        cfg.reward.primary in cfg.reward.scorers,
        "reward.primary",
        f"{cfg.reward.primary!r} is not one of reward.scorers {sorted(cfg.reward.scorers)}",
    )
    for name, sc in cfg.reward.scorers.items():
        key = f"reward.scorers.{name}"
        _require("/" not in name, key, "scorer names may not contain '/'")
        _require(sc.backend in SCORERS, f"{key}.backend", f"unknown backend {sc.backend!r}; known: {sorted(SCORERS)}")
        if sc.backend in ("rule", "rule_judge"):
            _require(bool(sc.fn), f"{key}.fn", "a rule scorer needs fn: 'module:function'")
            _require(_importable(sc.fn), f"{key}.fn", f"cannot import {sc.fn!r} (expected 'module:function')")
        if sc.backend in ("judge", "rule_judge"):
            _require(bool(sc.dimensions), f"{key}.dimensions", "a judge needs at least one dimension")
        if sc.backend == "judge":
            _require(bool(sc.path), f"{key}.path", "a judge needs the path of a generative model")
        if sc.backend in ("sequence_classifier", "judge"):
            _require(bool(sc.path), f"{key}.path", f"a {sc.backend} scorer needs a checkpoint path")
            _require(_is_model_dir_or_hub_id(sc.path), f"{key}.path", _missing_model_message(sc.path))
    judges = [n for n, sc in cfg.reward.scorers.items() if sc.backend in ("judge", "rule_judge")]
    _require(len(judges) <= 1, "reward.scorers", f"at most one judge scorer, got {judges}")
    _require(cfg.reward.primary not in judges, "reward.primary", "a judge cannot be the primary reward")
    if cfg.model.path is not None:
        _require(_is_model_dir_or_hub_id(cfg.model.path), "model.path", _missing_model_message(cfg.model.path))
    for name, pool in cfg.generator.extra_pools.items():
        if pool.path is not None:
            key = f"generator.extra_pools.{name}.path"
            _require(_is_model_dir_or_hub_id(pool.path), key, _missing_model_message(pool.path))
    if cfg.eval.judge is not None:
        _require(cfg.eval.judge in cfg.reward.scorers, "eval.judge", f"unknown scorer {cfg.eval.judge!r}")
    if cfg.eval.pairwise_judge is not None:
        key, path = "eval.pairwise_judge", cfg.eval.pairwise_judge
        _require(_is_model_dir_or_hub_id(path), key, _missing_model_message(path))
    if cfg.eval.baseline != "initial":
        _require(Path(cfg.eval.baseline).expanduser().is_file(), "eval.baseline", f"no such file: {cfg.eval.baseline}")
    if cfg.task.name not in BUILTIN_TASKS:
        _require(cfg.task.prompts_file is not None, "task.prompts_file", f"required for task {cfg.task.name!r}")
        _require(cfg.task.heldout_file is not None, "task.heldout_file", f"required for task {cfg.task.name!r}")
    for key, value in (("task.prompts_file", cfg.task.prompts_file), ("task.heldout_file", cfg.task.heldout_file)):
        if value is not None:
            _require(Path(value).expanduser().is_file(), key, f"no such file: {value}")


def _importable(spec: str) -> bool:
    from spo.registry import import_object

    try:
        return callable(import_object(spec))
    except (ImportError, AttributeError, ValueError):
        return False


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _is_model_dir_or_hub_id(path: str) -> bool:
    if Path(path).expanduser().is_dir():
        return True
    return bool(_HUB_ID.match(path)) and os.environ.get("HF_HUB_OFFLINE", "0") in ("0", "", "false")


def _missing_model_message(path: str) -> str:
    if _HUB_ID.match(path):
        return f"no such directory: {path} (a hub id is accepted only when HF_HUB_OFFLINE is unset)"
    return f"no such directory: {path}"


def _validate_selection(cfg: Config) -> None:
    from spo.buffer.pair_metrics import NEEDS_LOGPROBS, PAIR_METRICS
    from spo.buffer.pairs import PAIR_BUILDERS
    from spo.buffer.selection import POLICIES, PRE_COUNT_POLICIES, SAMPLINGS, SIGNALS

    sel, diff, n = cfg.selection, cfg.difficulty, cfg.generator.n_samples
    _require(sel.prompts in POLICIES, "selection.prompts", f"unknown policy {sel.prompts!r}; known: {sorted(POLICIES)}")
    if sel.prompts == "drop_hardest" or (sel.prompts == "random" and sel.match == "drop_hardest"):
        _require(0 <= sel.fraction < 1, "selection.fraction", f"must be in [0, 1) for drop_hardest, got {sel.fraction}")
    elif sel.prompts != "all":
        _require(0 < sel.fraction <= 1, "selection.fraction", f"must be in (0, 1], got {sel.fraction}")
    _require(sel.n_bins >= 2, "selection.n_bins", f"must be >= 2, got {sel.n_bins}")
    _require(0 <= sel.bin < sel.n_bins, "selection.bin", f"must be in [0, {sel.n_bins}), got {sel.bin}")
    _require(sel.match in PRE_COUNT_POLICIES, "selection.match", f"must be one of {PRE_COUNT_POLICIES}")
    _require(sel.signal in SIGNALS, "selection.signal", f"unknown signal {sel.signal!r}; known: {SIGNALS}")
    _require(sel.sampling in SAMPLINGS, "selection.sampling", f"must be one of {SAMPLINGS}")
    _require(sel.pairs in PAIR_METRICS, "selection.pairs", f"unknown metric {sel.pairs!r}; known: {PAIR_METRICS}")
    _require(0 < sel.pair_fraction <= 1, "selection.pair_fraction", f"must be in (0, 1], got {sel.pair_fraction}")
    _require(
        sel.pair_builder in PAIR_BUILDERS,
        "selection.pair_builder",
        f"unknown pair builder {sel.pair_builder!r}; known: {PAIR_BUILDERS}",
    )
    pools = [cfg.model.name, *cfg.generator.extra_pools]
    _require(len(set(pools)) == len(pools), "generator.extra_pools", f"pool names must differ from model.name {pools}")
    if sel.pair_builder == "cross":
        for key in ("strong", "weak"):
            value = getattr(sel, key)
            _require(value in pools, f"selection.{key}", f"must name a generator pool, one of {pools}; got {value!r}")
        _require(sel.strong != sel.weak, "selection.weak", "must differ from selection.strong")
    _require(sel.implicit in ("length_normalized", "dpo"), "selection.implicit", "must be length_normalized or dpo")
    if sel.implicit == "dpo" and sel.pairs in NEEDS_LOGPROBS:
        _require(
            cfg.learner.reference == "initial",
            "selection.implicit",
            "dpo needs learner.reference=initial: with iteration_start the policy still equals the reference "
            "when pairs are selected, so every DPO implicit margin would be 0",
        )
        _require(
            cfg.learner.loss != "simpo",
            "selection.implicit",
            "dpo needs a reference model, and learner.loss=simpo is reference-free; use length_normalized",
        )
    if sel.pairs == "judge_delta":
        _require(sel.judge_dim is not None, "selection.judge_dim", "required for selection.pairs=judge_delta")
    if sel.pair_samples is not None:
        _require(2 <= sel.pair_samples <= n, "selection.pair_samples", f"must be in [2, generator.n_samples={n}]")
    _require(diff.source in ("current", "frozen", "file"), "difficulty.source", "must be current, frozen or file")
    if diff.source == "file":
        _require(diff.file is not None, "difficulty.file", "required when difficulty.source=file")
        _require(Path(diff.file).expanduser().exists(), "difficulty.file", f"no such file or directory: {diff.file}")
    if diff.scorer is not None:
        _require(
            diff.scorer in cfg.reward.scorers,
            "difficulty.scorer",
            f"unknown scorer {diff.scorer!r}; known: {sorted(cfg.reward.scorers)}",
        )
    if diff.n_samples is not None:
        _require(1 <= diff.n_samples <= n, "difficulty.n_samples", f"must be in [1, generator.n_samples={n}]")
