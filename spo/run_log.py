"""A run directory's own records, written only by the driver that holds it: ``train.log`` (every log line of
each invocation, appended) and ``invocations.jsonl`` (one line per invocation: when, where, overrides)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
from pathlib import Path

from spo.io import append_jsonl

FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"


@contextlib.contextmanager
def run_log(run_dir: Path):
    """Copy the root logger's lines into ``run_dir/train.log`` for the duration of the block."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(Path(run_dir) / "train.log", mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    root, level = logging.getLogger(), logging.getLogger().level
    root.addHandler(handler)
    root.setLevel(min(level, logging.INFO) if level else logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def record_invocation(run_dir: Path, overrides: list[str] | None, resumed_after: int | None) -> None:
    """Append this invocation (time, host, pid, command line, overrides, where it resumed) to ``invocations.jsonl``."""
    append_jsonl(
        {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname(), "pid": os.getpid(),
         "argv": sys.argv, "overrides": overrides, "resumed_after": resumed_after},
        Path(run_dir) / "invocations.jsonl",
    )  # fmt: skip
