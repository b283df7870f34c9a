import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONF_DIR
from hydra import compose, initialize_config_dir

from spo.config import Config, register, to_config, validate
from spo.data.prompts import PromptFileError, load_prompt_file
from spo.errors import ConfigError

register()


def make_config(*overrides: str) -> Config:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        dcfg = compose("config", overrides=["run_dir=/tmp/unused", *overrides])
    return to_config(dcfg)


def test_default_and_tiny_configs_validate():
    validate(make_config())
    cfg = make_config("experiment=tiny")
    validate(cfg)
    assert cfg.iterations == 5 and cfg.run_name == "tiny"


@pytest.mark.parametrize(
    "override,key",
    [
        ("generator.n_samples=1", "generator.n_samples"),
        ("learner.beta=0", "learner.beta"),
        ("learner.beta=-0.1", "learner.beta"),
        ("learner.loss=nope", "learner.loss"),
        ("learner.zero_stage=4", "learner.zero_stage"),
        ("generator.engine=nope", "generator.engine"),
        ("generator.top_p=1.5", "generator.top_p"),
        ("reward.primary=missing", "reward.primary"),
        ("reward.scorers.rule.backend=nope", "reward.scorers.rule.backend"),
        ("model.path=/does/not/exist", "model.path"),
        ("task.prompts_file=/does/not/exist.jsonl", "task.prompts_file"),
        ("iterations=0", "iterations"),
        ("learner.reference=frozen", "learner.reference"),
        ("eval.difficulty_seed=1234", "eval.difficulty_seed"),
        ("eval.difficulty_samples=-1", "eval.difficulty_samples"),
        ("learner.sampler_tolerance=0", "learner.sampler_tolerance"),
        ("learner.padding_free=true", "learner.padding_free"),  # without learner.share_prompt
        ("model.tiny_sft_lr=0", "model.tiny_sft_lr"),
        ("difficulty.first_samples=2", "difficulty.first_samples"),  # without difficulty.source=predicted
        ("keep_checkpoints=-1", "keep_checkpoints"),
        ("eval.chunk_size=0", "eval.chunk_size"),
        ("pipeline.mode=nope", "pipeline.mode"),
    ],
)
def test_invalid_values_name_the_key(override, key):
    with pytest.raises(ConfigError, match=f"^{key}:"):
        validate(make_config(override))


@pytest.mark.parametrize("first,message", [(1, "must be >= 2, got 1"), (4, "must be below generator.n_samples=4")])
def test_first_samples_lies_between_two_and_the_samples_per_prompt(first, message):
    with pytest.raises(ConfigError, match=f"^difficulty.first_samples: {message}"):
        validate(make_config("experiment=tiny", "generator.n_samples=4", "difficulty.source=predicted",
                             "difficulty.features=text", f"difficulty.first_samples={first}"))  # fmt: skip
    validate(make_config("experiment=tiny", "generator.n_samples=4", "difficulty.source=predicted",
                         "difficulty.features=text", "difficulty.first_samples=3"))  # fmt: skip


def test_a_pipelined_run_keeps_the_checkpoint_its_lagged_generator_may_load():
    validate(make_config("keep_checkpoints=1"))
    validate(make_config("keep_checkpoints=1", "pipeline=async"))  # its generators hold the newest version
    validate(make_config("keep_checkpoints=2", "pipeline=one_step_off"))
    with pytest.raises(
        ConfigError,
        match="^keep_checkpoints: must be 0 or >= 2 with pipeline.mode=one_step_off: a generator restarted 1",
    ):
        validate(make_config("keep_checkpoints=1", "pipeline=one_step_off"))


def test_sampler_reference_needs_the_sampling_policy_as_reference():
    validate(make_config("learner.reference_from_sampler=true"))
    validate(make_config("learner.reference=sampling_policy"))
    with pytest.raises(ConfigError, match="^learner.reference: sampling_policy has no reference for learner.loss=kto"):
        validate(make_config("learner=kto", "learner.reference=sampling_policy"))
    with pytest.raises(ConfigError, match="^learner.reference_from_sampler: needs learner.reference=iteration_start"):
        validate(make_config("learner.reference_from_sampler=true", "learner.reference=initial"))


def test_unknown_key_is_rejected_by_schema():
    with pytest.raises(ConfigError, match="^learner.no_such_key: no such config key"):
        make_config("+learner.no_such_key=1")
    with pytest.raises(Exception, match="no_such_key"):
        make_config("no_such_key=1")


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "prompt file is empty"),
        (b'{"prompt": "a"}\nnot json\n', "row 2: not a JSON object"),
        (b'{"text": "a"}\n', "row 1: no field 'prompt'"),
        (b'{"prompt": 3}\n', "row 1: field 'prompt' is int, expected a string or a list of chat messages"),
        (
            b'{"prompt": [{"role": "system", "content": "s"}]}\n',
            "row 1: field 'prompt': the 1 chat messages hold no user turn",
        ),
        (b'{"prompt": "a", "prompt_id": "x"}\n{"prompt": "b", "prompt_id": "x"}\n', "row 2: duplicate prompt id 'x'"),
        (b'{"prompt": "a", "prompt_id": "x"}\n{"prompt": "b"}\n', "row 2: no value in id field 'prompt_id'"),
        (b'{"prompt": "caf\xe9"}\n', "row 1: not a JSON object"),
    ],
)
def test_bad_prompt_files_name_file_and_row(tmp_path, content, message):
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(content)
    with pytest.raises(PromptFileError, match=message) as err:
        load_prompt_file(path)
    assert str(path) in str(err.value)


def test_missing_and_unsupported_prompt_files(tmp_path):
    with pytest.raises(PromptFileError, match="does not exist"):
        load_prompt_file(tmp_path / "nope.jsonl")
    (tmp_path / "p.csv").write_text("prompt\na\n")
    with pytest.raises(PromptFileError, match="unsupported prompt file type"):
        load_prompt_file(tmp_path / "p.csv")


def test_prompt_file_loads_with_default_ids(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps({"prompt": p}) for p in ["sort: 1 2", "sort: 3 1"]) + "\n")
    assert load_prompt_file(path) == [
        {"prompt_id": "row-000001", "prompt": "sort: 1 2", "context": None},
        {"prompt_id": "row-000002", "prompt": "sort: 3 1", "context": None},
    ]


@pytest.mark.parametrize(
    "override,expected",
    [("generator.n_samples=1", "generator.n_samples: must be >= 2"), ("bogus_key=3", "bogus_key")],
)
def test_cli_refuses_bad_config_before_starting_anything(tmp_path, override, expected):
    proc = subprocess.run(
        [sys.executable, "-m", "spo.train", override, f"hydra.run.dir={tmp_path / 'run'}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert expected in proc.stdout + proc.stderr
    assert not (Path(tmp_path) / "run" / "metrics.jsonl").exists()
    assert "Started a local Ray instance" not in proc.stderr


def test_runner_refuses_to_continue_a_run_dir_holding_a_different_run(tmp_path):
    from omegaconf import OmegaConf

    from spo.runner import SelfPlayRunner

    (tmp_path / "metrics.jsonl").write_text('{"iteration": -1, "stage": "eval"}\n')
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(make_config(f"run_dir={tmp_path}", "seed=5")))
    cfg = make_config(f"run_dir={tmp_path}", "seed=6")
    with pytest.raises(ConfigError, match=r"holds a run with a different config \(seed: 5 -> 6\)"):
        SelfPlayRunner(cfg)
    assert (tmp_path / "metrics.jsonl").read_text() == '{"iteration": -1, "stage": "eval"}\n'


def test_runner_refuses_a_run_dir_with_metrics_but_no_config(tmp_path):
    from spo.runner import SelfPlayRunner

    (tmp_path / "metrics.jsonl").write_text('{"iteration": 0}\n')
    with pytest.raises(ConfigError, match="holds metrics.jsonl but no config.yaml"):
        SelfPlayRunner(make_config(f"run_dir={tmp_path}"))


def test_required_value_is_named(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    with pytest.raises(ConfigError, match=r"^task.prompts_file: required for task 'ultrafeedback' \(or task.dataset\)"):
        validate(make_config("experiment=paper_difficulty", "task.dataset=null"))


def test_hub_ids_only_when_online(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    online = make_config("experiment=paper_capacity", "task.prompts_file=x", "task.heldout_file=y")
    assert online.model.path == "Qwen/Qwen2.5-7B-Instruct" or online.model.path.startswith("meta-llama/")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="^model.path: .*only when HF_HUB_OFFLINE is unset"):
        validate(make_config("model=qwen2.5-0.5b"))


def test_readme_override_forms_for_dict_entries():
    cfg = make_config("+reward.scorers={rm:{backend:sequence_classifier,path:/models/my-rm}}",
                      "+generator.extra_pools={weak:{tiny_sft_steps:30}}")  # fmt: skip
    assert set(cfg.reward.scorers) == {"rule", "rm"} and cfg.reward.scorers["rm"].path == "/models/my-rm"
    assert cfg.generator.extra_pools["weak"].tiny_sft_steps == 30


def test_a_layout_that_does_not_fit_is_refused_before_actors_start():
    from spo.cluster.resources import check_fits, required_cpus

    cfg = make_config("+generator.extra_pools={strong:{},weak:{}}", "cluster.generator_cpus=0.5")
    assert required_cpus(cfg) == {"generators": 1.5, "scorers": 0.25, "learner": 0.5, "buffer": 0.0}
    with pytest.raises(ConfigError, match=r"^cluster: the roles need 2.25 CPUs \(generators 1.5, scorers 0.25"):
        check_fits(cfg, 2.0)
    check_fits(make_config("experiment=generator_delta"), 2.0)  # the preset fits the 2-core machine
    check_fits(make_config(), 2.0)


@pytest.mark.parametrize(
    "preset,gpus",
    [("onpolicy_ultrafeedback_armorm", 11), ("instruct_8b", 11), ("qwen_ladder", 4), ("paper_difficulty", 12)],
)
def test_gpu_presets_validate_and_state_their_gpus(monkeypatch, preset, gpus):
    from spo.cluster.resources import check_fits, required_gpus

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    cfg = make_config(f"experiment={preset}")
    validate(cfg)
    assert cfg.task.dataset == "HuggingFaceH4/ultrafeedback_binarized" and cfg.task.heldout_split == "test_prefs"
    assert cfg.generator.engine == "vllm" and cfg.sync.transport == "nccl"
    assert sum(required_gpus(cfg).values()) == gpus
    check_fits(cfg, available_cpus=500, available_gpus=gpus)
    with pytest.raises(ConfigError, match=rf"^cluster: the roles need {gpus} GPUs .* has {gpus - 1}; 1 missing"):
        check_fits(cfg, available_cpus=500, available_gpus=gpus - 1)


def test_roles_share_a_gpu_only_when_colocated():
    with pytest.raises(ConfigError, match=r"^cluster.scorer_gpus: 0.5 is a fraction of a GPU.*cluster.colocate=true"):
        validate(make_config("cluster.scorer_gpus=0.5"))
    validate(make_config("cluster.scorer_gpus=0.5", "cluster.colocate=true"))
    with pytest.raises(ConfigError, match=r"^cluster.generator_gpus: each vLLM engine needs tensor_parallel_size=2"):
        validate(
            make_config("generator=vllm", "cluster.generator_gpus=1", "generator.engine_kwargs.tensor_parallel_size=2")
        )


def test_resume_takes_the_saved_config_with_only_the_given_overrides(tmp_path):
    from omegaconf import OmegaConf

    from spo.run_state import resume_point
    from spo.train import resume_config

    saved = make_config(f"run_dir={tmp_path}", "seed=5", "iterations=2")
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(saved))
    (tmp_path / "metrics.jsonl").write_text('{"iteration": -1, "stage": "eval"}\n')
    cfg = resume_config(str(tmp_path), [f"resume={tmp_path}", "iterations=4", "run_name=other"])
    assert (cfg.seed, cfg.iterations, cfg.run_dir, cfg.resume) == (5, 4, str(tmp_path), str(tmp_path))
    assert resume_point(cfg) == -1  # same run, more iterations: it continues
    with pytest.raises(ConfigError, match=r"holds a run with a different config \(learner.lr: 0.0001 -> 0.5\)"):
        resume_point(resume_config(str(tmp_path), ["learner.lr=0.5"]))
    with pytest.raises(ConfigError, match="resume: .*config.yaml does not exist"):
        resume_config(str(tmp_path / "nope"), [])


def test_runs_root_must_be_absolute_when_the_driver_runs_as_a_ray_job(monkeypatch, tmp_path):
    from spo.config import RAY_JOB_ENV

    monkeypatch.setenv("SPO_RUNS_ROOT", "runs")
    cfg = make_config()
    assert cfg.runs_root == "runs"
    validate(cfg)  # a local driver: ./runs is fine
    monkeypatch.setenv(RAY_JOB_ENV, "{}")
    with pytest.raises(ConfigError, match="^runs_root: 'runs' puts the run in .*inside Ray's temporary copy"):
        validate(cfg)
    monkeypatch.setenv("SPO_RUNS_ROOT", str(tmp_path / "shared"))
    shared = make_config(f"run_dir={tmp_path / 'shared' / 'default'}")
    assert shared.runs_root == str(tmp_path / "shared")
    validate(shared)


def test_tiny_sft_learning_rate_reaches_the_warm_up(tmp_path):
    """``model.tiny_sft_lr`` names its own cached policy, warmed up at that rate (2 SFT steps: seconds)."""
    from spo.assets.paths import resolve_model_path

    paths = {}
    for lr in ("0.003", "0.0003"):
        cfg = make_config("model.tiny_sft_steps=2", f"model.tiny_sft_lr={lr}")
        validate(cfg)
        paths[lr] = Path(resolve_model_path(cfg.model, str(tmp_path)))
    assert paths["0.003"] != paths["0.0003"]
    specs = {lr: json.loads((p / "spo_tiny.json").read_text())["spec"] for lr, p in paths.items()}
    assert specs["0.003"]["sft_lr"] == 3e-3 and specs["0.0003"]["sft_lr"] == 3e-4
    assert {k: v for k, v in specs["0.003"].items() if k != "sft_lr"} == {
        k: v for k, v in specs["0.0003"].items() if k != "sft_lr"
    }
