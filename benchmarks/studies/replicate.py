"""A study replicated on another CPU model, recorded apart from its committed results.

Runs repeat bit for bit only on the CPU model that produced a study, so a second machine model gives a second
draw of every cell: how far a verdict moves with it measures how fragile the verdict is. ``python -m
benchmarks.studies replicate NAME [--arms ...]`` runs the study's cells (each with its exact command) under
``<runs root>/replicate-<cpu>/``, writes their results in the study's format to :data:`REPLICATIONS`
``/<cpu>/NAME.json`` and prints each claim's verdict here beside the committed one. The committed results, their
blocks and the README's findings stay those of the machine that produced the study.
"""

from __future__ import annotations

import re

from benchmarks.studies import STUDIES
from benchmarks.studies.provenance import committed_cpu, cpu_model
from benchmarks.studies.run import RESULTS, collect, read_results, run_cell, run_setup, write_results
from spo.analysis.runs import runs_root

REPLICATIONS = RESULTS / "replications"


def slug(cpu: str) -> str:
    """A directory name for a CPU model: ``Intel(R) Xeon(R) Processor`` -> ``intel-xeon-processor``."""
    return re.sub(r"[^a-z0-9]+", "-", cpu.lower().replace("(r)", "").replace("(tm)", "")).strip("-")


def claim_line(here: dict, there: dict) -> str:
    def one(c: dict) -> str:
        if "mean" not in c:
            return c["verdict"]
        return f"{c['verdict']} {c['mean']:+.4f} ({c['lo']:+.4f} to {c['hi']:+.4f}, seeds {c['seeds']})"

    return f"- {here['text']}: here {one(here)}; committed {one(there)}"


def replicate(name: str, arms: list[str] | None = None) -> None:
    study, cpu = STUDIES.get(name), cpu_model()
    committed = read_results(study)
    if committed_cpu(committed) == cpu:
        raise SystemExit(f"study {name} was produced on this CPU model ({cpu}): a replication here repeats it bit "
                         f"for bit; run make study-{name} to regenerate it")  # fmt: skip
    study.unknown_arms(arms)
    root = runs_root() / f"replicate-{slug(cpu)}"
    run_setup(study)
    for cell in study.cells(arms):
        run_cell(cell, root)
    results = collect(study, root)
    path = write_results(study, results, REPLICATIONS / slug(cpu) / f"{name}.json")
    print(f"[study] wrote {path}: {len(results['cells'])} cells on this {cpu}, against the committed ones on the "
          f"{committed_cpu(committed)}")  # fmt: skip
    for here, there in zip(results["claims"], committed["claims"]):
        print(claim_line(here, there), flush=True)
