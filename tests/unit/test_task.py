import pytest

from spo.tasks import sort_digits


@pytest.mark.parametrize(
    "prompt,response,expected",
    [
        ("sort: 3 1 2", "1 2 3", 1.0),
        ("sort: 3 1 2", "1 3 2", 1 / 3),
        ("sort: 3 1 2", "", 0.0),
        ("sort: 3 1 2", "1 2 3 4 5 6", 0.5),
        ("sort: 9 9", "9", 0.5),
    ],
)
def test_reward(prompt, response, expected):
    assert sort_digits.reward(prompt, response) == pytest.approx(expected)


def test_reward_rejects_foreign_prompt():
    with pytest.raises(ValueError, match="not a sort_digits prompt"):
        sort_digits.reward("hello", "x")


def test_prompts_are_deterministic_and_distinct():
    a = sort_digits.generate_prompts(200, seed=3, min_len=2, max_len=6)
    b = sort_digits.generate_prompts(200, seed=3, min_len=2, max_len=6)
    assert a == b
    assert len({r["prompt"] for r in a}) == 200
    assert len({r["prompt_id"] for r in a}) == 200
    lengths = {len(r["prompt"].split()) - 1 for r in a}
    assert lengths == {2, 3, 4, 5, 6}


@pytest.mark.parametrize(
    "response,expected",
    [("1 2 3", 1.0), ("2 3", 2 / 3), ("1 1 2 3", 0.75), ("", 0.0), ("3 2 1", 1 / 3)],
)
def test_edit_reward(response, expected):
    assert sort_digits.edit_reward("sort: 3 1 2", response) == pytest.approx(expected)


@pytest.mark.parametrize(
    "response,expected",
    [("1 2 3", 1.0), (" 1  2 3 ", 1.0), ("1 3 2", 0.0), ("1 2", 0.0), ("1 2 3 3", 0.0), ("", 0.0)],
)
def test_exact_reward_is_pass_fail_on_the_whole_sorted_list(response, expected):
    assert sort_digits.exact_reward("sort: 3 1 2", response) == expected
    # full marks exactly where the positional reward gives full marks
    assert (sort_digits.reward("sort: 3 1 2", response) == 1.0) == (expected == 1.0)


def test_edit_reward_differs_from_positional_reward_on_shifts():
    assert sort_digits.reward("sort: 3 1 2", "2 3") == 0.0
    assert sort_digits.edit_reward("sort: 3 1 2", "2 3") == pytest.approx(2 / 3)


def test_the_noisy_judge_is_the_gold_with_its_own_repeatable_noise():
    import random

    rng = random.Random(0)
    cases = []
    for _ in range(400):
        digits = [rng.randrange(10) for _ in range(rng.randrange(2, 9))]
        prompt = sort_digits.make_prompt(digits)
        response = " ".join(str(d) for d in rng.sample(digits, len(digits)))
        cases.append((prompt, response))
    exact = [sort_digits.judge(p, r)["correctness"] for p, r in cases]
    noisy = [sort_digits.noisy_judge(p, r)["correctness"] for p, r in cases]
    assert noisy == [sort_digits.noisy_judge(p, r)["correctness"] for p, r in cases]  # repeatable
    assert set(noisy) <= {1, 2, 3, 4, 5}
    differ = sum(a != b for a, b in zip(exact, noisy)) / len(cases)
    assert 0.2 < differ < 0.8  # sd 0.15 on a 0.25-wide step: often off by one, never random
    assert max(abs(a - b) for a, b in zip(exact, noisy)) <= 2
