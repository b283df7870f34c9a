"""What produced a results file: the commit (and whether the tree had uncommitted changes), the machine
and the library versions, and the date."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("torch", "ray", "deepspeed", "transformers")


def commit() -> tuple[str, bool]:
    """HEAD's short hash and whether tracked files differ from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                           text=True, check=True)  # fmt: skip
    return head.stdout.strip(), bool(dirty.stdout.strip())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """One line: cores, CPU, memory, OS and the versions that move numerics."""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in PACKAGES)
    return f"{os.cpu_count()} cores ({cpu_model()}), {mem:.0f} GiB, no GPU; {platform.system()}; {versions}"


def today() -> str:
    return datetime.date.today().isoformat()
