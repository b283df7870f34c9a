"""spo plan: the roles' placement on a described cluster, without starting anything."""

import json

from test_config import make_config

from spo.cli import main
from spo.cluster.plan import Node, groups, place, render


def test_the_8b_preset_packs_its_learner_on_one_node_of_two():
    cfg = make_config("experiment=onpolicy_ultrafeedback_armorm")
    text, data = render(cfg, [Node(64, 8), Node(64, 8)])
    roles = {r["role"]: r["nodes"] for r in data["roles"]}
    assert data["fits"] and data["gpus"] == 11 and data["cpus"] == 44
    assert roles["learner"] == [1] * 8 and roles["generators/llama3-8b-instruct"] == [0, 0]
    assert text.splitlines()[-1] == "needs 44 CPUs and 11 GPUs: fits"


def test_what_does_not_fit_is_named():
    cfg = make_config("experiment=onpolicy_ultrafeedback_armorm")
    _, data = render(cfg, [Node(64, 8)])
    assert not data["fits"] and data["missing"] == ["learner: 3 of 8 actors (4 CPUs, 1 GPUs each) fit on no node"]


def test_an_engine_wider_than_any_node_is_refused_though_the_totals_fit():
    cfg = make_config(
        "experiment=qwen_ladder", "cluster.generator_gpus=8", "generator.engine_kwargs.tensor_parallel_size=8"
    )
    plan = groups(cfg)
    missing = place(plan, [Node(64, 4)] * 4)  # 16 GPUs for 11 asked, but no node has 8
    assert missing == ["generators/llama3-8b-instruct: 1 of 1 actors (4 CPUs, 8 GPUs each) fit on no node"]
    assert [g.nodes for g in plan if g.role == "learner"] == [[0, 0]]


def test_the_plan_command_prints_json(capsys):
    argv = ["plan", "experiment=paper_difficulty", "--nodes", "3", "--gpus-per-node", "4", "--cpus-per-node", "32"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (
        data["fits"]
        and data["gpus"] == 12
        and sorted(r["role"] for r in data["roles"])[-2:] == ["scorers/armorm", "scorers/skywork"]
    )
    learner = next(r for r in data["roles"] if r["role"] == "learner")
    assert len(set(learner["nodes"])) == 2  # 8 ranks on 4-GPU nodes span two of them


def test_simulated_gpus_are_refused_outside_the_test_suite(monkeypatch):
    import pytest

    from spo.cluster.simulate import with_stand_ins
    from spo.errors import ConfigError

    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    with pytest.raises(ConfigError, match=r"^cluster.simulate_gpus: refused outside the test suite"):
        with_stand_ins(make_config("experiment=qwen_ladder", "cluster.simulate_gpus=true"))
