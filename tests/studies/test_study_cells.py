"""The studies tier (``make test-studies``): one cell of every committed study, run again from scratch with
its exact command, must give the committed final held-out reward within the study's tolerance; on another CPU
model, the figure recorded for that model (:mod:`benchmarks.studies.checks`)."""

import shlex

import pytest

from benchmarks.studies import STUDIES
from benchmarks.studies.checks import committed_check, reference
from benchmarks.studies.provenance import cpu_model
from benchmarks.studies.run import RESULTS, cell_result, read_results, run_cell, run_setup

pytestmark = pytest.mark.studies
COMMITTED = [n for n in STUDIES.names() if (RESULTS / f"{n}.json").exists()]


@pytest.mark.parametrize("name", COMMITTED)
def test_one_cell_of_the_study_reproduces_its_committed_number(name, tmp_path):
    study = STUDIES.get(name)
    results = read_results(study)
    try:
        expected, source = reference(study, results, cpu_model())
    except LookupError as exc:
        pytest.skip(str(exc))
    committed = committed_check(study, results)
    cell = study.cell(*study.check)
    run_setup(study)  # the models the experiment needs (make demo-models for smollm2)
    assert shlex.split(committed["command"]) == cell.command(), f"{name}: the study's command changed; re-run it"
    final = cell_result(cell, run_cell(cell, tmp_path), study.metric)["final"]
    assert final == pytest.approx(expected, abs=study.tolerance), (
        f"study {name}, {cell.arm} seed {cell.seed}: final held-out reward {final:.4f} at this commit against "
        f"{expected:.4f} {source}; tolerance {study.tolerance}. Regenerate with: make study-{name}   (this cell: "
        f"{committed['command']})"
    )
