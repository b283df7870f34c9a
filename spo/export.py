"""``spo export``: a run's data in the formats other tools read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spo.io import atomic_file
from spo.offline.dataset import DatasetError, write_table

TRL_COLUMNS = ("prompt", "chosen", "rejected")


def export_trl(run_dir: str, iteration: int, out: str) -> dict:
    """The pairs trained on in ``iteration`` as TRL preference data (``prompt``, ``chosen``, ``rejected``).

    Metric columns ride along; DPOTrainer ignores columns it does not use.
    """
    path = Path(run_dir) / f"iter_{iteration}" / "pairs.parquet"
    if not path.exists():
        raise DatasetError(f"{path}: no pairs for iteration {iteration} in {run_dir}")
    pairs = pq.read_table(path)
    if "selected" in pairs.column_names:
        pairs = pairs.filter(pairs.column("selected")).drop_columns(["selected"])
    extra = [c for c in pairs.column_names if c not in TRL_COLUMNS]
    write_table(pairs.select([*TRL_COLUMNS, *extra]), out)
    return {"pairs": pairs.num_rows, "output": out}


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
    """One answer per held-out prompt as AlpacaEval model outputs (a JSON list)."""
    table, v = _heldout(run_dir, version)
    model = name or f"{Path(run_dir).name}-v{v}"
    rows = [{"instruction": r["prompt"], "output": r["response"], "generator": model, "dataset": "spo"}
            for r in table.select(["prompt", "response"]).to_pylist()]  # fmt: skip
    with atomic_file(out, "w") as fh:
        json.dump(rows, fh, indent=2)
    return {"answers": len(rows), "output": out, "policy_version": v}


def export_arena_hard(run_dir: str, out: str, version: int | None = None, name: str | None = None) -> dict:
    """One answer per held-out prompt as Arena-Hard answer JSONL (question_id = prompt_id)."""
    table, v = _heldout(run_dir, version)
    model = name or f"{Path(run_dir).name}-v{v}"
    stamp = Path(run_dir, "eval", f"policy_v{v}.parquet").stat().st_mtime
    with atomic_file(out, "w") as fh:
        for r in table.select(["prompt_id", "response"]).to_pylist():
            answer_id = hashlib.sha1(f"{model}/{r['prompt_id']}".encode()).hexdigest()[:22]
            row = {"question_id": r["prompt_id"], "answer_id": answer_id, "model_id": model,
                   "choices": [{"index": 0, "turns": [{"content": r["response"]}]}], "tstamp": stamp}  # fmt: skip
            fh.write(json.dumps(row) + "\n")
    return {"answers": table.num_rows, "output": out, "policy_version": v}
