"""Multi-turn prompts from a Hugging Face dataset, end to end: every role sees the whole conversation, and
the trained pairs leave as a datasets directory that TRL's DPOTrainer takes unchanged."""

import json

import pyarrow.parquet as pq
import pytest
from hf_datasets import chat_rows, save_dict
from test_e2e import tiny_config

from spo.chat import conversation, encode_context
from spo.cli import main
from spo.io import read_jsonl
from spo.reward.sequence_classifier import SequenceClassifierScorer
from spo.runner import SelfPlayRunner
from spo.tasks.sort_digits import generate_prompts


def _dataset(path) -> tuple[str, list[str]]:
    prompts = [r["prompt"] for r in generate_prompts(80, seed=1, min_len=2, max_len=5)]
    train, test = prompts[:64], prompts[64:]
    src = save_dict(path, {"train": {"messages": chat_rows(train, True), "id": [f"q{i}" for i in range(64)]},
                           "test": {"messages": chat_rows(test, False), "id": [f"h{i}" for i in range(16)]}})  # fmt: skip
    return src, train


@pytest.mark.usefixtures("ray_cluster")
def test_multi_turn_prompts_reach_every_role_whole_and_export_to_trl(tmp_path, cache_dir, tiny_policy, tiny_classifier):
    src, train = _dataset(tmp_path / "ds")
    run_dir = tmp_path / "run"
    cfg = tiny_config(run_dir, cache_dir, f"task.dataset={src}", "task.prompt_field=messages", "task.id_field=id",
                      "task.heldout_split=test", "iterations=1", "prompts_per_iteration=32", "tracking.backends=[]",
                      "learner.reference_from_sampler=true",
                      f"+reward.scorers={{rm:{{backend:sequence_classifier,path:{tiny_classifier}}}}}")  # fmt: skip
    SelfPlayRunner(cfg).run()

    history = encode_context(chat_rows(["x"], True)[0][:3])
    samples = pq.read_table(run_dir / "iter_0" / "samples.parquet").to_pylist()
    assert {s["context"] for s in samples} == {history} and {s["prompt"] for s in samples} <= set(train)
    pairs = pq.read_table(run_dir / "iter_0" / "pairs.parquet")
    assert set(pairs.column("context").to_pylist()) == {history}
    # the learner re-scored the sampler's log-probs by a teacher-forced pass over the same conversation
    learn = next(x for x in read_jsonl(run_dir / "metrics.jsonl") if x["stage"] == "learn")
    assert learn["reference_from_sampler"] > 0 and learn["sampler_max_diff"] < 1e-3
    # the reward model scored the whole conversation, not the last turn alone
    rm = SequenceClassifierScorer(tiny_classifier, tiny_policy)
    some = samples[:4]
    whole = rm.score([conversation(s["prompt"], s["context"]) for s in some], [s["response"] for s in some])
    assert whole == pytest.approx([s["reward/rm"] for s in some], abs=1e-4)
    assert rm.score([s["prompt"] for s in some], [s["response"] for s in some]) != pytest.approx(whole, abs=1e-4)
    from datasets import load_dataset  # as the README documents

    pairs_ds = load_dataset("parquet", data_files={"train": str(run_dir / "iter_*" / "pairs.parquet")}, split="train")
    assert pairs_ds.num_rows == pairs.num_rows and pairs_ds[0]["context"] == history
    heldout = pq.read_table(run_dir / "eval" / "policy_v1.parquet")
    assert set(heldout.column("context").to_pylist()) == {None}

    _export_and_train_in_trl(run_dir, tmp_path, tiny_policy, json.loads(history))


def _export_and_train_in_trl(run_dir, tmp_path, tiny_policy, history):
    from datasets import load_from_disk
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    out = tmp_path / "pairs_hf"
    assert main(["export", str(run_dir), "--iteration", "0", "--format", "hf", "--out", str(out)]) == 0
    dataset = load_from_disk(str(out))
    assert dataset[0]["prompt"][:-1] == history and dataset[0]["prompt"][-1]["role"] == "user"
    assert "context" not in dataset.column_names  # folded into the prompt's turns
    assert main(["export", str(run_dir), "--iteration", "0", "--format", "hf", "--out", str(out)]) == 2  # not replaced
    assert (
        main(
            ["export", str(run_dir), "--iteration", "0", "--trl-format", "standard", "--out", str(tmp_path / "s.jsonl")]
        )
        == 2
    )
    args = DPOConfig(output_dir=str(tmp_path / "trl"), max_steps=2, per_device_train_batch_size=4, report_to=[],
                     use_cpu=True, save_strategy="no")  # fmt: skip
    trainer = DPOTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_policy), args=args, train_dataset=dataset,
                         processing_class=AutoTokenizer.from_pretrained(tiny_policy))  # fmt: skip
    assert trainer.train().global_step == 2
