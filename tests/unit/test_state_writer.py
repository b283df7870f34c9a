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
    with pytest.raises(OSError, match="missing-dir.*its directory: No such file"):
        writer.wait()
    assert (tmp_path / "b.pt").exists()  # the later write still ran
    writer.wait()  # nothing pending


def test_a_save_reuses_the_buffers_of_the_previous_save_of_that_file_and_writes_the_new_state(tmp_path):
    state = {"module": {"w": torch.zeros(1000)}, "optimizer": [torch.ones(10), (torch.ones(2), 5)], "step": 1}
    writer = BackgroundStateWriter()
    (tmp_path / "one").mkdir()
    writer.save(state, str(tmp_path / "one" / "s.pt"))
    writer.wait()
    first = writer._buffers["s.pt"]["module"]["w"]
    state["module"]["w"].add_(2.0)
    state["optimizer"][1] = (torch.ones(3), 6)  # a new shape: a new buffer
    (tmp_path / "two").mkdir()
    writer.save(state, str(tmp_path / "two" / "s.pt"))
    writer.wait()
    assert writer._buffers["s.pt"]["module"]["w"] is first  # copied into, not allocated again
    back, old = writer.load(str(tmp_path / "two" / "s.pt")), writer.load(str(tmp_path / "one" / "s.pt"))
    assert torch.equal(back["module"]["w"], torch.full((1000,), 2.0)) and back["step"] == 1
    assert torch.equal(back["optimizer"][1][0], torch.ones(3)) and back["optimizer"][1][1] == 6
    assert torch.equal(old["module"]["w"], torch.zeros(1000))  # the first file keeps the first state


def test_a_full_disk_is_named_with_the_file_and_the_space_left():
    writer = BackgroundStateWriter()
    writer.save({"w": torch.ones(100_000)}, "/dev/full")  # every write to it fails with ENOSPC
    with pytest.raises(OSError, match=r"training state to /dev/full \(.* GiB free on its disk\)"):
        writer.wait()
