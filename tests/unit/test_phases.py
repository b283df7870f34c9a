"""The learner's per-phase clock."""

import time

import pytest

from spo.learner.phases import PHASES, PhaseClock


def test_phases_accumulate_their_own_time():
    clock = PhaseClock()
    for _ in range(2):
        with clock.phase("forward"):
            time.sleep(0.02)
    with clock.phase("step"):
        pass
    assert 0.04 <= clock.seconds["forward"] < 0.5
    assert clock.seconds["step"] < 0.01 and clock.seconds["reference"] == 0.0
    assert set(clock.seconds) == set(PHASES)


def test_time_is_kept_when_a_phase_raises_and_unknown_phases_are_refused():
    clock = PhaseClock()
    with pytest.raises(ValueError), clock.phase("backward"):
        time.sleep(0.01)
        raise ValueError("boom")
    assert clock.seconds["backward"] >= 0.01
    with pytest.raises(KeyError, match="unknown phase 'fwd'"), clock.phase("fwd"):
        pass
