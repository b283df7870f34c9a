"""Small Hugging Face datasets the tests build locally, in the layouts users hold: a ``save_to_disk``
directory, Parquet shards, and an entry in the ``datasets`` cache as ``load_dataset(<hub id>)`` leaves it."""

import shutil
import tempfile
from pathlib import Path

import datasets
from datasets.data_files import DataFilesDict
from datasets.packaged_modules.parquet.parquet import Parquet

SYSTEM = {"role": "system", "content": "You are terse."}


def sort_prompts(n: int, start: int = 0) -> list[str]:
    return [f"Sort the digits: {' '.join(f'{i:03d}'[::-1])}" for i in range(start, start + n)]  # distinct for n <= 1000


def chat_rows(prompts: list[str], with_history: bool) -> list[list[dict]]:
    """A ``messages`` column: (system, an earlier exchange,) the user turn, and an answer after it."""
    history = [SYSTEM, {"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."}]
    return [[*(history if with_history else []), {"role": "user", "content": p}, {"role": "assistant", "content": "x"}]
            for p in prompts]  # fmt: skip


def save_dict(path: Path, splits: dict[str, dict]) -> str:
    """``DatasetDict(splits).save_to_disk(path)``; returns the path."""
    datasets.DatasetDict({k: datasets.Dataset.from_dict(v) for k, v in splits.items()}).save_to_disk(str(path))
    return str(path)


def cache_entry(cache: Path, repo_id: str, parquet_files: dict[str, Path]) -> None:
    """What ``load_dataset(repo_id)`` leaves in the datasets cache ``cache`` after an online load: the
    Arrow files of its ``default`` config at ``<namespace>___<name>/default/0.0.0/<revision>``, prepared
    here by datasets' own Parquet builder from ``parquet_files`` (split -> file)."""
    work = tempfile.mkdtemp()
    try:
        builder = Parquet(dataset_name=repo_id.split("/")[-1], cache_dir=work,
                          data_files=DataFilesDict.from_patterns({k: [str(v)] for k, v in parquet_files.items()}))  # fmt: skip
        builder.download_and_prepare()
        dest = cache / repo_id.replace("/", "___") / "default" / "0.0.0" / ("0" * 40)
        dest.parent.mkdir(parents=True)
        shutil.move(builder.cache_dir, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
