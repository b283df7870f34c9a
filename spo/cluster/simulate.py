"""``cluster.simulate_gpus``: a GPU preset's layout on logical GPUs, computing on CPU with stand-ins.

Every role keeps its actors, GPUs and CPUs per actor and learner ranks, so Ray places them and assigns
GPU ids as on the real cluster; the models become the tiny policy and a tiny reward model built
locally, vLLM becomes the HF engine and NCCL the gloo transport (arithmetic stays on CPU, where
``torch.cuda.is_available()`` is false). For the test suite only: refused anywhere else, so nobody
trains on a simulated GPU by accident.
"""

from __future__ import annotations

import os
from pathlib import Path

from spo.assets.tiny import build_tiny_reward_model, ensure_tiny_policy
from spo.errors import ConfigError

STAND_IN_TRANSPORT = {"nccl": "gloo"}


def with_stand_ins(cfg):
    """``cfg`` with its models, engine and transport replaced by CPU stand-ins (in place; returned)."""
    if "PYTEST_CURRENT_TEST" not in os.environ:
        raise ConfigError(
            "cluster.simulate_gpus: refused outside the test suite; it runs a GPU layout on logical GPUs "
            "with tiny stand-in models and trains nothing real (use `spo plan` to see a layout)"
        )
    cache = Path(cfg.cache_dir).expanduser()
    policy = ensure_tiny_policy(cache)
    rm = cache / "tiny-rm-standin"
    if not (rm / "config.json").exists():
        build_tiny_reward_model(policy, rm)
    cfg.model.name, cfg.model.path, cfg.model.trust_remote_code = "tiny", None, False
    cfg.task.name = "sort_digits"
    for source in ("dataset", "prompts_file", "heldout_file", "heldout_split", "heldout_fraction"):
        setattr(cfg.task, source, None)
    cfg.generator.engine, cfg.generator.engine_kwargs = "hf", {}
    for sc in cfg.reward.scorers.values():
        if sc.backend == "sequence_classifier":
            sc.path, sc.trust_remote_code, sc.chat_template = str(rm), False, "policy"
    cfg.sync.transport = STAND_IN_TRANSPORT.get(cfg.sync.transport, cfg.sync.transport)
    cl = cfg.cluster
    cl.generator_threads = cl.learner_threads = cl.scorer_threads = 1
    return cfg
