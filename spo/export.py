"""``spo export``: a run's data in the formats other tools read today.

- ``trl``: the pairs trained on in one iteration, in TRL's conversational preference format
  (``prompt``/``chosen``/``rejected`` as message lists, a multi-turn prompt with its earlier turns, so
  TRL applies the chat template spo trained with); ``--trl-format standard`` writes plain strings.
- ``hf``: the same columns as a ``datasets`` directory (``save_to_disk``): ``datasets.load_from_disk``
  reads it, and TRL's ``DPOTrainer`` takes it unchanged.
- ``alpaca_eval``: one answer per held-out prompt as AlpacaEval model outputs (``instruction``,
  ``output``, ``generator``, ``dataset``): a JSON list for ``.json``, JSON lines for ``.jsonl``.
- ``arena_hard``: Arena-Hard-Auto's answer format (v2: ``uid``, ``ans_id``, ``model``, ``messages``
  with the answer under ``content.answer``, ``tstamp``, ``metadata`` with ``token_len`` and markdown
  counts for style control); ``--arena-version v0.1`` writes the older layout. ``token_len`` counts the
  policy's own tokens (``n_tokens``), not tiktoken's GPT-4o tokens, which need a download.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spo.chat import earlier_turns, row_conversation, turns
from spo.io import atomic_file
from spo.offline.dataset import DatasetError, write_table

TRL_COLUMNS = ("prompt", "chosen", "rejected")
CODE_BLOCK = re.compile(r"```([^`]*)```")


def conversational(pairs: pa.Table) -> pa.Table:
    """TRL's conversational preference columns: the prompt its turns (earlier turns included, so the
    ``context`` column is folded in), chosen and rejected assistant turns."""
    rows = pairs.select([c for c in (*TRL_COLUMNS, "context") if c in pairs.column_names]).to_pylist()
    columns = {
        "prompt": [turns(row_conversation(r)) for r in rows],
        "chosen": [[{"role": "assistant", "content": r["chosen"]}] for r in rows],
        "rejected": [[{"role": "assistant", "content": r["rejected"]}] for r in rows],
    }
    for name, values in columns.items():
        pairs = pairs.set_column(pairs.schema.get_field_index(name), name, pa.array(values))
    return pairs.drop_columns([c for c in ("context",) if c in pairs.column_names])


def standard(pairs: pa.Table) -> pa.Table:
    """TRL's standard (plain string) columns, which hold single-turn prompts only."""
    if "context" in pairs.column_names:
        multi = [i for i, c in enumerate(pairs.column("context").to_pylist()) if earlier_turns(c)]
        if multi:
            pid = pairs.column("prompt_id")[multi[0]].as_py()
            raise DatasetError(f"--trl-format standard: {len(multi)} pairs have multi-turn prompts (first: "
                               f"{pid!r}) that plain strings cannot hold; use --trl-format conversational")  # fmt: skip
        pairs = pairs.drop_columns(["context"])
    return pairs


def export_trl(run_dir: str, iteration: int, out: str, layout: str = "conversational",
               as_dataset: bool = False) -> dict:  # fmt: skip
    """The pairs trained on in ``iteration`` (``selected`` in ``pairs.parquet``) as TRL preference data:
    a Parquet / JSON-lines file, or (``as_dataset``) a ``datasets`` directory (``save_to_disk``).

    Metric columns ride along; DPOTrainer ignores columns it does not use.
    """
    path = Path(run_dir) / f"iter_{iteration}" / "pairs.parquet"
    if not path.exists():
        raise DatasetError(f"{path}: no pairs for iteration {iteration} in {run_dir}")
    pairs = pq.read_table(path)
    candidates = pairs.num_rows
    if "selected" in pairs.column_names:
        pairs = pairs.filter(pairs.column("selected")).drop_columns(["selected"])
    if layout not in ("conversational", "standard"):
        raise DatasetError(f"--trl-format: must be conversational or standard, got {layout!r}")
    pairs = conversational(pairs) if layout == "conversational" else standard(pairs)
    extra = [c for c in pairs.column_names if c not in TRL_COLUMNS]
    pairs = pairs.select([*TRL_COLUMNS, *extra])
    if as_dataset:
        save_dataset(pairs, out)
    else:
        write_table(pairs, out)
    return {"pairs": pairs.num_rows, "candidates": candidates, "iteration": iteration, "format": layout,
            "output": out}  # fmt: skip


def save_dataset(table: pa.Table, out: str | Path) -> None:
    """``table`` as a ``datasets`` directory (``datasets.load_from_disk`` reads it), written beside ``out``
    and renamed into place; an ``out`` that exists already is refused, not replaced."""
    import datasets

    out = Path(out)
    if out.exists():
        raise DatasetError(f"--out: {out} exists; the dataset directory is not overwritten")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        datasets.Dataset(table).save_to_disk(str(tmp))
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _heldout(run_dir: str, version: int | None) -> tuple[pa.Table, int]:
    evals = sorted(Path(run_dir).glob("eval/policy_v*.parquet"), key=lambda p: int(p.stem.removeprefix("policy_v")))
    if not evals:
        raise DatasetError(f"{run_dir}: no held-out answers (eval/policy_v*.parquet)")
    if version is None:
        path = evals[-1]
    else:
        path = Path(run_dir) / "eval" / f"policy_v{version}.parquet"
        if not path.exists():
            raise DatasetError(f"{path}: no held-out answers for policy version {version}")
    table = pq.read_table(path)
    first = table.filter(pc.equal(table.column("sample_idx"), pc.min(table.column("sample_idx"))))
    return first.sort_by("prompt_id"), int(path.stem.removeprefix("policy_v"))


def export_alpaca_eval(run_dir: str, out: str, version: int | None = None, name: str | None = None) -> dict:
    """One answer per held-out prompt as AlpacaEval model outputs: a JSON list (.json) or JSON lines (.jsonl)."""
    suffix = Path(out).suffix
    if suffix not in (".json", ".jsonl"):
        raise DatasetError(f"--out: {out} must end in .json (a JSON list) or .jsonl (JSON lines)")
    table, v = _heldout(run_dir, version)
    model = name or f"{Path(run_dir).name}-v{v}"
    answers = table.select(["prompt_id", "prompt", "context", "response"]).to_pylist()
    multi = [r["prompt_id"] for r in answers if earlier_turns(r["context"])]
    if multi:
        raise DatasetError(f"--format alpaca_eval: AlpacaEval takes single-turn instructions; {len(multi)} held-out "
                           f"prompts have earlier turns (first: {multi[0]!r}); use --format arena_hard")  # fmt: skip
    rows = [{"instruction": r["prompt"], "output": r["response"], "generator": model, "dataset": "spo"}
            for r in answers]  # fmt: skip
    with atomic_file(out, "w") as fh:
        if suffix == ".json":
            json.dump(rows, fh, indent=2)
        else:
            fh.write("".join(json.dumps(r) + "\n" for r in rows))
    return {"answers": len(rows), "output": out, "policy_version": v}


def markdown_counts(text: str) -> dict:
    """Arena-Hard-Auto's style-control counts (headers, lists, bold) of ``text``, code blocks removed."""
    for block in CODE_BLOCK.findall(text):
        text = text.replace(block, "")
    return {
        "header_count": {f"h{n}": len(re.findall(rf"^#{{{n}}}\s", text, re.MULTILINE)) for n in range(1, 7)},
        "list_count": {
            "ordered": len(re.findall(r"^\s*\d+\.\s", text, re.MULTILINE)),
            "unordered": len(re.findall(r"^\s*[-*+]\s", text, re.MULTILINE)),
        },
        "bold_count": {"**": len(re.findall(r"\*\*[^*\n]+\*\*", text)), "__": len(re.findall(r"__[^_\n]+__", text))},
    }


def _arena_row(r: dict, model: str, stamp: float, version: str) -> dict:
    answer_id = hashlib.sha1(f"{model}/{r['prompt_id']}".encode()).hexdigest()[:22]
    if version == "v0.1":
        return {"question_id": r["prompt_id"], "answer_id": answer_id, "model_id": model,
                "choices": [{"index": 0, "turns": [{"content": r["response"]}]}], "tstamp": stamp}  # fmt: skip
    messages = [*turns(row_conversation(r)), {"role": "assistant", "content": {"answer": r["response"]}}]
    metadata = {"token_len": int(r["n_tokens"]), **markdown_counts(r["response"])}
    return {"uid": r["prompt_id"], "ans_id": answer_id, "model": model, "messages": messages, "tstamp": stamp,
            "metadata": metadata}  # fmt: skip


def export_arena_hard(run_dir: str, out: str, version: int | None = None, name: str | None = None,
                      arena_version: str = "v2") -> dict:  # fmt: skip
    """One answer per held-out prompt as Arena-Hard-Auto answer JSONL (``uid`` = ``prompt_id``)."""
    if arena_version not in ("v2", "v0.1"):
        raise DatasetError(f"--arena-version: must be v2 or v0.1, got {arena_version!r}")
    table, v = _heldout(run_dir, version)
    model = name or f"{Path(run_dir).name}-v{v}"
    stamp = Path(run_dir, "eval", f"policy_v{v}.parquet").stat().st_mtime
    with atomic_file(out, "w") as fh:
        for r in table.select(["prompt_id", "prompt", "context", "response", "n_tokens"]).to_pylist():
            fh.write(json.dumps(_arena_row(r, model, stamp, arena_version), ensure_ascii=False) + "\n")
    return {"answers": table.num_rows, "output": out, "policy_version": v, "arena_version": arena_version}
