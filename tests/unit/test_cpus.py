"""Pinning a role's process to its cores (``cluster.<role>_cores``); each case runs in its own process."""

import os
import subprocess
import sys

import pytest

from spo.cluster.config import ClusterConfig
from spo.errors import ConfigError

PIN = """
import os, sys, threading
from spo.cluster.cpus import claim_cpus
early = threading.Thread(target=threading.Event().wait, daemon=True)
early.start()  # a thread started before the claim is pinned too
claim_cpus("learner", 1, tuple(int(c) for c in sys.argv[1:]))
late = threading.Thread(target=lambda: print(sorted(os.sched_getaffinity(0))), daemon=True)
late.start(); late.join()  # and one started after inherits the mask
print(sorted({tuple(sorted(os.sched_getaffinity(int(t)))) for t in os.listdir("/proc/self/task")}))
"""


def _pin(*cores: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PIN, *map(str, cores)], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores")
def test_claim_pins_every_thread_of_the_process():
    core = max(os.sched_getaffinity(0))
    out = _pin(core)
    assert out.returncode == 0, out.stderr
    late, every = out.stdout.splitlines()
    assert late == f"[{core}]"
    assert every == f"[({core},)]"  # every thread of the process, the main one and the early one included


def test_claim_refuses_a_core_the_node_lacks():
    missing = max(os.sched_getaffinity(0)) + 1
    out = _pin(missing)
    assert out.returncode != 0
    assert f"cluster.learner_cores: [{missing}] not among this node's usable cores" in out.stderr


def test_no_cores_leaves_the_process_unpinned():
    out = _pin()
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == str(sorted(os.sched_getaffinity(0)))


@pytest.mark.parametrize(("cores", "message"), [([1, 1], "lists a core twice"), ([-1], "must be CPU ids")])
def test_config_refuses_bad_cores(cores, message):
    with pytest.raises(ConfigError, match=f"cluster.scorer_cores: {message}"):
        ClusterConfig(scorer_cores=cores).validate()
