"""`launch/submit.sh` against a real local head: the job succeeds and writes its run directory where the
README says, ``$SPO_RUNS_ROOT/<run_name>``, with no Hydra override.

About a minute (a head start plus a one-iteration job); part of the default suite, as the GPU-path
issue asks for a real `ray job submit` in CI.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a local Ray head and a submitted job: about 2 minutes; make test-slow (and .ci/run)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_submit_sh_runs_a_job_on_a_local_head(tmp_path):
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PATH": f"{bindir}:{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
    gcs, dash, agent = free_port(), free_port(), free_port()
    head = subprocess.Popen(
        [f"{bindir}/ray", "start", "--head", "--block", f"--port={gcs}", f"--dashboard-port={dash}",
         f"--dashboard-agent-listen-port={agent}", "--include-dashboard=true", "--num-cpus=2",
         "--dashboard-host=127.0.0.1"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        runs_root = tmp_path / "shared" / "spo-runs"
        run_dir = runs_root / "submitted"
        job = None
        for _ in range(6):  # the dashboard's job agent takes a few seconds to come up
            time.sleep(10)
            job = subprocess.run(
                ["bash", "launch/submit.sh", "experiment=tiny", "iterations=1", "prompts_per_iteration=32",
                 "task.n_heldout=32", "run_name=submitted"],
                cwd=ROOT, env={**env, "RAY_ADDRESS": f"http://127.0.0.1:{dash}", "SPO_RUNS_ROOT": str(runs_root)},
                capture_output=True, text=True, timeout=400,
            )  # fmt: skip
            if "No available agent" not in job.stdout + job.stderr and "Failed to connect" not in job.stderr:
                break
        assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
        assert "succeeded" in job.stdout + job.stderr and f"run directory: {run_dir}" in job.stdout + job.stderr
        for name in ("config.yaml", "metrics.jsonl", "iter_0/samples.parquet", "checkpoints/iter_0/model.safetensors"):
            assert (run_dir / name).exists(), name
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(timeout=60)


def test_submit_sh_refuses_a_relative_or_missing_runs_root():
    env = {**os.environ, "RAY_ADDRESS": "http://127.0.0.1:1"}
    env.pop("SPO_RUNS_ROOT", None)
    missing = subprocess.run(["bash", "launch/submit.sh", "experiment=tiny"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=30)  # fmt: skip
    assert missing.returncode != 0 and "set SPO_RUNS_ROOT to an absolute path" in missing.stderr
    relative = subprocess.run(["bash", "launch/submit.sh", "experiment=tiny"], cwd=ROOT, capture_output=True,
                              env={**env, "SPO_RUNS_ROOT": "runs"}, text=True, timeout=30)  # fmt: skip
    assert relative.returncode == 2 and "must be an absolute path every node sees, got 'runs'" in relative.stderr
