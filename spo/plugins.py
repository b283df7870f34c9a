"""Every plug-in spo knows, one line each: the config name and the function or class that implements it.

Adding a loss, a prompt policy, a task or a transport is one file (the entry, with its own flags),
one line here, one YAML file under ``conf/`` and its tests. Entries are imported only when used.
"""

from __future__ import annotations

from spo.registry import Registry

ENGINES = Registry(
    "generator.engine",
    "engine",
    {
        "hf": "spo.rollout.hf_engine:HFEngine",
        "hf_shared": "spo.rollout.hf_shared_engine:HFSharedEngine",
        "vllm": "spo.rollout.vllm_engine:VLLMEngine",
    },
)

SCORERS = Registry(
    "reward.scorers.<name>.backend",
    "backend",
    {
        "rule": "spo.reward.rule:RuleScorer",
        "sequence_classifier": "spo.reward.sequence_classifier:SequenceClassifierScorer",
        "judge": "spo.reward.judge:GenerativeJudge",
        "rule_judge": "spo.reward.rule_judge:RuleJudge",
    },
)

PIPELINES = Registry(
    "pipeline.mode",
    "mode",
    {
        "sync": "spo.pipeline.sync:SyncPipeline",
        "one_step_off": "spo.pipeline.one_step_off:OneStepOffPipeline",
        "async": "spo.pipeline.async_stream:AsyncPipeline",
    },
)

TRANSPORTS = Registry(
    "sync.transport",
    "transport",
    {
        "object_store": "spo.sync.object_store:ObjectStoreTransport",
        "nccl": "spo.sync.collective:CollectiveTransport",
        "gloo": "spo.sync.collective:CollectiveTransport",
        "disk": "spo.sync.disk:DiskTransport",
    },
)

LOSSES = Registry(
    "learner.loss",
    "loss",
    {
        "dpo": "spo.learner.losses.dpo:dpo",
        "robust": "spo.learner.losses.robust:robust_dpo",
        "ipo": "spo.learner.losses.ipo:ipo",
        "ipo_sum": "spo.learner.losses.ipo_sum:ipo_sum",
        "hinge": "spo.learner.losses.hinge:hinge",
        "simpo": "spo.learner.losses.simpo:simpo",
        "kto": "spo.learner.losses.kto:kto",
    },
)

PROMPT_POLICIES = Registry(
    "selection.prompts",
    "policy",
    {
        "all": "spo.buffer.policies.keep_all:keep_all",
        "drop_hardest": "spo.buffer.policies.drop_hardest:drop_hardest",
        "keep_easiest": "spo.buffer.policies.keep_easiest:keep_easiest",
        "bin": "spo.buffer.policies.bin:difficulty_bin",
        "random": "spo.buffer.policies.random_count:random_count",
        "curriculum": "spo.buffer.policies.curriculum:curriculum",
        "informative": "spo.buffer.policies.informative:informative",
    },
)

PREDICTORS = Registry(
    "difficulty.predictor",
    "predictor",
    {
        "history": "spo.buffer.predictors.history:history",
        "learned": "spo.buffer.predictors.learned:learned",
        "both": "spo.buffer.predictors.both:both",
    },
)

SIGNALS = Registry(
    "selection.signal",
    "signal",
    {
        "reward_gap": "spo.buffer.signals.reward_gap:reward_gap",
        "max_mean": "spo.buffer.signals.max_mean:max_mean",
        "variance": "spo.buffer.signals.variance:variance",
        "loo_advantage": "spo.buffer.signals.loo_advantage:loo_advantage",
    },
)

PAIR_BUILDERS = Registry(
    "selection.pair_builder",
    "pair builder",
    {
        "within": "spo.buffer.builders.within:within",
        "cross": "spo.buffer.builders.cross:cross",
        "mixed": "spo.buffer.builders.mixed:mixed",
    },
)

PAIR_METRICS = Registry(
    "selection.pair_metric",
    "metric",
    {
        "all": "spo.buffer.pair_metrics.keep_all:keep_all",
        "explicit_margin": "spo.buffer.pair_metrics.explicit_margin:explicit_margin",
        "implicit_margin": "spo.buffer.pair_metrics.implicit_margin:implicit_margin",
        "alignment_potential": "spo.buffer.pair_metrics.alignment_potential:alignment_potential",
        "judge_delta": "spo.buffer.pair_metrics.judge_delta:judge_delta",
        "uniform": "spo.buffer.pair_metrics.uniform:uniform",
    },
)

TASKS = Registry(
    "task.name",
    "task",
    {
        "sort_digits": "spo.tasks.sort_digits:prompts",
        "ifeval_lite": "spo.tasks.ifeval_lite:prompts",
    },
)

TRACKERS = Registry(
    "tracking.backends",
    "backend",
    {
        "tensorboard": "spo.tracking.tensorboard_tracker:TensorBoardTracker",
        "wandb": "spo.tracking.wandb_tracker:WandbTracker",
        "mlflow": "spo.tracking.mlflow_tracker:MlflowTracker",
    },
)
