"""Version bookkeeping and the staleness filter (pure functions and the buffer), and the pipeline config."""

import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_buffer import make_buffer, samples
from test_config import make_config

from spo.config import validate
from spo.errors import ConfigError
from spo.pipeline.staleness import pair_staleness, sample_staleness, split_stale, staleness_summary
from spo.timing import RoleTally


def versioned(rows, iteration=2, generator="g"):
    """Samples from ``(prompt_id, sample_idx, reward, policy_version)``."""
    table = samples([r[:3] for r in rows], iteration, generator)
    return table.set_column(table.schema.get_field_index("policy_version"), "policy_version",
                            pa.array([r[3] for r in rows], pa.int64()))  # fmt: skip


def test_staleness_counts_versions_behind_the_iteration_trained_and_ignores_fixed_pools():
    own = versioned([("a", 0, 0.1, 2), ("a", 1, 0.2, 1), ("b", 0, 0.3, 0)])
    fixed = versioned([("a", 8, 0.5, 0)], generator="strong")
    table = pa.concat_tables([own, fixed])
    assert sample_staleness(table, 2, "g").tolist() == [0, 1, 2, -1]
    assert staleness_summary(sample_staleness(table, 2, "g"), "s") == {"s_mean": 1.0, "s_max": 2,
                                                                        "s_hist": {"0": 1, "1": 1, "2": 1}}  # fmt: skip
    assert staleness_summary([], "s") == {}


def test_a_prompt_with_one_stale_sample_goes_stale_whole():
    table = versioned([("a", 0, 0.1, 2), ("a", 1, 0.2, 0), ("b", 0, 0.3, 1), ("b", 1, 0.3, 1)])
    fresh, stale = split_stale(table, 2, "g", max_staleness=1)
    assert fresh.column("prompt_id").to_pylist() == ["b", "b"]
    assert stale.column("sample_idx").to_pylist() == [0, 1] and set(stale.column("prompt_id").to_pylist()) == {"a"}
    fresh, stale = split_stale(table, 2, "g", max_staleness=0)
    assert fresh.num_rows == 0 and stale.num_rows == 4
    fresh, stale = split_stale(table, 2, "g", max_staleness=2)
    assert fresh.num_rows == 4 and stale.num_rows == 0


def test_pair_staleness_is_the_older_side_and_null_for_a_fixed_pool():
    pairs = pa.table({"policy_version_chosen": [3, 2, 0], "policy_version_rejected": [3, 1, 0],
                      "generator_chosen": ["g", "g", "strong"], "generator_rejected": ["g", "g", "g"]})  # fmt: skip
    assert pair_staleness(pairs, 3, "g").to_pylist() == [0, 2, None]
    assert pair_staleness(pairs.slice(0, 0), 3, "g").to_pylist() == []


def test_the_buffer_takes_stale_prompts_out_keeps_them_on_disk_and_accepts_them_again(tmp_path):
    buf = make_buffer(tmp_path)
    buf.add(versioned([("a", 0, 0.1, 1), ("a", 1, 0.9, 1), ("b", 0, 0.2, 2), ("b", 1, 0.8, 2)]))
    out = buf.take_stale(2, max_staleness=0)
    assert out["stale_samples"] == 2 and out["stale_prompt_ids"] == ["a"]
    assert out["sample_staleness_hist"] == {"0": 2, "1": 2}
    kept = pq.read_table(tmp_path / "iter_2" / "stale_samples.parquet")
    assert kept.column("prompt_id").to_pylist() == ["a", "a"]
    buf.add(versioned([("a", 0, 0.3, 2), ("a", 1, 0.7, 2)]))  # regenerated under the same keys: accepted
    assert buf.take_stale(2, max_staleness=0)["stale_samples"] == 0
    summary = buf.select_prompts(2)
    assert summary["samples"] == 4
    assert buf.choose_pairs(2)["pair_staleness_hist"] == {"0": 2}
    pairs = pq.read_table(tmp_path / "iter_2" / "pairs.parquet")
    assert pairs.column("staleness").to_pylist() == [0, 0]


def test_pairs_record_their_staleness(tmp_path):
    buf = make_buffer(tmp_path)
    buf.add(versioned([("a", 0, 0.1, 1), ("a", 1, 0.9, 1)]))
    assert buf.take_stale(2, max_staleness=1)["stale_samples"] == 0
    buf.select_prompts(2)
    assert buf.choose_pairs(2)["pair_staleness_mean"] == 1.0


def test_pipeline_config_is_checked_by_each_modes_flag():
    validate(make_config("pipeline=one_step_off"))
    validate(make_config("pipeline=async", "pipeline.max_staleness=0", "pipeline.stale=regenerate"))
    with pytest.raises(ConfigError, match=r"^pipeline.max_staleness: one_step_off samples every iteration after the "):
        validate(make_config("pipeline=one_step_off", "pipeline.max_staleness=0"))
    with pytest.raises(ConfigError, match=r"^pipeline.mode: unknown mode 'overlap'; known: \['async', 'one_step_off'"):
        validate(make_config("pipeline.mode=overlap"))
    with pytest.raises(ConfigError, match=r"^pipeline.stale: must be one of \('drop', 'regenerate'\)"):
        validate(make_config("pipeline.stale=keep"))
    with pytest.raises(ConfigError, match=r"^sync.timeout_s: must be > 0"):
        validate(make_config("sync.timeout_s=0"))


def test_role_tally_gives_idle_fractions_over_the_window():
    tally = RoleTally()
    time.sleep(0.2)
    tally.add({"generate_s": 0.05, "eval_generate_s": 0.05, "train_s": 0.2, "select_s": 9.0})
    out = tally.take()
    assert out["iteration_s"] >= 0.2
    assert out["generator_busy_s"] == pytest.approx(0.1) and out["learner_busy_s"] == pytest.approx(0.2)
    assert out["generator_idle_fraction"] == pytest.approx(1 - 0.1 / out["iteration_s"])
    assert out["learner_idle_fraction"] < 0.05 and out["scorer_idle_fraction"] == 1.0
    assert tally.take()["generator_busy_s"] == 0.0  # reset
