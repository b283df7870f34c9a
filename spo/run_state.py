"""Which iterations of a run are complete, and rolling a run back to its last complete one.

An iteration is complete once ``state/complete.json`` names it; that file is written
(atomically) after the iteration's checkpoint, learner state and metrics. Anything an
interrupted iteration wrote after that point is removed on resume and redone.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from omegaconf import OmegaConf

from spo.config import Config, flatten, to_config
from spo.errors import ConfigError
from spo.io import atomic_file, read_jsonl, write_json
from spo.run_lock import LOCK_NAME

STATE_DIR = "state"

# Keys that may differ when a run directory is started again: the run continues regardless.
RESUMABLE_CHANGES = ("run_dir", "runs_root", "resume", "iterations")


def _flat(cfg: Config) -> dict:
    return flatten(OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True))


def resume_point(cfg: Config) -> int | None:
    """``None`` for a fresh run directory; else the last complete iteration of the run it holds.

    The saved config (typed and upgraded as a new one would be) must match ``cfg`` apart from
    :data:`RESUMABLE_CHANGES`.
    """
    run_dir = Path(cfg.run_dir)
    if not (run_dir / "metrics.jsonl").exists():
        return None
    saved_path = run_dir / "config.yaml"
    if not saved_path.exists():
        raise ConfigError(f"run_dir: {run_dir} holds metrics.jsonl but no config.yaml; choose another run_name=...")
    saved, now = _flat(to_config(OmegaConf.load(saved_path))), _flat(cfg)
    changed = sorted(k for k in saved.keys() | now.keys() if saved.get(k) != now.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
        shown = ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed[:5])
        raise ConfigError(
            f"run_dir: {run_dir} holds a run with a different config ({shown}); choose another run_name=..., "
            f"or continue it with resume={run_dir}"
        )
    return completed_iteration(run_dir)


def completed_iteration(run_dir: Path) -> int:
    """The last complete iteration of the run in ``run_dir``; -1 when none is."""
    marker = Path(run_dir) / STATE_DIR / "complete.json"
    if not marker.exists():
        return -1
    return int(json.loads(marker.read_text())["iteration"])


def checkpoint_dir(run_dir: Path, iteration: int) -> Path:
    """The HF checkpoint of the policy after ``iteration``."""
    return Path(run_dir) / "checkpoints" / f"iter_{iteration}"


def learner_state_dir(run_dir: Path, iteration: int) -> Path:
    """Where the learner's full training state after ``iteration`` lives."""
    return Path(run_dir) / STATE_DIR / f"learner_iter_{iteration}"


def mark_complete(run_dir: Path, iteration: int, keep_checkpoints: int = 0) -> None:
    """Record ``iteration`` as complete, then drop older learner states and, with ``keep_checkpoints`` > 0, every
    HF checkpoint but the last ``keep_checkpoints``."""
    write_json({"iteration": iteration}, Path(run_dir) / STATE_DIR / "complete.json")
    _remove_before(Path(run_dir) / STATE_DIR, "learner_iter_*", iteration)
    if keep_checkpoints:
        _remove_before(Path(run_dir) / "checkpoints", "iter_*", iteration - keep_checkpoints + 1)


def _remove_before(folder: Path, pattern: str, first_kept: int) -> None:
    """Remove the ``..._iter_<k>`` directories in ``folder`` matching ``pattern`` with k below ``first_kept``."""
    for old in folder.glob(pattern):
        if (it := _iteration_of(old)) is not None and it < first_kept:
            shutil.rmtree(old)


def _iteration_of(path: Path) -> int | None:
    m = re.search(r"iter_(\d+)$", path.name) or re.search(r"policy_v(\d+)\.parquet$", path.name)
    if m is None:
        return None
    number = int(m.group(1))
    return number - 1 if path.name.startswith("policy_v") else number  # policy_v(k+1) is iteration k's eval


def rollback(run_dir: Path, last: int) -> list[str]:
    """Remove what iterations after ``last`` wrote, their ``metrics.jsonl`` lines, and the temporaries of
    atomic writes that an interruption left behind; returns what went.

    With ``last == -1`` only the initial-policy stages (iteration -1) are kept.
    """
    run_dir = Path(run_dir)
    dirs = [run_dir, run_dir / "checkpoints", run_dir / STATE_DIR, run_dir / "eval"]
    # temporaries of atomic writes that never got renamed (Hydra's own .hydra and the driver's lock stay)
    partial = [p for d in dirs if d.is_dir() for p in d.glob(".*") if p.name not in (".hydra", LOCK_NAME)]
    outputs = [*run_dir.glob("iter_*"), *run_dir.glob("checkpoints/iter_*"), *run_dir.glob("eval/policy_v*.parquet"),
               *(run_dir / STATE_DIR).glob("learner_iter_*")]  # fmt: skip
    later = [p for p in outputs if (it := _iteration_of(p)) is not None and it > last]
    removed = []
    for path in later + partial:  # what each iteration wrote first, then leftover temporaries
        shutil.rmtree(path) if path.is_dir() else path.unlink()
        removed.append(str(path.relative_to(run_dir)))
    metrics = run_dir / "metrics.jsonl"
    if metrics.exists():
        records = read_jsonl(metrics)
        keep = [r for r in records if r["iteration"] <= last]
        if len(keep) != len(records):
            with atomic_file(metrics, "w") as fh:
                fh.write("".join(json.dumps(r, sort_keys=True) + "\n" for r in keep))
            removed.append(f"metrics.jsonl: {len(records) - len(keep)} lines")
    return removed


def iteration_rows(run_dir: Path) -> list[dict]:
    """The summary rows already in ``metrics.jsonl``: the initial eval and each complete iteration."""
    return [
        {k: v for k, v in rec.items() if k != "stage"}
        for rec in read_jsonl(Path(run_dir) / "metrics.jsonl")
        if rec["stage"] == "iteration" or (rec["iteration"] == -1 and rec["stage"] == "eval")
    ]
