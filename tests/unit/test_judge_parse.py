"""Judges: reply parsing, retry-then-missing, and judge columns through the scorer actors."""

import pytest

from spo.reward.judge import parse_scores

DIMS = ["factuality", "signal_to_noise"]


@pytest.mark.parametrize(
    "reply,expected",
    [
        ("factuality: 4\nsignal_to_noise: 2", (4, 2)),
        ("Factuality = 5, Signal to noise - 3", (5, 3)),
        ("**Factuality**: 4/5\n**Signal-to-noise**: 1/5", (4, 1)),
        ('Scores: {"factuality": 3, "signal_to_noise": 5}', (3, 5)),
        ('{"factuality": 3.0, "signal_to_noise": 7}', (3, None)),  # 7 is out of range
        ("factuality: 0\nsignal_to_noise: 6", (None, None)),
        ("factuality: 2", (2, None)),
        ("I think it is fine.", (None, None)),
    ],
)
def test_parse_scores(reply, expected):
    assert tuple(parse_scores(reply, DIMS).values()) == expected
