"""Weight sync: bucket planning, and the collective (bucketed broadcast) transport on gloo against the object store."""

import numpy as np
import pytest
import ray
import torch
from conftest import actor_pid, wait_restarted
from test_learner import fixed_pairs, learner_cfg

from spo.learner.group import LearnerGroup
from spo.rollout.pool import GeneratorPool
from spo.sync.buckets import TensorMeta, describe, pack, plan_buckets, unpack
from spo.sync.collective import CollectiveTransport, receiver_in_group
from spo.sync.config import SyncConfig
from spo.sync.object_store import ObjectStoreTransport, export


def test_buckets_respect_the_cap_and_dtype_and_round_trip():
    named = [("a", torch.randn(10, 10)), ("b", torch.randn(30)), ("c", torch.randn(5).bfloat16()),
             ("d", torch.randn(200)), ("e", torch.randn(3, 4))]  # fmt: skip
    names = lambda plan: [[m.name for m in b] for b in plan]  # noqa: E731
    assert names(plan_buckets(describe(named), cap_bytes=100)) == [
        ["a"],
        ["b"],
        ["c"],
        ["d"],
        ["e"],
    ]  # each over or at the cap
    assert names(plan_buckets(describe(named), cap_bytes=600)) == [
        ["a", "b"],
        ["c"],
        ["d"],
        ["e"],
    ]  # 520 B fit; d alone
    plan = plan_buckets(describe(named), cap_bytes=1000)
    assert names(plan) == [["a", "b"], ["c"], ["d", "e"]]  # the bf16 tensor breaks the run
    for bucket in plan:
        assert len({m.dtype for m in bucket}) == 1
        assert sum(m.nbytes for m in bucket) <= 1000 or len(bucket) == 1
        tensors = dict(named)
        for name, t in unpack(pack([tensors[m.name] for m in bucket]), bucket):
            assert torch.equal(t, tensors[name])
    assert TensorMeta("x", (2, 3), "bfloat16").nbytes == 12
    with pytest.raises(ValueError, match="cap must be > 0"):
        plan_buckets(describe(named), 0)


def exported(learner) -> dict:
    """Rank 0's full parameters, exactly what the object store would push."""
    refs = learner.call(export)
    ray.get(refs[1:])
    return dict(ray.get(refs[0]))


def _generator_params(worker) -> dict[str, np.ndarray]:
    return ray.get(worker.__ray_call__.remote(
        lambda self: {n: p.detach().numpy().copy() for n, p in self.engine.model.named_parameters()}))  # fmt: skip


@pytest.mark.usefixtures("ray_cluster")
def test_gloo_bucketed_push_matches_the_object_store_and_survives_a_restarted_engine(tiny_policy):
    learner = LearnerGroup(learner_cfg(3), tiny_policy, num_cpus=0.25, threads=1, seed=0)
    gens = GeneratorPool(2, "hf", {"model_path": tiny_policy}, "tiny", num_cpus=0.5, threads=1, max_restarts=1)
    try:
        learner.train(ray.put(fixed_pairs()), 0)
        transport = CollectiveTransport(SyncConfig(transport="gloo", bucket_mb=0.25))
        transport.push(learner, gens, 1)
        assert gens.policy_versions() == [1, 1]
        assert transport.last_buckets > 1  # size-capped buckets, not one message
        expected = exported(learner)  # exactly what the object store would push
        for w in gens.workers:
            got = _generator_params(w)
            assert got.keys() == expected.keys()
            for name, value in expected.items():
                np.testing.assert_array_equal(got[name], value)

        learner.train(ray.put(fixed_pairs()), 1)
        pid = actor_pid(gens.workers[1])
        ray.kill(gens.workers[1], no_restart=False)  # it comes back without the group
        wait_restarted(gens.workers[1], pid)
        assert ray.get(gens.call_receivers(receiver_in_group, [(), ()])) == [[True], [False]]
        transport.push(learner, gens, 2)  # the group is formed again
        assert gens.policy_versions() == [2, 2]
        expected = exported(learner)
        reference = GeneratorPool(1, "hf", {"model_path": tiny_policy}, "tiny", num_cpus=0.25, threads=1)
        ObjectStoreTransport(SyncConfig()).push(learner, reference, 2)
        via_store = _generator_params(reference.workers[0])
        for w in gens.workers:
            got = _generator_params(w)
            for name in expected:
                np.testing.assert_array_equal(got[name], via_store[name])
        reference.shutdown()
    finally:
        learner.shutdown()
        gens.shutdown()


@pytest.mark.usefixtures("ray_cluster")
def test_disk_transport_matches_the_object_store(tiny_policy, tmp_path):
    from spo.sync.disk import DiskTransport

    learner = LearnerGroup(learner_cfg(2, num_ranks=1), tiny_policy, num_cpus=0.25, threads=1, seed=0)
    gens = GeneratorPool(1, "hf", {"model_path": tiny_policy}, "tiny", num_cpus=0.5, threads=1)
    try:
        learner.train(ray.put(fixed_pairs()), 0)
        DiskTransport(SyncConfig(transport="disk", disk_dir=str(tmp_path / "sync"))).push(learner, gens, 1)
        assert gens.policy_versions() == [1]
        expected = exported(learner)
        got = _generator_params(gens.workers[0])
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name])
    finally:
        learner.shutdown()
        gens.shutdown()
