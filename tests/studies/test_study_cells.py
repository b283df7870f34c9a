"""The studies tier (``make test-studies``): one cell of every committed study, run again from scratch with
its exact command, must give the committed final held-out reward within the study's tolerance."""

import shlex

import pytest

from benchmarks.studies import STUDIES
from benchmarks.studies.provenance import committed_cpu, cpu_model
from benchmarks.studies.run import RESULTS, cell_result, read_results, run_cell, run_setup

pytestmark = pytest.mark.studies
COMMITTED = [n for n in STUDIES.names() if (RESULTS / f"{n}.json").exists()]


@pytest.mark.parametrize("name", COMMITTED)
def test_one_cell_of_the_study_reproduces_its_committed_number(name, tmp_path):
    study = STUDIES.get(name)
    results = read_results(study)
    if committed_cpu(results) != cpu_model():
        pytest.skip(f"study {name} was produced on a {committed_cpu(results)} and this machine is a {cpu_model()}: runs "
                    "repeat bit for bit on one CPU model, not across models (vector kernels differ); regenerate it "
                    f"here with make study-{name} to compare")  # fmt: skip
    arm, seed = study.check
    committed = next(c for c in results["cells"] if c["arm"] == arm and c["seed"] == seed)
    cell = study.cell(arm, seed)
    run_setup(study)  # the models the experiment needs (make demo-models for smollm2)
    assert shlex.split(committed["command"]) == cell.command(), f"{name}: the study's command changed; re-run it"
    final = cell_result(cell, run_cell(cell, tmp_path), study.metric)["final"]
    assert final == pytest.approx(committed["final"], abs=study.tolerance), (
        f"study {name}, {arm} seed {seed}: final held-out reward {final:.4f} at this commit against "
        f"{committed['final']:.4f} committed (from {', '.join(results['commits'])}); tolerance {study.tolerance}. "
        f"Regenerate with: make study-{name}   (this cell: {committed['command']})"
    )
