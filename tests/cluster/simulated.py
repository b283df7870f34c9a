"""A GPU preset's config shrunk to one short iteration on the simulated cluster (``gpu_cluster``)."""

from conftest import CONF_DIR
from hydra import compose, initialize_config_dir

from spo.config import register, to_config

register()

SMALL = ["iterations=1", "prompts_per_iteration=16", "task.n_train=48", "task.n_heldout=8", "generator.max_new_tokens=8",
         "generator.chunk_size=8", "learner.micro_batch_size=1", "learner.grad_accum=1", "tracking.backends=[]",
         "cluster.simulate_gpus=true"]  # fmt: skip


def preset_config(run_dir, cache_dir, preset: str, *overrides: str):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        dcfg = compose("config", overrides=[f"experiment={preset}", f"run_dir={run_dir}", f"cache_dir={cache_dir}",
                                            *SMALL, *overrides])  # fmt: skip
    return to_config(dcfg)


def node_of(cluster, node_id: str):
    """The cluster's node (to remove) with that id."""
    return next(n for n in cluster.list_all_nodes() if n.node_id == node_id)
