"""One driver per run directory: an exclusive lock held for the life of the driver.

The lock is ``<run_dir>/.driver.lock``, created with ``O_CREAT | O_EXCL`` (atomic on local disks and on
NFSv3+), holding the holder's host, pid and start time. The holder touches it every
``HEARTBEAT_S`` seconds. A lock is stale, and is taken over with a warning, when its holder ran on
this host and that process is gone, or when it has not been touched for ``STALE_AFTER_S`` seconds
(a holder on another host that died). Anything else refuses the second driver, naming the holder.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from pathlib import Path

from spo.errors import ConfigError

log = logging.getLogger(__name__)

LOCK_NAME = ".driver.lock"
HEARTBEAT_S = 30.0
STALE_AFTER_S = 300.0


class RunLockedError(ConfigError):
    """Another live driver holds the run directory."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(path: Path, holder: dict) -> str | None:
    """Why the lock at ``path`` is stale, or None if its holder may still be running."""
    if holder.get("host") == socket.gethostname() and not _alive(int(holder.get("pid", -1))):
        return f"its holder (pid {holder.get('pid')} on this host) is gone"
    age = time.time() - path.stat().st_mtime
    if age > STALE_AFTER_S:
        return f"it was last refreshed {age:.0f} s ago (> {STALE_AFTER_S:.0f} s)"
    return None


class RunLock:
    """``with RunLock(run_dir):`` holds the run directory, or raises :class:`RunLockedError` naming the holder."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / LOCK_NAME
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _create(self) -> bool:
        me = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as fh:
            json.dump(me, fh)
        return True

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            if self._create():
                break
            try:
                holder = json.loads(self.path.read_text() or "{}")
            except (FileNotFoundError, json.JSONDecodeError):
                holder = {}
            reason = _stale(self.path, holder) if self.path.exists() else "it vanished"
            if reason is None:
                raise RunLockedError(
                    f"run_dir: {self.path.parent} is in use by another driver (host {holder.get('host')}, pid "
                    f"{holder.get('pid')}, since {holder.get('started')}); wait for it to finish or stop it. If it "
                    f"is gone, the lock {self.path} is taken over after {STALE_AFTER_S:.0f} s without a refresh."
                )
            log.warning("taking over the stale lock %s (%s): %s", self.path, holder, reason)
            self.path.unlink(missing_ok=True)
        else:
            raise RunLockedError(f"run_dir: could not take the lock {self.path}; another driver took it first")
        self._thread = threading.Thread(target=self._heartbeat, name="spo-run-lock", daemon=True)
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except FileNotFoundError:
                return

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
