"""One driver per run directory: a live holder is named and refused, a dead one is taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from spo import run_lock
from spo.run_lock import LOCK_NAME, RunLock, RunLockedError

HOLD = "import sys, time; from spo.run_lock import RunLock; RunLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(120)"


def test_a_second_driver_is_refused_naming_the_holder_and_may_start_once_it_ends(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(
            RunLockedError, match=rf"in use by another driver \(host {socket.gethostname()}, pid {holder.pid}"
        ):
            RunLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    with RunLock(tmp_path) as lock:  # its process is gone: the stale lock is taken over
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()  # released


def test_a_lock_from_another_host_is_stale_only_once_its_heartbeat_stops(tmp_path, monkeypatch):
    path = tmp_path / LOCK_NAME
    path.write_text(json.dumps({"host": "elsewhere", "pid": 1, "started": "then"}))
    with pytest.raises(RunLockedError, match="host elsewhere, pid 1"):
        RunLock(tmp_path).acquire()
    old = time.time() - run_lock.STALE_AFTER_S - 5
    os.utime(path, (old, old))
    lock = RunLock(tmp_path)
    lock.acquire()
    assert json.loads(path.read_text())["host"] == socket.gethostname()
    lock.release()


def test_the_holder_refreshes_its_lock(tmp_path, monkeypatch):
    monkeypatch.setattr(run_lock, "HEARTBEAT_S", 0.05)
    with RunLock(tmp_path) as lock:
        old = time.time() - 100
        os.utime(lock.path, (old, old))
        time.sleep(0.3)
        assert time.time() - lock.path.stat().st_mtime < 5
