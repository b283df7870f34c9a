"""Offline mode: spo select / train / export on existing preference datasets."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from offline_rows import TRL_ROWS, write_jsonl

from spo.cli import main
from spo.offline.dataset import load_pairs


def test_select_trl_layout_with_given_logprobs(tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", TRL_ROWS)
    out = tmp_path / "out.parquet"
    argv = ["select", src, str(out), "--metric", "alignment_potential", "--fraction", "0.4", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kept"] == 1 and summary["total"] == 3 and summary["implicit_form"] == "length_normalized (given)"
    kept = pq.read_table(out).to_pylist()
    # explicit [1, .2, .2], |implicit| [.1, 1, .05] -> row 3 has small |implicit| but ties row 2 on explicit
    assert [r["prompt"] for r in kept] == ["sort: 3 1 2"]
    assert kept[0]["margin_implicit"] == pytest.approx(-0.1) and "alignment_potential" in kept[0]
    assert kept[0]["prompt_id"].startswith("sha1-")
    assert main(["select", src, str(tmp_path / "m.jsonl"), "--metric", "implicit_margin", "--fraction", "0.34"]) == 0
    assert [json.loads(x)["prompt_id"] for x in (tmp_path / "m.jsonl").read_text().splitlines()] == ["given"]


def test_select_all_responses_layout_and_dpo_form(tmp_path, capsys):
    rows = [
        {"prompt": "p1", "all_generated_responses": [[{"role": "assistant", "content": c}] for c in "abc"],
         "all_rm_scores": [0.1, 0.9, 0.5],
         "chosen_logps": -3.0, "rejected_logps": -5.0, "ref_chosen_logps": -4.0, "ref_rejected_logps": -4.0},
        {"prompt": "p2", "all_generated_responses": [[{"role": "assistant", "content": "x"}],
                                                     [{"role": "assistant", "content": "y"}]],
         "all_rm_scores": [2.0, 1.0], "chosen_logps": -3.0, "rejected_logps": -3.0, "ref_chosen_logps": -3.0,
         "ref_rejected_logps": -3.0},
    ]  # fmt: skip
    src = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), src)
    pairs = load_pairs(src)
    assert pairs.select(["chosen", "rejected"]).to_pylist() == [
        {"chosen": "b", "rejected": "a"},
        {"chosen": "x", "rejected": "y"},
    ]
    assert pairs.column("margin_explicit").to_pylist() == pytest.approx([0.8, 1.0])
    out = tmp_path / "o.jsonl"
    assert (
        main(
            [
                "select",
                str(src),
                str(out),
                "--metric",
                "implicit_margin",
                "--fraction",
                "0.5",
                "--beta",
                "0.5",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["implicit_form"] == "dpo (given)"
    assert [json.loads(x)["prompt"] for x in out.read_text().splitlines()] == ["p2"]  # |0| < |0.5 * 2|


@pytest.mark.parametrize(
    "rows,argv,message",
    [
        ([{"prompt": "p", "chosen": "a"}], [], "missing required columns"),
        ([{"prompt": "p", "all_generated_responses": ["a"], "all_rm_scores": [1.0]}], [],
         "row 1: needs at least 2 responses"),
        ([{"prompt": "p", "all_generated_responses": ["a", "b"], "all_rm_scores": [1.0, 1.0]}], [],
         "row 1: all 2 scores are equal"),
        (TRL_ROWS, ["--fraction", "0"], "--fraction: must be in (0, 1]"),
        (TRL_ROWS, ["--fraction", "1.5"], "--fraction: must be in (0, 1]"),
        (TRL_ROWS, ["--metric", "nope"], "unknown metric 'nope'"),
        ([{k: v for k, v in TRL_ROWS[0].items() if "logps" not in k}], ["--metric", "alignment_potential"],
         "needs --model PATH"),
        ([{**TRL_ROWS[0], "chosen_score": None}], [], "row 1: score must be a finite number"),
    ],
)  # fmt: skip
def test_select_bad_input_errors_and_writes_nothing(tmp_path, capsys, rows, argv, message):
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.parquet"
    assert main(["select", src, str(out), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "in.jsonl"]


def test_export_trl_writes_selected_pairs_in_trl_columns(tmp_path, capsys):
    run = tmp_path / "run"
    (run / "iter_0").mkdir(parents=True)
    pairs = pa.table({"prompt_id": ["a", "b"], "prompt": ["p", "q"], "chosen": ["c1", "c2"], "rejected": ["r1", "r2"],
                      "margin_explicit": [0.5, 0.1], "selected": [True, False]})  # fmt: skip
    pq.write_table(pairs, run / "iter_0" / "pairs.parquet")
    out = tmp_path / "trl.jsonl"
    assert main(["export", str(run), "--iteration", "0", "--out", str(out)]) == 0
    assert "wrote the 1 pairs trained on in iteration 0 (of 2 candidates)" in capsys.readouterr().out
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 1 and list(rows[0])[:3] == ["prompt", "chosen", "rejected"]
    assert rows[0]["prompt"] == [{"role": "user", "content": "p"}]  # TRL's conversational format by default
    assert rows[0]["chosen"] == [{"role": "assistant", "content": "c1"}]
    assert main(["export", str(run), "--iteration", "0", "--trl-format", "standard", "--out", str(out)]) == 0
    assert json.loads(out.read_text().splitlines()[0])["prompt"] == "p"
    assert main(["export", str(run), "--iteration", "3", "--out", str(out)]) == 2


def test_jsonl_rows_with_different_keys_keep_every_column(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "p", "chosen": "a", "rejected": "b", "chosen_score": 1,
                                               "rejected_score": 0}, {**TRL_ROWS[0], "prompt_id": "late"}])  # fmt: skip
    assert load_pairs(src).column("prompt_id").to_pylist()[1] == "late"


TIED = [
    {"prompt": "p1", "all_generated_responses": ["a", "b", "c"], "all_rm_scores": [0.1, 0.9, 0.5]},
    {"prompt": "p2", "all_generated_responses": ["a", "b"], "all_rm_scores": [0.3, 0.3]},
    {"prompt": "p3", "all_generated_responses": ["x", "y"], "all_rm_scores": [0.2, 0.7]},
    {"prompt": "p4", "all_generated_responses": ["only"], "all_rm_scores": [1.0]},
]


def test_tied_rows_are_skipped_counted_and_listed_and_the_rest_selected(tmp_path, capsys, caplog):
    src = write_jsonl(tmp_path / "in.jsonl", TIED)
    out, skipped = tmp_path / "out.jsonl", tmp_path / "skipped.jsonl"
    argv = ["select", src, str(out), "--metric", "explicit_margin", "--fraction", "1.0"]
    assert main([*argv, "--skipped", str(skipped), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["total"], summary["kept"], summary["skipped"]) == (2, 2, 2)
    assert [json.loads(x)["prompt"] for x in out.read_text().splitlines()] == ["p1", "p3"]
    listed = [json.loads(x) for x in skipped.read_text().splitlines()]
    assert [r["row"] for r in listed] == [2, 4]
    assert "all 2 scores are equal" in listed[0]["reason"] and "at least 2 responses" in listed[1]["reason"]

    out.unlink()
    assert main(argv) == 0  # without --skipped, each skipped row is logged by number
    assert "row 2 skipped: all 2 scores are equal" in caplog.text and "row 4 skipped" in caplog.text
    assert "2 rows gave no pair and were skipped" in capsys.readouterr().out


def test_read_pairs_keeps_source_rows_aligned_with_log_probs(tmp_path):
    from spo.offline.dataset import read_pairs

    rows = [{**r, "chosen_logps_mean": -float(i), "rejected_logps_mean": -2.0 * i} for i, r in enumerate(TIED, 1)]
    loaded = read_pairs(write_jsonl(tmp_path / "in.jsonl", rows))
    assert loaded.rows == [1, 3]
    assert loaded.pairs.column("chosen_logps_mean").to_pylist() == [-1.0, -3.0]


def _ultrafeedback_binarized(path, with_history: bool = False) -> str:
    """A small dataset in HuggingFaceH4/ultrafeedback_binarized's layout: a string prompt (or, with
    ``with_history``, chat messages), chosen/rejected as user+assistant messages, score_chosen/score_rejected."""
    from hf_datasets import SYSTEM, save_dict

    def split(rows):
        def turns(answer):
            return [{"role": "user", "content": "x"}, {"role": "assistant", "content": answer}]

        prompt = [[SYSTEM, {"role": "user", "content": r["prompt"]}] if with_history else r["prompt"] for r in rows]
        return {"prompt": prompt, "prompt_id": [f"id{i}" for i in range(len(rows))],
                "chosen": [turns(r["chosen"]) for r in rows], "rejected": [turns(r["rejected"]) for r in rows],
                "score_chosen": [r["chosen_score"] for r in rows], "score_rejected": [r["rejected_score"] for r in rows]}  # fmt: skip

    return save_dict(path, {"train_prefs": split(TRL_ROWS), "test_prefs": split(TRL_ROWS[:1])})


def test_select_reads_a_hub_format_dataset_directory_by_split(tmp_path, capsys):
    src = _ultrafeedback_binarized(tmp_path / "uf")
    out = tmp_path / "out.parquet"
    argv = ["select", src, str(out), "--split", "train_prefs", "--metric", "explicit_margin", "--fraction", "0.34"]
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 3
    kept = pq.read_table(out).to_pylist()
    assert [(r["prompt_id"], r["prompt"], r["chosen"], r["rejected"]) for r in kept] == [
        ("id0", "sort: 3 1 2", "1 2 3", "3 2 1")
    ]
    assert load_pairs(src, "test_prefs").num_rows == 1
    assert main(["select", src, str(tmp_path / "x.parquet"), "--split", "validation"]) == 2
    assert "has no split 'validation'; it has ['test_prefs', 'train_prefs']" in capsys.readouterr().err


def test_a_messages_prompt_keeps_its_earlier_turns(tmp_path):
    from hf_datasets import SYSTEM

    pairs = load_pairs(_ultrafeedback_binarized(tmp_path / "uf", with_history=True), "train_prefs")
    assert pairs.column("prompt").to_pylist()[0] == "sort: 3 1 2"
    assert json.loads(pairs.column("context")[0].as_py()) == [SYSTEM]
