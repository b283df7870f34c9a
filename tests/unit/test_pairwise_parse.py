"""The pairwise judge: parsing, position swapping, and win rates from files."""

import pytest

from spo.eval.pairwise import combine, parse_choice


@pytest.mark.parametrize(
    "reply,expected",
    [("A", "A"), ("B.", "B"), ("Response B is better", "B"), ("**A**", "A"), ("I prefer A over B", "A"),
     ("Both are bad", None), ("ABBA", None), ("", None)],
)  # fmt: skip
def test_parse_choice(reply, expected):
    assert parse_choice(reply) == expected


def test_combine_needs_both_orders_to_agree():
    first = ["A", "B", "A", None, "A"]  # candidate shown as A
    second = ["B", "A", "A", "B", None]  # candidate shown as B
    assert combine(first, second).tolist() == [1.0, 0.0, 0.5, 0.5, 0.5]
