"""The learner's background state writer: what it writes is the state at the save, and a failed write
reaches whoever waits."""

import pytest
import torch

from spo.learner.state_writer import BackgroundStateWriter


def test_the_written_state_is_the_state_at_save_even_if_training_changes_it_meanwhile(tmp_path):
    weights = torch.arange(1_000_000, dtype=torch.float32)
    state = {"module": {"w": weights}, "optimizer": {"state": {0: {"exp_avg": weights * 2}}}, "step": 3}
    writer = BackgroundStateWriter()
    writer.save(state, str(tmp_path / "a.pt"))
    weights.add_(1.0)  # an optimizer step in place, while the writer may still be writing
    state["optimizer"]["state"][0]["exp_avg"].zero_()
    writer.wait()
    back = writer.load(str(tmp_path / "a.pt"))
    assert back["step"] == 3
    assert torch.equal(back["module"]["w"], torch.arange(1_000_000, dtype=torch.float32))
    assert torch.equal(back["optimizer"]["state"][0]["exp_avg"], torch.arange(1_000_000, dtype=torch.float32) * 2)


def test_a_failed_write_is_raised_by_wait_and_only_once(tmp_path):
    writer = BackgroundStateWriter()
    writer.save({"w": torch.ones(3)}, str(tmp_path / "missing-dir" / "a.pt"))
    writer.save({"w": torch.ones(3)}, str(tmp_path / "b.pt"))
    with pytest.raises(RuntimeError, match="missing-dir"):
        writer.wait()
    assert (tmp_path / "b.pt").exists()  # the later write still ran
    writer.wait()  # nothing pending
