"""Rule rewards that fail on purpose, for the fault-injection tests (imported by name in scorer actors)."""

import zlib

from spo.tasks import sort_digits


def _bucket(prompt: str) -> int:
    return zlib.crc32(prompt.encode()) % 10


def nan_or_raise(prompt: str, response: str) -> float:
    """The sort reward, except NaN for one prompt in ten and an exception for another one in ten."""
    bucket = _bucket(prompt)
    if bucket == 0:
        return float("nan")
    if bucket == 1:
        raise ValueError(f"cannot score prompt {prompt!r}")
    return sort_digits.reward(prompt, response)
