"""What produced a results file: the commit (and whether the tree had uncommitted changes), the machine
and the library versions, and the date."""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("torch", "ray", "deepspeed", "transformers", "tokenizers", "numpy")


OUTPUTS = ("benchmarks/results/", "README.md")  # what the studies write: a change there does not change a run


def commit(repo: Path = REPO) -> tuple[str, bool]:
    """HEAD's short hash and whether files other than the studies' outputs differ from it (a new file that is
    not ignored counts: a script that is not committed yet produced the result)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo, capture_output=True,
                            text=True, check=True)  # fmt: skip
    changed = [line[3:] for line in status.stdout.splitlines() if line.strip()]
    return head.stdout.strip(), any(not path.startswith(OUTPUTS) for path in changed)


DIRTY = "-dirty"


def label(repo: Path = REPO) -> str:
    """The commit a result comes from, as results files write it: HEAD's short hash, with ``-dirty`` when
    :func:`commit` finds changes."""
    head, dirty = commit(repo)
    return head + (DIRTY if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> str:
    """Whether the installed packages are exactly ``constraints.txt``'s: ``"constraints.txt"``, or the packages
    that differ from it (a fresh ``make setup`` installs that set)."""
    pinned = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pinned[_norm(name)] = version.strip()
    off = sorted(f"{n} {_installed(n)} (pinned {v})" for n, v in pinned.items() if _installed(n) != v)
    return "packages as constraints.txt" if not off else "packages NOT as constraints.txt: " + ", ".join(off)


def _installed(name: str) -> str:
    """The version an import resolves: the first distribution of that name on ``sys.path`` (importing
    setuptools appends its ``_vendor`` directory, with older copies of some packages, to the path)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def committed_cpu(results: dict) -> str:
    """The CPU model a results JSON was produced on (from its ``machine`` line)."""
    found = re.search(r"cores \((.*)\), \d+ GiB", results["machine"])
    return found.group(1) if found else results["machine"]


def machine() -> str:
    """One line: cores, CPU, memory, OS, the versions that move numerics, and whether every package is pinned."""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in PACKAGES)
    return f"{os.cpu_count()} cores ({cpu_model()}), {mem:.0f} GiB, no GPU; {platform.system()}; {versions}; {environment()}"


def today() -> str:
    return datetime.date.today().isoformat()
