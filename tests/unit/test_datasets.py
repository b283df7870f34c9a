"""Prompts from Hugging Face datasets as users hold them, loaded back through the real ``datasets`` code,
and conversations carried as one context column (spo.chat)."""

import json

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hf_datasets import SYSTEM, cache_entry, chat_rows, save_dict, sort_prompts

from spo.chat import chat_prompt, conversation, load_tokenizer, split_messages
from spo.data.config import TaskConfig
from spo.data.hf_dataset import DatasetSourceError
from spo.data.prompts import PromptFileError, load_prompts
from spo.errors import ConfigError


def task(**kw) -> TaskConfig:
    cfg = TaskConfig(name="custom", **kw)
    cfg.validate()
    return cfg


def test_a_messages_column_gives_the_last_user_turn_and_keeps_earlier_turns_as_context(tmp_path):
    train, test = sort_prompts(6), sort_prompts(2, start=50)
    src = save_dict(tmp_path / "ds", {"train": {"messages": chat_rows(train, True), "uid": [f"u{i}" for i in range(6)]},
                                      "test": {"messages": chat_rows(test, False), "uid": ["t0", "t1"]}})  # fmt: skip
    rows, heldout = load_prompts(task(dataset=src, prompt_field="messages", id_field="uid", heldout_split="test"))
    assert [r["prompt"] for r in rows] == train and [r["prompt_id"] for r in heldout] == ["t0", "t1"]
    assert json.loads(rows[0]["context"]) == chat_rows(train, True)[0][:3]  # the answer after the turn is dropped
    assert heldout[0]["context"] is None  # a single user turn has no context
    messages = conversation(rows[0]["prompt"], rows[0]["context"])
    assert messages[0] == SYSTEM and messages[-1] == {"role": "user", "content": train[0]}


def test_the_chat_template_renders_the_whole_conversation_once(tiny_policy):
    tok = load_tokenizer(tiny_policy)
    prompt, context = split_messages(chat_rows(["Sort: 2 1"], True)[0])
    text = chat_prompt(tok, conversation(prompt, context))
    assert (
        text
        == "<|system|>You are terse.<|end|><|user|>Hi.<|end|><|assistant|>Hello.<|end|><|user|>Sort: 2 1<|end|><|assistant|>"
    )
    assert (
        chat_prompt(tok, conversation(prompt, None))
        == chat_prompt(tok, "Sort: 2 1")
        == "<|user|>Sort: 2 1<|end|><|assistant|>"
    )


def test_parquet_shards_in_a_directory_load_with_their_splits(tmp_path):
    prompts = sort_prompts(9)
    (tmp_path / "data").mkdir()
    for i, part in enumerate((prompts[:4], prompts[4:7])):
        pq.write_table(pa.table({"prompt": part}), tmp_path / "data" / f"train-0000{i}-of-00002.parquet")
    pq.write_table(pa.table({"prompt": prompts[7:]}), tmp_path / "data" / "test-00000-of-00001.parquet")
    train, heldout = load_prompts(task(dataset=str(tmp_path), heldout_split="test"))
    assert sorted(r["prompt"] for r in train) == sorted(prompts[:7]) and len(heldout) == 2
    assert train[0]["prompt_id"] == "train-000001" and heldout[0]["prompt_id"] == "test-000001"


def test_an_empty_split_is_named(tmp_path):
    string = datasets.Features(prompt=datasets.Value("string"))
    splits = {
        "train": datasets.Dataset.from_dict({"prompt": ["a"]}),
        "test": datasets.Dataset.from_dict({"prompt": []}, string),
    }
    datasets.DatasetDict(splits).save_to_disk(str(tmp_path / "ds"), num_shards={"train": 1, "test": 1})
    with pytest.raises(DatasetSourceError, match=f"^task.dataset: {tmp_path / 'ds'} split 'test' is empty"):
        load_prompts(task(dataset=str(tmp_path / "ds"), heldout_split="test"))


def test_a_hub_id_loads_offline_from_the_datasets_cache_and_a_missing_one_says_so(tmp_path, monkeypatch):
    for split, part in (("train", sort_prompts(5)), ("test", sort_prompts(3, start=20))):
        pq.write_table(pa.table({"prompt": part, "prompt_id": [f"{split}{i}" for i in range(len(part))]}),
                       tmp_path / f"{split}.parquet")  # fmt: skip
    cache = tmp_path / "cache"
    cache_entry(cache, "acme/sort-prompts", {"train": tmp_path / "train.parquet", "test": tmp_path / "test.parquet"})
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    train, heldout = load_prompts(task(dataset="acme/sort-prompts", id_field="prompt_id", heldout_split="test"))
    assert [r["prompt_id"] for r in train] == [f"train{i}" for i in range(5)] and len(heldout) == 3
    with pytest.raises(DatasetSourceError, match=r"^task.dataset: acme/missing: not a local path, and not in the "
                       r"datasets cache .*nothing is downloaded at run time"):  # fmt: skip
        load_prompts(task(dataset="acme/missing", heldout_fraction=0.1))


def test_filter_max_prompts_and_a_seeded_heldout_fraction(tmp_path):
    prompts = sort_prompts(40)
    src = save_dict(tmp_path / "ds", {"train": {"prompt": prompts, "lang": ["en", "de"] * 20}})
    cfg = task(dataset=src, filter={"lang": "en"}, max_prompts=15, heldout_fraction=0.2, seed=3)
    train, heldout = load_prompts(cfg)
    assert (
        len(train) == 12
        and len(heldout) == 3
        and not {r["prompt_id"] for r in train} & {r["prompt_id"] for r in heldout}
    )
    assert {r["prompt"] for r in train + heldout} == set(prompts[:30:2])  # the first 15 English rows
    assert load_prompts(cfg) == (train, heldout)  # the same split every time
    assert all(int(r["prompt_id"].removeprefix("train-")) % 2 for r in train + heldout)  # the dataset's row numbers
    both = task(dataset=src, filter={"lang": ["en", "de"]}, heldout_fraction=0.5)
    assert sum(map(len, load_prompts(both))) == 40


@pytest.mark.parametrize(
    "kw,message",
    [
        (dict(prompts_file="x.jsonl"), "task.prompts_file: set task.dataset or task.prompts_file, not both"),
        (dict(), "task.heldout_split: with task.dataset, set exactly one of"),
        (dict(heldout_split="a", heldout_fraction=0.1), "task.heldout_split: with task.dataset, set exactly one of"),
        (dict(heldout_fraction=1.0), r"task.heldout_fraction: must be in \(0, 1\)"),
        (dict(heldout_split="train"), "task.heldout_split: must differ from task.split"),
        (dict(heldout_fraction=0.1, max_prompts=0), "task.max_prompts: must be >= 1"),
    ],
)
def test_dataset_settings_are_checked_naming_the_key(kw, message):
    with pytest.raises(ConfigError, match=f"^{message}"):
        TaskConfig(name="custom", dataset="acme/x", **kw).validate()


@pytest.mark.parametrize(
    "splits,kw,message",
    [
        ({"train": {"text": ["a"]}}, {}, r"split 'train': no column 'prompt'; it has \['text'\]"),
        ({"train": {"prompt": ["a"]}}, {"id_field": "uid"}, r"split 'train': no column 'uid'"),
        ({"train": {"prompt": ["a"]}}, {"filter": {"lang": "en"}}, r"split 'train': no column 'lang'"),
        (
            {"train": {"prompt": ["a"]}},
            {"heldout_split": "validation"},
            r"has no split 'validation'; it has \['train'\]",
        ),
        (
            {"train": {"prompt": ["a", "b", "c"], "n": [1, 2, 3]}},
            {"prompt_field": "n"},
            "split 'train': row 1: field 'n' is int, expected a string or a list of chat messages",
        ),
        (
            {"train": {"m": [[{"role": "user", "content": "a"}], [{"role": "system", "content": "s"}]]}},
            {"prompt_field": "m"},
            "split 'train': row 2: field 'm': the 1 chat messages hold no user turn",
        ),
        ({"train": {"prompt": ["a", "b"], "uid": ["x", "x"]}}, {"id_field": "uid"}, "row 2: duplicate prompt id 'x'"),
    ],
)
def test_bad_datasets_name_the_dataset_split_row_and_field(tmp_path, splits, kw, message):
    src = save_dict(tmp_path / "ds", splits)
    kw = {"heldout_fraction": 0.5, **kw} if "heldout_split" not in kw else kw
    with pytest.raises((PromptFileError, DatasetSourceError), match=f"task.dataset:? {src}.*{message}"):
        load_prompts(task(dataset=src, **kw))


def test_a_path_that_does_not_exist_is_not_taken_for_a_hub_id(tmp_path):
    with pytest.raises(DatasetSourceError, match=f"^task.dataset: {tmp_path}/nope: no such file or directory"):
        load_prompts(task(dataset=str(tmp_path / "nope"), heldout_fraction=0.1))
