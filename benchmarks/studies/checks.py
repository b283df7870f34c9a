"""Check cells recorded on other CPU models: the studies tier's reference where a study was produced elsewhere.

A study's runs repeat bit for bit only on the CPU model that produced them (vector kernels differ between
models). ``python -m benchmarks.studies check NAME...`` runs each study's check cell on this machine and records
its final held-out figure for this CPU model in :data:`CHECKS`, beside the committed figure it stands in for. On
that CPU model the tier then re-runs the cell against the record. The record says only that the code still gives
what it gave here; the study's numbers and verdicts stay those of the machine that produced them. A record
goes stale, and the tier skips it saying so, once the study is regenerated or its check cell's command changes.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks.studies import STUDIES
from benchmarks.studies.base import Study
from benchmarks.studies.provenance import DIRTY, committed_cpu, cpu_model, label, machine, today
from benchmarks.studies.run import RESULTS, cell_result, read_results, run_cell, run_setup
from spo.io import atomic_file

CHECKS = RESULTS / "checks.json"  # {cpu model: {study: record}}


def committed_check(study: Study, results: dict) -> dict:
    """The committed cell the tier re-runs (the study's ``check`` arm and seed); a ``ValueError`` (a defect of the
    results, which the tier fails on rather than skips) when it is not there."""
    arm, seed = study.check
    found = [c for c in results["cells"] if c["arm"] == arm and c["seed"] == seed]
    if not found:
        raise ValueError(f"study {study.name}: its committed results hold no cell {arm!r} seed {seed} to check")
    return found[0]


def read_checks(path: Path = CHECKS) -> dict:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc


def reference(study: Study, results: dict, cpu: str, path: Path = CHECKS) -> tuple[float, str]:
    """The final figure the check cell must give on ``cpu``, and where it comes from: the committed cell on the
    study's own CPU model, else this CPU model's record. ``LookupError``, with the reason, when there is none."""
    committed, produced_on = committed_check(study, results), committed_cpu(results)
    if produced_on == cpu:
        return committed["final"], f"committed (from {', '.join(results['commits'])})"
    record = read_checks(path).get(cpu, {}).get(study.name)
    if record is None:
        raise LookupError(
            f"study {study.name} was produced on a {produced_on} and this machine is a {cpu}: runs repeat bit for "
            "bit on one CPU model, not across models (vector kernels differ), and no check cell is recorded for "
            f"this model; record one with python -m benchmarks.studies check {study.name}"
        )
    if record["command"] != committed["command"] or record["against"] != committed["final"]:
        raise LookupError(
            f"study {study.name}: the check cell recorded for {cpu} at {record['commit']} is stale (the study was "
            f"regenerated or its command changed since); record it again with python -m benchmarks.studies check "
            f"{study.name}"
        )
    return record["final"], f"recorded on this CPU model at {record['commit']} ({path.name})"


def record(study: Study, results: dict, final: float, cpu: str, commit: str, path: Path = CHECKS) -> dict:
    """Store ``final``, the check cell's figure run here at ``commit``, as ``cpu``'s reference for ``study``;
    returns the record."""
    committed = committed_check(study, results)
    entry = {"arm": committed["arm"], "seed": committed["seed"], "command": committed["command"], "final": final,
             "against": committed["final"], "against_cpu": committed_cpu(results), "commit": commit,
             "date": today(), "machine": machine()}  # fmt: skip
    checks = read_checks(path)
    checks.setdefault(cpu, {})[study.name] = entry
    with atomic_file(path, "w") as fh:
        json.dump({k: dict(sorted(v.items())) for k, v in sorted(checks.items())}, fh, indent=1)
        fh.write("\n")
    return entry


def check(names: list[str]) -> None:
    """Run each study's check cell here, from scratch, and record its figure for this CPU model."""
    cpu, commit = cpu_model(), label()  # the code the cells run (checked once: the runs take minutes)
    if commit.endswith(DIRTY):
        raise SystemExit("the tree has uncommitted changes: commit them first, so the record names the code it ran")
    for name in names:
        study = STUDIES.get(name)
        results = read_results(study)
        if committed_cpu(results) == cpu:
            raise SystemExit(f"study {name} was produced on this CPU model ({cpu}): its committed cells are the "
                             "tier's reference here")  # fmt: skip
        run_setup(study)
        cell = study.cell(*study.check)
        with tempfile.TemporaryDirectory() as tmp:
            final = cell_result(cell, run_cell(cell, Path(tmp)), study.metric)["final"]
        entry = record(study, results, final, cpu, commit)
        print(f"[study] {name}: {cell.arm} seed {cell.seed} gives {final:.4f} on this {cpu}, against "
              f"{entry['against']:.4f} on the {entry['against_cpu']} that produced the study", flush=True)  # fmt: skip
