"""``python -m benchmarks.studies run NAME... [--fresh]`` runs studies and regenerates their results;
``render`` rewrites every generated block from the committed results JSON; ``collect NAME...`` rebuilds a
study's JSON from its finished runs without running anything; ``check NAME...`` runs each study's check cell and
records its figure as this CPU model's reference for the studies tier (:mod:`benchmarks.studies.checks`);
``replicate NAME [--arms ...]`` runs a study's cells on another CPU model and records their results and verdicts
apart from the committed ones (:mod:`benchmarks.studies.replicate`)."""

from __future__ import annotations

import argparse
import shutil

from benchmarks.studies import STUDIES
from benchmarks.studies.checks import check
from benchmarks.studies.plot import plot_study
from benchmarks.studies.provenance import REPO
from benchmarks.studies.render import README_BLOCK, findings_block, replace_block, study_block
from benchmarks.studies.replicate import replicate
from benchmarks.studies.run import collect, read_results, run_cell, run_dir, run_setup, write_results
from spo.io import atomic_file

RESULTS_DIR = REPO / "benchmarks" / "results"
README = REPO / "README.md"


def _write(path, text: str) -> None:
    with atomic_file(path, "w") as fh:
        fh.write(text)


def render_all() -> None:
    """Every study's block in its results file, and the README's findings, from the committed JSON."""
    done = []
    for name in STUDIES.names():
        study = STUDIES.get(name)
        try:
            results = read_results(study)
        except FileNotFoundError as exc:
            print(f"[study] {exc}")
            continue
        path = RESULTS_DIR / study.results
        _write(path, replace_block(path, study.name, study_block(study, results)))
        plot_study(study, results, RESULTS_DIR / f"study_{study.name}.png")
        done.append((study, results))
    _write(README, replace_block(README, README_BLOCK, findings_block(done)))


def run(names: list[str], fresh: bool, arms: list[str] | None = None) -> None:
    """Run the studies' cells (only those of ``arms`` if given: the rest are listed as not run yet)."""
    for name in names:
        study = STUDIES.get(name)
        if len(names) == 1:
            study.unknown_arms(arms)
        run_setup(study)
        for cell in study.cells(arms):
            if fresh and run_dir(cell).exists():
                shutil.rmtree(run_dir(cell))
            run_cell(cell)
        print(f"[study] wrote {write_results(study, collect(study))}")
    render_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.studies")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run studies' cells (each once per commit) and regenerate their results")
    p.add_argument("names", nargs="+", choices=STUDIES.names())
    p.add_argument("--fresh", action="store_true", help="remove the studies' runs first")
    p.add_argument("--arms", nargs="+", help="run only these arms (one study); the others stay listed as not run")
    c = sub.add_parser("collect", help="rebuild studies' results JSON from their finished runs")
    c.add_argument("names", nargs="+", choices=STUDIES.names())
    sub.add_parser("render", help="rewrite the generated blocks from the committed results")
    k = sub.add_parser("check", help="record studies' check cells as this CPU model's reference for the tier")
    k.add_argument("names", nargs="+", choices=STUDIES.names())
    r = sub.add_parser("replicate", help="run a study's cells on another CPU model, recorded apart from its results")
    r.add_argument("name", choices=STUDIES.names())
    r.add_argument("--arms", nargs="+", help="run only these arms (the claims that need others stay not run)")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.names, args.fresh, args.arms)
    elif args.command == "collect":
        for name in args.names:
            print(f"[study] wrote {write_results(STUDIES.get(name), collect(STUDIES.get(name)))}")
        render_all()
    elif args.command == "check":
        check(args.names)
    elif args.command == "replicate":
        replicate(args.name, args.arms)
    else:
        render_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
