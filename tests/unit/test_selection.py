"""Prompt selection policies on crafted prompts tables."""

import dataclasses

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_buffer import make_buffer, samples

from spo.buffer.config import DifficultyConfig, SelectionConfig
from spo.buffer.policies.informative import informativeness
from spo.buffer.selection import SelectionContext, select_prompts

CTX = SelectionContext(iteration=0, iterations=3, seed=0)


def table(difficulty: dict[str, float], spread: dict[str, tuple[float, float, float]] | None = None) -> pa.Table:
    """A prompts table; ``spread`` gives (std, max, min) per prompt."""
    ids = list(difficulty)
    spread = spread or {p: (0.0, difficulty[p], difficulty[p]) for p in ids}
    return pa.table(
        {
            "prompt_id": ids,
            "difficulty/rm": [difficulty[p] for p in ids],
            "reward_std/rm": [spread[p][0] for p in ids],
            "reward_max/rm": [spread[p][1] for p in ids],
            "reward_min/rm": [spread[p][2] for p in ids],
            "n_samples": pa.array([4] * len(ids), pa.int32()),
        }
    )


TEN = table({f"p{i}": i / 10 for i in range(10)})  # p0 hardest ... p9 easiest


def kept(t: pa.Table, ctx=CTX, **kw) -> set[str]:
    out = select_prompts(t, SelectionConfig(**kw), "rm", ctx)
    return set(out.filter(out.column("selected")).column("prompt_id").to_pylist())


def test_all_keeps_everything():
    assert kept(TEN, prompts="all") == {f"p{i}" for i in range(10)}


def test_drop_hardest_exact_membership():
    assert kept(TEN, prompts="drop_hardest", fraction=0.3) == {f"p{i}" for i in range(3, 10)}
    assert kept(TEN, prompts="drop_hardest", fraction=0.0) == {f"p{i}" for i in range(10)}
    assert kept(TEN, prompts="drop_hardest", fraction=0.04) == {f"p{i}" for i in range(10)}  # rounds to 0
    assert kept(TEN, prompts="drop_hardest", fraction=0.99) == {"p9"}  # rounds to all: one is kept


def test_keep_easiest_exact_membership_and_rounding():
    assert kept(TEN, prompts="keep_easiest", fraction=0.3) == {"p7", "p8", "p9"}
    assert kept(TEN, prompts="keep_easiest", fraction=0.01) == {"p9"}  # rounds to 0: keeps one
    assert kept(TEN, prompts="keep_easiest", fraction=1.0) == {f"p{i}" for i in range(10)}


def test_ties_break_by_prompt_id():
    tied = table({"b": 0.5, "a": 0.5, "c": 0.5, "d": 0.9})
    assert kept(tied, prompts="drop_hardest", fraction=0.5) == {"c", "d"}
    assert kept(tied, prompts="keep_easiest", fraction=0.5) == {"c", "d"}


def test_bins_partition_prompts_hardest_first():
    bins = [kept(TEN, prompts="bin", n_bins=3, bin=b) for b in range(3)]
    assert bins[0] == {"p0", "p1", "p2", "p3"}
    assert bins[1] == {"p4", "p5", "p6"}
    assert bins[2] == {"p7", "p8", "p9"}
    out = select_prompts(TEN, SelectionConfig(prompts="bin", n_bins=3, bin=2), "rm", CTX)
    assert "kept: in bin 2 of 3" in out.column("reason").to_pylist()[9]


def test_random_matches_the_count_of_another_policy_and_is_seeded():
    a = kept(TEN, prompts="random", match="drop_hardest", fraction=0.3)
    assert len(a) == 7
    assert a == kept(TEN, prompts="random", match="drop_hardest", fraction=0.3)
    other = SelectionContext(iteration=1, iterations=3, seed=0)
    draws = {frozenset(kept(TEN, other, prompts="random", match="drop_hardest", fraction=0.3)), frozenset(a)}
    assert len(kept(TEN, prompts="random", match="bin", n_bins=5, bin=1)) == 2
    assert len(draws) == 2  # a different iteration draws differently


def test_curriculum_moves_from_easy_to_hard():
    windows = [kept(TEN, SelectionContext(i, 3, 0), prompts="curriculum", fraction=0.3) for i in range(3)]
    assert windows[0] == {"p7", "p8", "p9"}
    assert windows[1] == {"p3", "p4", "p5", "p6"} & windows[1] and len(windows[1]) == 3
    assert windows[2] == {"p0", "p1", "p2"}


def test_informativeness_signals():
    t = table({"a": 0.5, "b": 0.5}, {"a": (0.5, 1.0, 0.0), "b": (0.1, 0.6, 0.4)})
    assert informativeness(t, "rm", "reward_gap").tolist() == pytest.approx([1.0, 0.2])
    assert informativeness(t, "rm", "max_mean").tolist() == pytest.approx([0.5, 0.1])
    assert informativeness(t, "rm", "variance").tolist() == pytest.approx([0.25, 0.01])
    assert informativeness(t, "rm", "loo_advantage").tolist() == pytest.approx([4 / 3 * 0.5, 4 / 3 * 0.1])


def test_informative_greedy_and_weighted():
    spread = {f"p{i}": (0.0, 0.5 + i / 20, 0.5 - i / 20) for i in range(10)}  # gap grows with i
    t = table({p: 0.5 for p in spread}, spread)
    assert kept(t, prompts="informative", fraction=0.2, signal="reward_gap") == {"p8", "p9"}
    w = kept(t, prompts="informative", fraction=0.5, signal="reward_gap", sampling="weighted")
    assert len(w) == 5 and "p0" not in w  # p0 has zero gap: (almost) never drawn


def test_unknown_scorer_is_named():
    with pytest.raises(KeyError, match="difficulty/other"):
        select_prompts(TEN, SelectionConfig(), "other", CTX)


def test_two_sample_counts_difficulty_from_first_k_pairs_from_first_m(tmp_path):
    buf = make_buffer(tmp_path, selection=SelectionConfig(pair_samples=2), difficulty=DifficultyConfig(n_samples=3))
    buf.add(samples([("a", 0, 0.2), ("a", 1, 0.4), ("a", 2, 0.6), ("a", 3, 1.0)]))
    buf.select_prompts(0)
    buf.choose_pairs(0)
    prompts = pq.read_table(tmp_path / "iter_0" / "prompts.parquet").to_pylist()
    assert prompts[0]["difficulty/rm"] == pytest.approx(0.4) and prompts[0]["n_samples"] == 3
    pair = pq.read_table(tmp_path / "iter_0" / "pairs.parquet").to_pylist()[0]
    assert (pair["chosen"], pair["rejected"]) == ("a-r1", "a-r0")


def test_preselection_from_a_difficulty_file(tmp_path):
    source = TEN.append_column("iteration", pa.array([0] * 10, pa.int64()))
    pq.write_table(source, tmp_path / "difficulty.parquet")
    buf = make_buffer(
        tmp_path,
        selection=SelectionConfig(prompts="drop_hardest", fraction=0.5),
        difficulty=DifficultyConfig(source="file", file=str(tmp_path / "difficulty.parquet")),
    )
    assert buf.load_difficulty(str(tmp_path / "difficulty.parquet")) == 10
    assert buf.preselect(0, ["p0", "p1", "p8", "p9"]) == ["p8", "p9"]
    with pytest.raises(KeyError, match="lacks 1 of this iteration's prompts"):
        buf.preselect(1, ["p0", "zzz"])
    buf.add(samples([("p8", 0, 0.1), ("p8", 1, 0.9), ("p9", 0, 0.2), ("p9", 1, 0.3)]))
    summary = buf.select_prompts(0)
    assert summary["preselected"] and summary["prompts"] == 4 and summary["prompts_kept"] == 2
    rows = pq.read_table(tmp_path / "iter_0" / "prompts.parquet").to_pylist()
    assert [(r["prompt_id"], r["selected"]) for r in rows] == [
        ("p0", False), ("p1", False), ("p8", True), ("p9", True)
    ]  # fmt: skip
    assert rows[0]["difficulty/rm"] == pytest.approx(0.0)  # the source's value drove the decision


@pytest.mark.parametrize(
    "overrides,key",
    [
        ({"prompts": "drop_hardest", "fraction": 1.0}, "selection.fraction"),
        ({"prompts": "drop_hardest", "fraction": -0.1}, "selection.fraction"),
        ({"prompts": "keep_easiest", "fraction": 0.0}, "selection.fraction"),
        ({"prompts": "bin", "n_bins": 3, "bin": 3}, "selection.bin"),
        ({"prompts": "nope"}, "selection.prompts"),
        ({"prompts": "informative", "signal": "nope"}, "selection.signal"),
        ({"pair_samples": 1}, "selection.pair_samples"),
    ],
)
def test_invalid_selection_names_the_key(overrides, key):
    from test_config import make_config

    from spo.config import validate
    from spo.errors import ConfigError

    cfg = make_config()
    cfg.selection = dataclasses.replace(cfg.selection, **overrides)
    with pytest.raises(ConfigError, match=f"^{key}:"):
        validate(cfg)


@pytest.mark.parametrize(
    "override,key",
    [
        ("difficulty.scorer=nope", "difficulty.scorer"),
        ("difficulty.source=file", "difficulty.file"),
        ("difficulty.source=later", "difficulty.source"),
        ("difficulty.n_samples=9", "difficulty.n_samples"),
    ],
)
def test_invalid_difficulty_names_the_key(override, key):
    from test_config import make_config

    from spo.config import validate
    from spo.errors import ConfigError

    with pytest.raises(ConfigError, match=f"^{key}:"):
        validate(make_config(override))


def test_a_frozen_difficulty_pass_may_draw_more_samples_than_the_iterations():
    from test_config import make_config

    from spo.config import validate

    validate(make_config("difficulty.source=frozen", "difficulty.n_samples=8"))  # generator.n_samples=4
