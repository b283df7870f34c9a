"""The studies machinery (benchmarks/studies): verdicts against scipy's t-test, commands, generated blocks,
and the committed results files and README agreeing with the results JSON."""

import math
import subprocess

import pytest
from scipy import stats

from benchmarks.studies import STUDIES
from benchmarks.studies.base import Claim, Study
from benchmarks.studies.render import README_BLOCK, current_block, findings_block, replace_block, study_block
from benchmarks.studies.run import RESULTS, claim_results, read_results
from benchmarks.studies.verdict import paired_interval, verdict

README = RESULTS.parents[2] / "README.md"


@pytest.mark.parametrize("diffs", [[0.014, 0.004, -0.0004], [0.03, 0.05, 0.04, 0.02], [-0.1, 0.2]])
def test_the_paired_interval_is_scipys_one_sample_t_interval(diffs):
    ref = stats.ttest_1samp(diffs, 0.0).confidence_interval(0.95)
    mean, lo, hi = paired_interval(diffs)
    assert mean == pytest.approx(sum(diffs) / len(diffs))
    assert (lo, hi) == pytest.approx((ref.low, ref.high), rel=1e-9)


def test_verdicts_follow_the_interval():
    assert verdict([0.03, 0.05, 0.04], "better")[0] == "reproduces"
    assert verdict([-0.03, -0.05, -0.04], "better")[0] == "does not reproduce"
    assert verdict([0.014, 0.004, -0.0004], "better")[0] == "inconclusive"
    assert verdict([0.001, -0.002, 0.0], "matches", 0.02)[0] == "reproduces"
    assert verdict([-0.05, -0.06, -0.04], "matches", 0.02)[0] == "does not reproduce"
    label, reason = verdict([0.01], "better")
    assert label == "inconclusive" and "one seed" in reason
    with pytest.raises(ValueError, match="unknown claim kind"):
        verdict([0.1, 0.2], "beats")


def _study(**kw) -> Study:
    base = dict(name="toy", title="Toy", results="toy.md", experiment="pair_metrics",
                arms={"a": ("x=1",), "b": ("experiment=other", "x=2")},
                claims=(Claim("a beats b", "a", "b"), Claim("a improves", "a", "initial")), check=("a", 0))  # fmt: skip
    return Study(**{**base, **kw})


def test_a_cell_command_is_one_training_run_and_an_arm_may_name_its_experiment():
    study = _study()
    a, b = study.cell("a", 1), study.cell("b", 2)
    assert a.command() == ["python", "-m", "spo.train", "experiment=pair_metrics", "x=1", "seed=1",
                           "run_name=study-toy-a-s1"]  # fmt: skip
    assert b.command()[3:5] == ["experiment=other", "x=2"] and "experiment=pair_metrics" not in b.command()
    assert len({c.run_name for c in study.cells()}) == len(study.cells()) == 6


def test_claims_pair_seeds_and_skip_seeds_an_arm_lacks():
    cells = [{"arm": "a", "seed": s, "final": 0.6 + s / 100, "initial": 0.5} for s in (0, 1, 2)]
    cells += [{"arm": "b", "seed": s, "final": 0.55, "initial": 0.5} for s in (0, 1)]
    better, improves = claim_results(_study(), cells)
    assert better["seeds"] == [0, 1] and better["diffs"] == pytest.approx([0.05, 0.06])
    assert improves["diffs"] == pytest.approx([0.1, 0.11, 0.12]) and improves["verdict"] == "reproduces"


def test_a_claim_judged_after_an_iteration_reads_that_evaluation():
    curve = {"a": [0.5, 0.6, 0.7, 0.2], "b": [0.5, 0.55, 0.58, 0.4]}
    cells = [
        {"arm": k, "seed": s, "final": c[-1], "initial": c[0], "curve": c} for k, c in curve.items() for s in (0, 1)
    ]
    study = _study()
    early = Study(**{**study.__dict__, "claims": (Claim("a beats b early", "a", "b", after=2),)})
    (row,) = claim_results(early, cells)
    assert row["diffs"] == pytest.approx([0.12, 0.12])
    (final,) = claim_results(Study(**{**study.__dict__, "claims": (Claim("a beats b", "a", "b"),)}), cells)
    assert final["diffs"] == pytest.approx([-0.2, -0.2])
    late = Study(**{**study.__dict__, "claims": (Claim("too late", "a", "b", after=4),)})
    with pytest.raises(ValueError, match="no evaluation after 4 iterations"):
        claim_results(late, cells)


def test_a_block_is_replaced_and_the_prose_around_it_kept(tmp_path):
    path = tmp_path / "r.md"
    path.write_text("# Title\n\nprose before\n\n<!-- BEGIN study toy (old) -->\nold\n<!-- END study toy -->\n\nafter\n")
    text = replace_block(path, "toy", "<!-- BEGIN study toy (new) -->\nnew\n<!-- END study toy -->")
    assert text == "# Title\n\nprose before\n\n<!-- BEGIN study toy (new) -->\nnew\n<!-- END study toy -->\n\nafter\n"
    path.write_text("only prose\n")
    assert replace_block(path, "toy", "B").endswith("only prose\n\nB\n")


def _committed():
    out = []
    for name in STUDIES.names():
        study = STUDIES.get(name)
        if (RESULTS / f"{name}.json").exists():
            out.append((study, read_results(study)))
    return out


def test_the_results_files_and_the_readme_show_what_the_results_json_holds():
    committed = _committed()
    assert committed, "no committed study results under benchmarks/results/studies"
    for study, results in committed:
        block = current_block(RESULTS.parent / study.results, study.name)
        assert block == study_block(study, results), (
            f"{study.results}: the {study.name} block differs from its results JSON; "
            "run python -m benchmarks.studies render"
        )
        for claim in results["claims"]:
            if claim.get("diffs") and len(claim["diffs"]) > 1:
                assert claim["verdict"] == verdict(claim["diffs"], claim["kind"], claim["margin"])[0]
                assert not math.isnan(claim["lo"])
    assert current_block(README, README_BLOCK) == findings_block(committed), "README findings: run ... render"


def test_the_figure_draws_each_arm_from_its_own_cells(tmp_path):
    from PIL import Image

    import benchmarks.studies.plot as plot_mod

    results = {"commits": ["abc1234"], "cells": [
        {"arm": "a", "seed": 0, "curve": [0.5, 0.6, 0.7]}, {"arm": "a", "seed": 1, "curve": [0.5, 0.55, 0.65]},
        {"arm": "b", "seed": 0, "curve": [0.5, 0.4, 0.3]}]}  # fmt: skip
    drawn = []
    real = plot_mod.save_figure

    def keep(fig, path):
        ax = fig.axes[0]
        drawn.extend((line.get_label(), list(line.get_ydata())) for line in ax.get_lines())
        real(fig, path)

    plot_mod.save_figure = keep
    try:
        plot_mod.plot_study(_study(), results, tmp_path / "s.png")
    finally:
        plot_mod.save_figure = real
    means = {label: y for label, y in drawn if not label.startswith("_")}
    assert means["a (mean of 2 seeds)"] == pytest.approx([0.5, 0.575, 0.675])
    assert means["b (mean of 1 seeds)"] == pytest.approx([0.5, 0.4, 0.3])
    assert Image.open(tmp_path / "s.png").size[0] > 0


def test_the_cpu_a_result_was_produced_on_is_read_back_from_its_machine_line():
    from benchmarks.studies.provenance import committed_cpu, cpu_model, machine

    assert committed_cpu({"machine": machine()}) == cpu_model()
    assert committed_cpu({"machine": "2 cores (Intel(R) Xeon(R) Processor), 24 GiB, no GPU; Linux"}) == (
        "Intel(R) Xeon(R) Processor"
    )
    assert "packages as constraints.txt" in machine()  # make setup installs exactly the pinned set


def test_vendored_copies_on_the_path_do_not_count_as_installed_packages():
    """Importing setuptools (DeepSpeed's op builder does) appends its _vendor directory, with older copies of
    more-itertools and platformdirs, to sys.path; the packages an import resolves are still the pinned ones."""
    import sys

    import setuptools  # noqa: F401

    from benchmarks.studies.provenance import environment

    assert any(p.endswith("_vendor") for p in sys.path)
    assert environment() == "packages as constraints.txt"


def test_a_result_is_dirty_when_any_file_but_the_studies_outputs_differs_from_the_commit(tmp_path):
    """A new script not committed yet produced the result as surely as an edited one; the studies' own outputs
    (benchmarks/results, README.md) do not make a run dirty."""
    from benchmarks.studies.provenance import commit, label

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)  # fmt: skip

    git("init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("commit", "-qm", "a")
    assert commit(tmp_path)[1] is False
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "t.md").write_text("table\n")
    (tmp_path / "README.md").write_text("findings\n")
    assert commit(tmp_path)[1] is False and label(tmp_path) == commit(tmp_path)[0]
    (tmp_path / "benchmarks" / "new_analysis.py").write_text("print(1)\n")
    assert commit(tmp_path)[1] is True and label(tmp_path) == commit(tmp_path)[0] + "-dirty"
