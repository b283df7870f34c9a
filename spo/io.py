"""Atomic file and directory writes (write to a temporary path, then rename), and small readers."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    import torch


def _umask() -> int:
    """The process umask, read without changing it where Linux shows it (os.umask sets it for all threads)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _as_umask_allows(path: str | Path, base: int) -> None:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would (``base`` less the umask); ``mkstemp`` and
    ``mkdtemp`` make it 0600/0700, which teammates on shared storage could not read."""
    os.chmod(path, base & ~_umask())


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling directory that replaces ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _as_umask_allows(tmp, 0o777)
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(target: str | Path, mode: str = "wb"):
    """Open a temporary sibling of ``target``; rename it over ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        _as_umask_allows(tmp, 0o666)
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def load_safetensors_dir(path: str | Path) -> list[tuple[str, torch.Tensor]]:
    """Every named tensor in the ``*.safetensors`` files of an HF checkpoint directory."""
    from safetensors.torch import load_file

    files = sorted(Path(path).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{path}: no .safetensors files")
    return [item for f in files for item in load_file(f).items()]


def write_parquet(table: pa.Table, path: str | Path) -> None:
    """Write ``table`` to ``path`` atomically."""
    with atomic_file(path) as fh:
        pq.write_table(table, fh)


def write_json(obj, path: str | Path) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    with atomic_file(path, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=str)


def append_jsonl(record: dict, path: str | Path) -> None:
    """Append one JSON line by rewriting the file atomically (small files only)."""
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    with atomic_file(path, "w") as fh:
        fh.write(old + json.dumps(record, sort_keys=True, default=str) + "\n")


def read_jsonl(path: Path, error: type[Exception] = ValueError) -> list:
    """The parsed non-blank lines of a JSONL file; ``error`` names the file and row that does not parse."""
    rows = []
    for lineno, line in enumerate(Path(path).read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise error(f"{path}: row {lineno}: not a JSON object ({exc})") from exc
    return rows
