"""Atomic writes: readable by whoever the process umask allows, as any other tool's files are."""

from __future__ import annotations

import os
import stat

import pytest

from spo.io import atomic_dir, atomic_file, write_json


@pytest.mark.parametrize(
    "mask,file_mode,dir_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775), (0o077, 0o600, 0o700)]
)
def test_atomic_writes_follow_the_umask(tmp_path, mask, file_mode, dir_mode):
    old = os.umask(mask)
    try:
        write_json({"a": 1}, tmp_path / "x.json")
        with atomic_file(tmp_path / "y.bin") as fh:
            fh.write(b"y")
        with atomic_dir(tmp_path / "d") as d:
            (d / "inner").write_text("z")
    finally:
        os.umask(old)
    for name in ("x.json", "y.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == file_mode, name
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == dir_mode
    assert (tmp_path / "d" / "inner").read_text() == "z"


def test_cli_result_alone_on_stdout_while_libraries_print(capfd):
    """A library that prints to stdout (DeepSpeed's logger) must not corrupt ``--json`` output."""
    import json
    import os
    from types import SimpleNamespace

    from spo import cli

    def noisy(args):
        print("[WARNING] a library speaks")
        os.write(1, b"and writes to fd 1\n")
        return {"ok": True}

    parser = SimpleNamespace(parse_args=lambda argv: SimpleNamespace(fn=noisy))
    original = cli.build_parser
    cli.build_parser = lambda: parser
    try:
        assert cli.main(["anything"]) == 0
    finally:
        cli.build_parser = original
    out, err = capfd.readouterr()
    assert json.loads(out) == {"ok": True}
    assert "a library speaks" in err and "fd 1" in err


def test_a_stale_torch_extension_build_lock_is_removed_and_a_fresh_one_kept(tmp_path, monkeypatch):
    import os
    import time

    from spo.learner.prebuild import STALE_LOCK_S, clear_stale_build_locks

    stale, fresh = tmp_path / "deepspeed_shm_comm" / "lock", tmp_path / "other_op" / "lock"
    for lock in (stale, fresh):
        lock.parent.mkdir()
        lock.touch()
    old = time.time() - STALE_LOCK_S - 5
    os.utime(stale, (old, old))
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    assert clear_stale_build_locks() == [stale] and not stale.exists() and fresh.exists()


def test_the_op_cache_is_one_directory_per_python_environment(monkeypatch):
    """Two venvs sharing one directory would rebuild DeepSpeed's op on every switch (about 45 s mid-run)."""
    import sys
    from pathlib import Path

    from spo.cluster.connect import actor_env
    from spo.paths import torch_extensions_dir

    monkeypatch.delenv("TORCH_EXTENSIONS_DIR", raising=False)
    here = torch_extensions_dir("~/cache")
    assert torch_extensions_dir("~/cache") == here  # stable for one environment
    monkeypatch.setattr(sys, "prefix", "/elsewhere/.venv")
    other = torch_extensions_dir("~/cache")
    assert other != here
    assert Path(here).parent == Path(other).parent == Path("~/cache").expanduser() / "torch_extensions"
    assert actor_env("~/cache")["TORCH_EXTENSIONS_DIR"] == other  # what the actors are given
