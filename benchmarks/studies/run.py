"""Running a study's cells and collecting their results (``benchmarks/results/studies/<name>.json``)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from benchmarks.studies.base import Cell, Study
from benchmarks.studies.provenance import DIRTY, REPO, label, machine, today
from benchmarks.studies.verdict import paired_interval, verdict
from spo.analysis.runs import runs_root
from spo.io import atomic_file, read_jsonl
from spo.registry import import_object
from spo.run_state import completed_iteration

RESULTS = REPO / "benchmarks" / "results" / "studies"
STAMP = "study_commit.txt"  # in a run directory: the commit that produced it


def results_path(study: Study) -> Path:
    return RESULTS / f"{study.name}.json"


def run_dir(cell: Cell, root: Path | None = None) -> Path:
    return (root or runs_root()) / cell.run_name


def run_cell(cell: Cell, root: Path | None = None) -> Path:
    """Run one cell to completion with its exact command, from scratch unless this commit already ran it."""
    path, rev = run_dir(cell, root), label()
    stamp = path / STAMP
    if not rev.endswith(DIRTY) and stamp.exists() and stamp.read_text().strip() == rev and _complete(path):
        print(f"[study] {cell.run_name}: already run at {rev}", flush=True)
        return path
    if path.exists():
        raise FileExistsError(
            f"{path} holds a run from another commit or an unfinished one; remove it (or run with --fresh)"
        )
    cmd = cell.command()
    print(f"[study] {shlex.join(cmd)}", flush=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **({"SPO_RUNS_ROOT": str(root)} if root else {})}
    subprocess.run([sys.executable, *cmd[1:]], cwd=REPO, env=env, check=True)
    stamp.write_text(rev + "\n")
    return path


def run_setup(study: Study) -> None:
    """The study's setup commands (the models its experiment needs), a ``python`` one with this interpreter."""
    for command in study.setup:
        if command.startswith("python "):
            command = shlex.quote(sys.executable) + command[len("python") :]
        subprocess.run(command, shell=True, cwd=REPO, check=True)


def _complete(path: Path) -> bool:
    cfg = path / "config.yaml"
    if not cfg.exists():
        return False
    return completed_iteration(path) == yaml.safe_load(cfg.read_text())["iterations"] - 1


def cell_result(cell: Cell, path: Path, metric: str = "heldout_reward") -> dict:
    """The cell's held-out ``metric`` after every iteration (``curve``, the initial policy first), its final
    and initial values, and the command that produced it."""
    curve = [x[metric] for x in stage_rows(path, "eval")]
    if len(curve) < 2:
        raise ValueError(f"{path}: metrics.jsonl has no held-out {metric} after training")
    return {"arm": cell.arm, "seed": cell.seed, "final": curve[-1], "initial": curve[0], "curve": curve,
            "command": shlex.join(cell.command())}  # fmt: skip


def stage_rows(path: Path, stage: str) -> list[dict]:
    """A run's ``metrics.jsonl`` rows of one stage (``eval``, ``iteration``, ...)."""
    return [x for x in read_jsonl(path / "metrics.jsonl") if x.get("stage") == stage]


def trained_totals(path: Path) -> tuple[int, int]:
    """A run's pairs trained and prompts generated, summed over its iterations."""
    its = stage_rows(path, "iteration")
    return sum(r.get("pairs_trained", 0) for r in its), sum(r.get("prompts_generated", 0) for r in its)


def _value(cell: dict, after: int | None) -> float:
    """A cell's held-out figure after ``after`` iterations (``curve[0]`` is the initial policy), or its final."""
    if after is None:
        return cell["final"]
    if not 0 < after < len(cell["curve"]):
        raise ValueError(f"{cell['arm']} s{cell['seed']}: no evaluation after {after} iterations")
    return cell["curve"][after]


def claim_results(study: Study, cells: list[dict]) -> list[dict]:
    """Each claim's per-seed paired differences, interval and verdict, over the seeds both arms have."""
    by = {(c["arm"], c["seed"]): c for c in cells}
    out = []
    for claim in study.claims:
        seeds = [s for s in study.seeds if (claim.a, s) in by and (claim.b == "initial" or (claim.b, s) in by)]
        diffs = [_value(by[claim.a, s], claim.after) - (by[claim.a, s]["initial"] if claim.b == "initial"
                 else _value(by[claim.b, s], claim.after)) for s in seeds]  # fmt: skip
        row = {"text": claim.text, "a": claim.a, "b": claim.b, "kind": claim.kind, "margin": claim.margin,
               "seeds": seeds, "diffs": diffs}  # fmt: skip
        if diffs:
            mean, lo, hi = paired_interval(diffs)
            row.update(mean=mean, lo=lo, hi=hi)
            row["verdict"], row["reason"] = verdict(diffs, claim.kind, claim.margin)
        else:
            row.update(verdict="not run yet", reason="no seed has both arms")
        out.append(row)
    return out


def collect(study: Study, root: Path | None = None) -> dict:
    """The study's results from its finished runs (cells not run are listed as missing)."""
    cells, missing, runs = [], [], {}
    for cell in study.cells():
        path = run_dir(cell, root)
        if _complete(path):
            cells.append(cell_result(cell, path, study.metric))
            runs[cell.arm, cell.seed] = path
        else:
            missing.append(shlex.join(cell.command()))
    extra = import_object(study.extra)(study, runs) if study.extra and runs else []
    stamps = {
        (run_dir(c, root) / STAMP).read_text().strip() for c in study.cells() if (run_dir(c, root) / STAMP).exists()
    }
    return {
        "study": study.name, "title": study.title, "commits": sorted(stamps) or [label()],
        "date": today(), "machine": machine(), "setup": list(study.setup), "tolerance": study.tolerance,
        "cells": cells, "missing": missing, "claims": claim_results(study, cells), "extra": extra,
    }  # fmt: skip


def write_results(study: Study, results: dict, path: Path | None = None) -> Path:
    path = path or results_path(study)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "w") as fh:
        json.dump(results, fh, indent=1)
        fh.write("\n")
    return path


def read_results(study: Study) -> dict:
    path = results_path(study)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no committed results for study {study.name}; run make study-{study.name}")
    return json.loads(path.read_text())
