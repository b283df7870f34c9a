"""Bad input is refused before any actor starts, naming the culprit, and leaves no run directory behind."""

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hf_datasets import save_dict
from test_e2e import tiny_config
from transformers import AutoTokenizer

from spo.data.config import TaskConfig
from spo.data.prompts import PromptFileError, screen_prompts
from spo.errors import ConfigError
from spo.runner import SelfPlayRunner

GOOD = b'{"prompt_id": "a", "prompt": "Sort: 3 1 2"}\n{"prompt_id": "b", "prompt": "Sort: 9 8"}\n'
HELDOUT = b'{"prompt_id": "h", "prompt": "Sort: 5 4"}\n'


def _prompts(content: bytes, suffix: str = ".jsonl"):
    """A prompts file with ``content`` beside a good held-out file."""

    def make(d: Path) -> list[str]:
        (d / f"train{suffix}").write_bytes(content)
        (d / "heldout.jsonl").write_bytes(HELDOUT)
        return [f"task.prompts_file={d / f'train{suffix}'}", f"task.heldout_file={d / 'heldout.jsonl'}",
                "task.name=custom"]  # fmt: skip

    return make


def _overrides(*items: str):
    return lambda d: list(items)


def _no_chat_template(policy: str):
    def make(d: Path) -> list[str]:
        model = d / "model"
        shutil.copytree(policy, model)
        (model / "chat_template.jinja").unlink(missing_ok=True)
        return [f"model.path={model}"]

    return make


def _parquet(d: Path) -> list[str]:
    (d / "train.parquet").write_bytes(b"PAR1 this is not parquet")
    (d / "heldout.jsonl").write_bytes(HELDOUT)
    return [f"task.prompts_file={d / 'train.parquet'}", f"task.heldout_file={d / 'heldout.jsonl'}", "task.name=custom"]


def _dataset(splits: dict, *overrides: str):
    """A save_to_disk dataset with ``splits`` as ``task.dataset``."""

    def make(d: Path) -> list[str]:
        return [f"task.dataset={save_dict(d / 'ds', splits)}", "task.name=custom", *overrides]

    return make


def _overlap(d: Path) -> list[str]:
    (d / "train.jsonl").write_bytes(GOOD)
    (d / "heldout.jsonl").write_bytes(b'{"prompt": "Sort: 9 8"}\n')
    return [f"task.prompts_file={d / 'train.jsonl'}", f"task.heldout_file={d / 'heldout.jsonl'}", "task.name=custom"]


CASES = [
    ("empty prompt", _prompts(b'{"prompt_id": "a", "prompt": "Sort: 1"}\n{"prompt_id": "b", "prompt": "   "}\n'), "prompt 'b' is empty"),
    ("over-long prompt", _prompts(GOOD.replace(b"3 1 2", b"3 1 2 " * 200)), "prompt 'a' has .* tokens, over task.max_prompt_tokens=512"),
    ("non-UTF-8 bytes", _prompts(b'{"prompt": "caf\xe9"}\n'), r"train.jsonl: row 1: not a JSON object .*utf-8"),
    ("duplicate prompt ids", _prompts(b'{"prompt_id": "x", "prompt": "a"}\n{"prompt_id": "x", "prompt": "b"}\n'), "row 2: duplicate prompt id 'x'"),
    ("prompt not a string", _prompts(b'{"prompt": 5}\n'), "row 1: field 'prompt' is int, expected a string or a list of chat messages"),
    ("row not JSON", _prompts(b'{"prompt": "a"}\nnot json\n'), "row 2: not a JSON object"),
    ("empty prompt file", _prompts(b"\n\n"), "train.jsonl: prompt file is empty"),
    ("unsupported file type", _prompts(GOOD, ".txt"), "unsupported prompt file type '.txt'"),
    ("corrupt parquet", _parquet, "train.parquet: not a readable Parquet file"),
    ("held-out overlaps train", _overlap, "1 held-out prompts also appear in the training set"),
    ("dataset column missing", _dataset({"train": {"text": ["a"]}}, "task.heldout_fraction=0.5"), r"task.dataset .*/ds split 'train': no column 'prompt'; it has \['text'\]"),
    ("dataset prompt not text", _dataset({"train": {"prompt": [1, 2]}}, "task.heldout_fraction=0.5"), r"split 'train': row 1: field 'prompt' is int"),
    ("messages without a user turn", _dataset({"train": {"m": [[{"role": "system", "content": "s"}]] * 2}}, "task.prompt_field=m", "task.heldout_fraction=0.5"), r"split 'train': row 1: field 'm': the 1 chat messages hold no user turn"),
    ("dataset split missing", _dataset({"train": {"prompt": ["a", "b"]}}, "task.heldout_split=test"), r"task.dataset: .*/ds has no split 'test'; it has \['train'\]"),
    ("hub dataset not cached", _overrides("task.dataset=acme/not-cached", "task.heldout_fraction=0.1"), "task.dataset: acme/not-cached: not a local path, and not in the datasets cache"),
    ("missing prompts file", _overrides("task.name=custom", "task.prompts_file=/nope/train.jsonl", "task.heldout_file=/nope/h.jsonl"), "task.prompts_file: no such file: /nope/train.jsonl"),
    ("model path missing", _overrides("model.path=/nope/model"), "model.path: no such directory: /nope/model"),
    ("hub id while offline", _overrides("model.path=org/model"), "a hub id is accepted only when HF_HUB_OFFLINE is unset"),
    ("reward model path missing", _overrides("+reward.scorers={rm:{backend:sequence_classifier,path:/nope/rm}}"), "reward.scorers.rm.path: no such directory"),
    ("rule fn not importable", _overrides("reward.scorers.rule.fn=spo.tasks.sort_digits:nope"), "reward.scorers.rule.fn: cannot import"),
    ("unknown scorer backend", _overrides("reward.scorers.rule.backend=magic"), "reward.scorers.rule.backend: unknown backend 'magic'"),
    ("primary not a scorer", _overrides("reward.primary=rm"), "reward.primary: 'rm' is not one of reward.scorers"),
    ("one sample per prompt", _overrides("generator.n_samples=1"), "generator.n_samples: must be >= 2"),
    ("beta zero", _overrides("learner.beta=0"), "learner.beta: must be > 0"),
    ("drop fraction 1", _overrides("selection.prompts=drop_hardest", "selection.fraction=1.0"), r"selection.fraction: must be in \[0, 1\)"),
    ("difficulty file unset", _overrides("difficulty.source=file"), "difficulty.file: required"),
    ("baseline file missing", _overrides("eval.baseline=/nope/answers.jsonl"), "eval.baseline: no such file"),
    ("bad on_bad_prompt", _overrides("task.on_bad_prompt=maybe"), "task.on_bad_prompt: must be error|drop"),
    ("failure fraction above 1", _overrides("reward.max_failure_fraction=2"), r"reward.max_failure_fraction: must be in \[0, 1\]"),
    ("unknown config key", _overrides("+learner.betta=0.1"), "learner.betta: no such config key"),
]  # fmt: skip


@pytest.mark.parametrize("name,make,message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_naming_the_culprit(tmp_path, cache_dir, tiny_policy, name, make, message):
    run_dir = tmp_path / "run"
    with pytest.raises((ConfigError, PromptFileError), match=message):
        SelfPlayRunner(tiny_config(run_dir, cache_dir, *make(tmp_path)))
    assert not run_dir.exists()


def test_tokenizer_without_chat_template_is_refused(tmp_path, cache_dir, tiny_policy):
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError, match="model.path: .*tokenizer has no chat template"):
        SelfPlayRunner(tiny_config(run_dir, cache_dir, *_no_chat_template(tiny_policy)(tmp_path)))
    assert not run_dir.exists()


@pytest.mark.usefixtures("ray_cluster")
def test_layout_that_does_not_fit_the_cluster_is_refused(tmp_path, cache_dir, tiny_policy):
    run_dir = tmp_path / "run"
    runner = SelfPlayRunner(tiny_config(run_dir, cache_dir, "generator.num_workers=3", "cluster.generator_cpus=1"))
    with pytest.raises(
        ConfigError, match=r"cluster: the roles need 3.75 CPUs \(generators 3, .*\) but the Ray cluster has 2"
    ):
        runner.start()
    assert not run_dir.exists()


def test_bad_prompts_can_be_dropped_and_counted(tiny_policy):
    tok = AutoTokenizer.from_pretrained(tiny_policy)
    rows = [{"prompt_id": "ok", "prompt": "Sort: 2 1"}, {"prompt_id": "empty", "prompt": " "},
            {"prompt_id": "long", "prompt": "Sort: " + "1 " * 100}]  # fmt: skip
    kept, counts = screen_prompts(rows, tok, TaskConfig(max_prompt_tokens=64, on_bad_prompt="drop"), "t.jsonl")
    assert [r["prompt_id"] for r in kept] == ["ok"]
    assert counts == {"dropped_empty": 1, "dropped_too_long": 1}
    with pytest.raises(PromptFileError, match="no usable prompt left"):
        screen_prompts(rows[1:], tok, TaskConfig(max_prompt_tokens=64, on_bad_prompt="drop"), "t.jsonl")


def test_parquet_prompt_file_round_trips(tmp_path):
    from spo.data.prompts import load_prompt_file

    pq.write_table(pa.table({"prompt": ["a", "b"]}), tmp_path / "p.parquet")
    assert [r["prompt_id"] for r in load_prompt_file(tmp_path / "p.parquet")] == ["row-000001", "row-000002"]


def test_a_second_driver_on_a_run_in_progress_is_refused_before_anything_starts(tmp_path, cache_dir, tiny_policy):
    import subprocess
    import sys

    from spo.run_lock import LOCK_NAME, RunLockedError

    run_dir = tmp_path / "run"
    hold = "import sys, time; from spo.run_lock import RunLock; RunLock(sys.argv[1]).acquire(); print('ok', flush=True); time.sleep(120)"
    holder = subprocess.Popen([sys.executable, "-c", hold, str(run_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        runner = SelfPlayRunner(tiny_config(run_dir, cache_dir))
        with pytest.raises(
            RunLockedError, match=rf"run_dir: {run_dir} is in use by another driver \(host .*, pid {holder.pid}"
        ):
            runner.run()
        assert [p.name for p in run_dir.iterdir()] == [LOCK_NAME] and getattr(runner, "roles", None) is None
    finally:
        holder.kill()
        holder.wait()
