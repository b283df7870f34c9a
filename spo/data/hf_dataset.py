"""Datasets as users hold them, read through the ``datasets`` library, offline.

A source is a hub id found in the local ``datasets`` cache (``HF_HUB_OFFLINE=1`` is honoured, never a
download at run time), a ``save_to_disk`` directory, a Parquet / JSON-lines file, or a directory of
such files (shards, one split per file name as ``datasets`` infers them). Errors name the source and
the split; a hub id that is not cached says so instead of raising a connection error.
"""

from __future__ import annotations

from pathlib import Path

from spo.errors import ConfigError

FILE_BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv"}


class DatasetSourceError(ConfigError):
    """A dataset source that cannot be opened, or a split it does not have."""


def _looks_local(source: str) -> bool:
    return source.startswith(("/", ".", "~")) or Path(source).suffix in FILE_BUILDERS or source.count("/") > 1


def _open_all(source: str, subset: str | None):
    """The source's splits as a ``DatasetDict``."""
    import datasets

    path = Path(source).expanduser()
    if path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file()):
        loaded = datasets.load_from_disk(str(path))  # save_to_disk: a DatasetDict, or one Dataset
        return loaded if isinstance(loaded, datasets.DatasetDict) else datasets.DatasetDict(train=loaded)
    if path.is_file():
        if path.suffix not in FILE_BUILDERS:
            raise DatasetSourceError(f"{source}: unsupported file type {path.suffix!r} (use {sorted(FILE_BUILDERS)})")
        return datasets.load_dataset(FILE_BUILDERS[path.suffix], data_files={"train": str(path)})
    if path.is_dir():
        return datasets.load_dataset(str(path))
    if _looks_local(source):
        raise DatasetSourceError(f"{source}: no such file or directory")
    try:
        return datasets.load_dataset(source, subset)
    except ConnectionError as exc:  # offline and not in the cache: datasets' own words are about the Hub
        cache = datasets.config.HF_DATASETS_CACHE
        raise DatasetSourceError(
            f"{source}: not a local path, and not in the datasets cache ({cache}); nothing is downloaded at "
            f"run time: load it once online (datasets.load_dataset({source!r})) or save it to a directory"
        ) from exc


def open_splits(source: str, subset: str | None = None, key: str = "task.dataset"):
    """Every split of ``source`` as a ``datasets.DatasetDict`` (a single file is split ``train``)."""
    try:
        return _open_all(source, subset)
    except DatasetSourceError as exc:
        raise DatasetSourceError(f"{key}: {exc}") from None
    except Exception as exc:  # datasets raises many types for unreadable data
        raise DatasetSourceError(f"{key}: {source}: cannot be read ({type(exc).__name__}: {exc})") from exc


def pick_split(splits, source: str, split: str, key: str = "task.dataset"):
    """Split ``split`` of an opened source (:func:`open_splits`); refuses a missing or empty one."""
    if split not in splits:
        raise DatasetSourceError(f"{key}: {source} has no split {split!r}; it has {sorted(splits)}")
    ds = splits[split]
    if ds.num_rows == 0:
        raise DatasetSourceError(f"{key}: {source} split {split!r} is empty")
    return ds


def open_dataset(source: str, split: str, subset: str | None = None, key: str = "task.dataset"):
    """Split ``split`` of ``source`` as a ``datasets.Dataset``."""
    return pick_split(open_splits(source, subset, key), source, split, key)
