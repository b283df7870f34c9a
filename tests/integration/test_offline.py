"""Offline mode: spo select / train / export on existing preference datasets."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from offline_rows import TRL_ROWS, write_jsonl
from transformers import AutoModelForCausalLM

from spo.cli import main


def _last_json(text: str) -> str:
    """The JSON object printed last (Ray actors may print to the same stdout)."""
    return text[text.rindex("\n{") + 1 :] if "\n{" in text else text[text.index("{") :]


def test_select_with_model_computes_logprobs(tmp_path, tiny_policy, capsys):
    rows = [{k: v for k, v in r.items() if "logps" not in k} for r in TRL_ROWS]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    assert main(["select", src, str(tmp_path / "o.parquet"), "--model", tiny_policy, "--fraction", "1", "--json"]) == 0
    summary = json.loads(_last_json(capsys.readouterr().out))
    assert summary["kept"] == 3 and summary["implicit_form"].startswith("length_normalized (")
    # the warmed-up policy prefers the correctly sorted answer in the first pair
    assert pq.read_table(tmp_path / "o.parquet").column("margin_implicit").to_pylist()[0] > 0


@pytest.mark.usefixtures("ray_cluster")
def test_train_offline_then_export_format(tmp_path, tiny_policy, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", TRL_ROWS * 4)
    out = tmp_path / "ckpt"
    assert main(["train-offline", src, "--model", tiny_policy, "--out", str(out), "--lr", "1e-3", "--json"]) == 0
    result = json.loads(_last_json(capsys.readouterr().out))
    assert result["pairs"] == 12 and result["pairs_trained"] == 12
    assert AutoModelForCausalLM.from_pretrained(out).config.model_type == "llama"


def test_trl_export_loads_and_trains_in_trl_dpotrainer(tmp_path, tiny_policy):
    """The exported file goes into TRL's DPOTrainer as it is, in TRL's conversational format (so TRL applies
    the chat template spo trained with), and trains."""
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer
    from trl.data_utils import is_conversational

    run = tmp_path / "run"
    (run / "iter_0").mkdir(parents=True)
    rows = [{"prompt_id": f"p{i}", "prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"],
             "margin_explicit": 0.5, "selected": True} for i, r in enumerate(TRL_ROWS * 3)]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows), run / "iter_0" / "pairs.parquet")
    out = tmp_path / "pairs.jsonl"
    assert main(["export", str(run), "--iteration", "0", "--out", str(out)]) == 0
    dataset = load_dataset("json", data_files=str(out), split="train")
    assert is_conversational(dataset[0]) and dataset[0]["prompt"] == [
        {"role": "user", "content": TRL_ROWS[0]["prompt"]}
    ]
    args = DPOConfig(output_dir=str(tmp_path / "trl"), max_steps=2, per_device_train_batch_size=4, report_to=[],
                     use_cpu=True, save_strategy="no")  # fmt: skip
    trainer = DPOTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_policy), args=args, train_dataset=dataset,
                         processing_class=AutoTokenizer.from_pretrained(tiny_policy))  # fmt: skip
    assert trainer.train().global_step == 2


def test_train_refuses_unknown_loss_before_starting_anything(tmp_path, tiny_policy, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", TRL_ROWS)
    assert main(["train-offline", src, "--model", tiny_policy, "--out", str(tmp_path / "ckpt"), "--loss", "nope"]) == 2
    assert "--loss: unknown loss 'nope'" in capsys.readouterr().err and not (tmp_path / "ckpt").exists()
