"""The whole run's typed config: it composes the role configs and checks the rules that span roles.

Each role's dataclass lives beside its role (``spo/<role>/config.py``, torch- and ray-free) and
validates its own keys; this module imports those and nothing else of the role packages. Hydra
rejects unknown keys against :class:`Config`; :func:`validate` checks values and files, naming the
offending key, before any actor starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError

from spo.buffer.config import DifficultyConfig, SelectionConfig
from spo.cluster.config import ClusterConfig
from spo.data.config import TaskConfig
from spo.errors import ConfigError, require
from spo.eval.config import EvalConfig
from spo.learner.config import LearnerConfig
from spo.paths import require_model
from spo.pipeline.config import PipelineConfig
from spo.plugins import ENGINES, PAIR_BUILDERS, PIPELINES, PROMPT_POLICIES
from spo.reward.config import RewardConfig
from spo.rollout.config import GeneratorConfig
from spo.sync.config import SyncConfig
from spo.tracking.config import TrackingConfig


@dataclass
class ModelConfig:
    """The policy. ``path`` names an HF checkpoint directory; ``tiny`` builds one locally."""

    name: str = "tiny"
    path: str | None = None
    trust_remote_code: bool = False
    tiny_hidden_size: int = 128
    tiny_num_layers: int = 2
    tiny_sft_steps: int = 150
    tiny_sft_lr: float = 3e-3

    def validate(self, key: str = "model") -> None:
        if self.path is not None:
            require_model(self.path, f"{key}.path")
        else:
            require(self.name == "tiny", f"{key}.path", f"required for model {self.name!r}")
            require(self.tiny_sft_lr > 0, f"{key}.tiny_sft_lr", f"must be > 0, got {self.tiny_sft_lr}")


@dataclass
class Config:
    """The whole run. ``resume`` names a run directory to continue (see :mod:`spo.run_state`).

    ``runs_root`` is where runs live (``runs_root/run_name``; set it with ``SPO_RUNS_ROOT`` or the override).
    When the driver runs as a Ray job it must be absolute: storage every node sees, not Ray's temporary copy.

    ``keep_checkpoints``: how many of the latest HF checkpoints (``checkpoints/iter_<k>``) a run keeps once an
    iteration is complete; 0 keeps every one. A mode whose generators lag the learner by a version
    (``one_step_off``) needs the one before the last, which a restarted generator loads: there it is 0 or >= 2.
    """

    run_name: str = "default"
    runs_root: str = "runs"
    run_dir: str = MISSING
    resume: str | None = None
    cache_dir: str = "~/.cache/spo"
    seed: int = 0
    iterations: int = 3
    prompts_per_iteration: int = 256
    keep_checkpoints: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    difficulty: DifficultyConfig = field(default_factory=DifficultyConfig)
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


SECTIONS = ("model", "task", "reward", "generator", "selection", "difficulty", "learner", "sync", "pipeline",
            "cluster", "eval", "tracking")  # fmt: skip


def flatten(d: dict, prefix: str = "") -> dict:
    """A nested config dict as ``{"a.b.c": value}``: the dotted keys overrides and analyses name."""
    out = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def register() -> None:
    """Register the schemas so that ``conf/config.yaml`` is validated against them."""
    ConfigStore.instance().store(name="spo_schema", node=Config)


def to_config(dcfg: DictConfig | dict) -> Config:
    """Re-check a composed config against the schema (Hydra's ``+key=`` bypasses it), type it, and move
    deprecated keys to their new names."""
    raw = OmegaConf.to_container(dcfg, resolve=False) if isinstance(dcfg, DictConfig) else dcfg
    try:
        cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(Config), raw))
    except ConfigKeyError as exc:
        raise ConfigError(f"{exc.full_key}: no such config key") from exc
    cfg.selection.upgrade()
    return cfg


# Set by Ray in the environment of a driver started with ``ray job submit``.
RAY_JOB_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"


def validate_runs_root(cfg: Config) -> None:
    """Under ``ray job submit`` the working directory is Ray's temporary copy of the repository: refuse a run
    directory there (deleted with Ray's temporary files), and require an absolute ``runs_root``."""
    if RAY_JOB_ENV not in os.environ:
        return
    require(
        os.path.isabs(os.path.expanduser(cfg.runs_root)) and "runtime_resources/working_dir_files" not in cfg.run_dir,
        "runs_root",
        f"{cfg.runs_root!r} puts the run in {cfg.run_dir}, inside Ray's temporary copy of the repository, which "
        "is deleted with Ray's temporary files; set runs_root (or SPO_RUNS_ROOT) to an absolute path on storage "
        "every node sees, e.g. runs_root=/mnt/shared/spo-runs",
    )


def validate(cfg: Config) -> None:
    """Every section validates itself, then the rules that span sections; raises :class:`ConfigError`."""
    validate_runs_root(cfg)
    require(cfg.iterations >= 1, "iterations", f"must be >= 1, got {cfg.iterations}")
    require(cfg.prompts_per_iteration >= 1, "prompts_per_iteration", "must be >= 1")
    require(cfg.keep_checkpoints >= 0, "keep_checkpoints", f"must be >= 0 (0 keeps all), got {cfg.keep_checkpoints}")
    for name in SECTIONS:
        getattr(cfg, name).validate(name)
    lag = PIPELINES.flag(cfg.pipeline.mode, "lag", 0)  # a known mode: the pipeline section has checked it
    require(
        cfg.keep_checkpoints == 0 or cfg.keep_checkpoints > lag,
        "keep_checkpoints",
        f"must be 0 or >= {lag + 1} with pipeline.mode={cfg.pipeline.mode}: a generator restarted {lag} "
        f"version(s) behind the learner loads the checkpoint {lag} before the last",
    )
    _validate_roles(cfg)
    _validate_selection(cfg)


def _validate_roles(cfg: Config) -> None:
    tp = cfg.generator.tensor_parallel_size
    if cfg.generator.engine == "vllm" and cfg.cluster.generator_gpus:
        require(
            cfg.cluster.generator_gpus >= tp,
            "cluster.generator_gpus",
            f"each vLLM engine needs tensor_parallel_size={tp} GPUs, got {cfg.cluster.generator_gpus}",
        )
    pools = [cfg.model.name, *cfg.generator.extra_pools]
    require(len(set(pools)) == len(pools), "generator.extra_pools", f"pool names must differ from model.name {pools}")
    cfg.reward.require_scorer(cfg.eval.judge, "eval.judge")
    cfg.reward.require_scorer(cfg.difficulty.scorer, "difficulty.scorer")


def _validate_selection(cfg: Config) -> None:
    sel, n = cfg.selection, cfg.generator.n_samples
    if PAIR_BUILDERS.flag(sel.pair_builder, "needs_pools"):
        pools = [cfg.model.name, *cfg.generator.extra_pools]
        for key in ("strong", "weak"):
            value = getattr(sel, key)
            require(value in pools, f"selection.{key}", f"must name a generator pool, one of {pools}; got {value!r}")
        require(sel.strong != sel.weak, "selection.weak", "must differ from selection.strong")
    if sel.implicit == "dpo" and sel.needs_logprobs:
        require(
            cfg.learner.reference == "initial",
            "selection.implicit",
            "dpo needs learner.reference=initial: with iteration_start the policy still equals the reference "
            "when pairs are selected, so every DPO implicit margin would be 0",
        )
        require(
            not cfg.learner.reference_free,
            "selection.implicit",
            f"dpo needs a reference model, and learner.loss={cfg.learner.loss} is reference-free; use "
            "length_normalized",
        )
    if sel.pair_samples is not None:
        require(sel.pair_samples <= n, "selection.pair_samples", f"must be in [2, generator.n_samples={n}]")
    if cfg.difficulty.source == "predicted":
        _validate_predicted(cfg)
    if cfg.difficulty.n_samples is not None and cfg.difficulty.source != "frozen":  # a frozen pass draws its own
        require(cfg.difficulty.n_samples <= n, "difficulty.n_samples",
                f"must be in [1, generator.n_samples={n}] (only difficulty.source=frozen draws more)")  # fmt: skip


def _validate_predicted(cfg: Config) -> None:
    sel, d = cfg.selection, cfg.difficulty
    for key in ("prompts", "match") if sel.prompts == "random" else ("prompts",):
        policy = getattr(sel, key)
        require(
            not PROMPT_POLICIES.flag(policy, "needs_sample_stats"),
            f"selection.{key}",
            f"{policy} reads the samples' reward spread, which difficulty.source=predicted does not predict; "
            "use a difficulty policy (drop_hardest, keep_easiest, bin, curriculum, all)",
        )
    if d.features == "policy":
        require(
            ENGINES.flag(cfg.generator.engine, "embeds"),
            "difficulty.features",
            f"the {cfg.generator.engine} engine cannot read the policy's embedding of a prompt; use text",
        )
    n = cfg.generator.n_samples
    if d.first_samples is not None:
        require(d.first_samples < n, "difficulty.first_samples", f"must be below generator.n_samples={n}")
