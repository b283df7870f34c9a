"""The one registry style: every entry imports, carries its own flags, and validation reads the flags."""

from __future__ import annotations

import logging

import pytest
from omegaconf import OmegaConf
from test_config import make_config

from spo import plugins
from spo.cli import main
from spo.config import validate
from spo.errors import ConfigError
from spo.registry import Registry

REGISTRIES = [getattr(plugins, name) for name in dir(plugins) if isinstance(getattr(plugins, name), Registry)]


def test_every_registry_entry_imports():
    assert len(REGISTRIES) == 12
    for registry in REGISTRIES:
        for name in registry:
            assert callable(registry.get(name)), (registry.key, name)


def test_entries_carry_their_own_flags():
    assert [n for n in plugins.LOSSES if plugins.LOSSES.flag(n, "reference_free")] == ["simpo"]
    assert [n for n in plugins.LOSSES if plugins.LOSSES.flag(n, "needs_mismatched_pairs")] == ["kto"]
    needs = [n for n in plugins.PAIR_METRICS if plugins.PAIR_METRICS.flag(n, "needs_logprobs")]
    assert needs == ["alignment_potential", "implicit_margin"]
    assert [n for n in plugins.SCORERS if plugins.SCORERS.flag(n, "is_judge")] == ["judge", "rule_judge"]
    unmatchable = [n for n in plugins.PROMPT_POLICIES if not plugins.PROMPT_POLICIES.flag(n, "matchable")]
    assert unmatchable == ["curriculum", "random"]
    assert [n for n in plugins.PAIR_BUILDERS if plugins.PAIR_BUILDERS.flag(n, "needs_pools")] == ["cross"]
    assert [n for n in plugins.PREDICTORS if plugins.PREDICTORS.flag(n, "needs_features")] == ["both", "learned"]
    assert {n: plugins.PIPELINES.flag(n, "lag") for n in plugins.PIPELINES} == {"async": 0, "one_step_off": 1,
                                                                                "sync": 0}  # fmt: skip


def test_an_unknown_entry_names_the_key_and_the_known_ones():
    with pytest.raises(ConfigError, match=r"^learner.loss: unknown loss 'nope'; known: \['dpo', 'hinge', "):
        plugins.LOSSES.check("nope", "learner.loss")


def test_a_new_reference_free_loss_is_refused_with_dpo_margins_by_its_flag(monkeypatch):
    """No name is checked: a loss registered with reference_free=True is treated as SimPO is."""
    monkeypatch.setitem(plugins.LOSSES._entries, "my_free_loss", "spo.learner.losses.simpo:simpo")
    overrides = ("selection.pair_metric=alignment_potential", "selection.implicit=dpo", "learner.reference=initial")
    validate(make_config(*overrides, "learner.loss=dpo"))
    with pytest.raises(ConfigError, match="^selection.implicit: dpo needs a reference model, and learner.loss=my_free"):
        validate(make_config(*overrides, "learner.loss=my_free_loss"))


def test_the_old_selection_pairs_key_still_works_with_a_deprecation_warning(caplog):
    with caplog.at_level(logging.WARNING):
        cfg = make_config("selection.pairs=explicit_margin")
    assert cfg.selection.pair_metric == "explicit_margin" and cfg.selection.pairs is None
    assert "selection.pairs is deprecated" in caplog.text
    with pytest.raises(ConfigError, match="^selection.pairs: deprecated name of selection.pair_metric, and the two"):
        make_config("selection.pairs=explicit_margin", "selection.pair_metric=uniform")


def test_a_run_saved_with_the_old_key_resumes(tmp_path):
    from spo.run_state import resume_point

    saved = OmegaConf.structured(make_config(f"run_dir={tmp_path}", "selection.pair_metric=uniform"))
    saved.selection.pairs, saved.selection.pair_metric = "uniform", "all"  # as written before the rename
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(saved))
    (tmp_path / "metrics.jsonl").write_text('{"iteration": -1, "stage": "eval"}\n')
    assert resume_point(make_config(f"run_dir={tmp_path}", "selection.pair_metric=uniform")) == -1


def test_old_command_names_still_work_with_a_deprecation_message(tmp_path, capsys):
    assert main(["train", str(tmp_path / "none.jsonl"), "--model", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'spo train' is deprecated and will be removed; use 'spo train-offline'" in err
    assert "none.jsonl: no such file" in err
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("spo ")


def test_help_names_the_self_play_entry_point(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "python -m spo.train" in out and "train-offline" in out and "--version" in out


def test_each_scorer_backend_checks_and_builds_its_own_section(tmp_path):
    from spo.reward.base import ScorerContext
    from spo.reward.config import ScorerConfig

    ctx = ScorerContext(policy_path="/p", engine="vllm")
    model = tmp_path / "rm"
    model.mkdir()
    rm = ScorerConfig(backend="sequence_classifier", path=str(model), batch_size=8, chat_template="scorer")
    assert plugins.SCORERS.get("sequence_classifier").kwargs(rm, ctx) == {
        "path": str(model),
        "policy_path": "/p",
        "batch_size": 8,
        "trust_remote_code": False,
        "chat_template": "scorer",
    }
    judge = ScorerConfig(backend="judge", path=str(model), dimensions=["a"], max_new_tokens=9)
    assert plugins.SCORERS.get("judge").kwargs(judge, ctx)["engine"] == "vllm"
    rule = ScorerConfig(backend="rule", fn="spo.tasks.sort_digits:reward")
    assert plugins.SCORERS.get("rule").kwargs(rule, ctx) == {"fn": "spo.tasks.sort_digits:reward"}
    for section, message in (
        (ScorerConfig(backend="sequence_classifier"), r"^r.path: a sequence_classifier scorer needs a checkpoint path"),
        (ScorerConfig(backend="judge", path=str(model)), r"^r.dimensions: a judge needs at least one dimension"),
        (ScorerConfig(backend="rule_judge", fn="spo.tasks.sort_digits:judge"), r"^r.dimensions: a judge needs"),
        (ScorerConfig(backend="rule", fn="spo.tasks.sort_digits:nope"), r"^r.fn: cannot import fn"),
    ):
        with pytest.raises(ConfigError, match=message):
            section.validate("r")
