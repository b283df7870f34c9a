"""ActorWatch on the local Ray cluster: an actor that cannot be placed fails the wait after the timeout,
naming it and what is missing; a live one never does."""

import pytest
import ray

from spo.cluster.watch import ActorWatch, CapacityLostError, Watched


@ray.remote(num_cpus=0)
class _Idle:
    def ping(self) -> bool:
        return True


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.usefixtures("ray_cluster")
def test_an_actor_nowhere_to_run_fails_the_watch_after_the_timeout_naming_it():
    alive = _Idle.remote()
    ray.get(alive.ping.remote())
    stuck = _Idle.options(num_gpus=1).remote()  # the local cluster has no GPU: never placed
    clock = _Clock()
    watch = ActorWatch([Watched("gen 0", alive, 0, 0), Watched("scorer rm 0", stuck, 0.5, 1)], 30.0, clock)
    try:
        watch.check()  # down since now
        clock.now = 29.0
        watch.check()  # not yet
        clock.now = 30.0
        with pytest.raises(CapacityLostError) as err:
            watch.check()
        msg = str(err.value)
        assert "scorer rm 0 has been PENDING_CREATION for 30 s" in msg and "gen 0" not in msg
        assert "missing: 1 GPUs" in msg and "1 alive node(s)" in msg
        # the alive actor alone never trips it, however long the wait
        only_alive = ActorWatch([Watched("gen 0", alive, 0, 0)], 30.0, clock)
        only_alive.check()
        clock.now = 1e6
        only_alive.check()
    finally:
        ray.kill(stuck)
        ray.kill(alive)
