"""A run folder of an earlier mmnet: the holder line its lock file kept (the earliest mmnet never emptied it) is no
sign of an abrupt end unless the run's status.json says its command never ended."""

import json
import subprocess
import sys

import pytest

from mmnet import run_folder as rf
from mmnet.folder_lock import TAG
from mmnet.train.run_lock import ABRUPT_END, abrupt_end_note, driver_lock, ended_abruptly

pytest.importorskip("fcntl")

OLD_LINE = "pid 2661 on host vm, started 2026-12-05T03:20:11+0000\n"  # as mmnet wrote it before the tag


def _gone_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def _rerun(out) -> bool:
    with driver_lock(out):
        abrupt = ended_abruptly(out)
        assert (abrupt_end_note([out]) == ABRUPT_END) is abrupt
        written = (out / rf.DRIVER_LOCK).read_text().splitlines()
        assert written[0].startswith("pid ") and written[1] == TAG  # this mmnet's line, tagged
    assert (out / rf.DRIVER_LOCK).read_text() == ""  # emptied at the end
    return abrupt


def test_an_earlier_mmnets_holder_line_is_no_abrupt_end(tmp_path):
    out = tmp_path / "oldclean"
    (out / "seed-0" / "fold-sub01").mkdir(parents=True)
    (out / "seed-0" / "fold-sub01" / rf.DONE).write_text("{}")
    (out / rf.DRIVER_LOCK).write_text(OLD_LINE)  # a finished run of an mmnet that never emptied it
    assert not _rerun(out)


@pytest.mark.parametrize("state, abrupt", [("done", False), ("interrupted", False), ("failed", False),
                                           ("running", True)])
def test_an_earlier_mmnets_line_counts_where_status_json_says_it_never_ended(tmp_path, state, abrupt):
    import socket

    out = tmp_path / "run"
    out.mkdir()
    (out / rf.DRIVER_LOCK).write_text(OLD_LINE)
    (out / "status.json").write_text(json.dumps({"state": state, "pid": _gone_pid(), "host": socket.gethostname()}))
    assert _rerun(out) is abrupt


def test_a_tagged_line_left_behind_is_an_abrupt_end_whatever_status_json_says(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / rf.DRIVER_LOCK).write_text(f"pid {_gone_pid()} on host vm, started 2026-12-07T03:00:00+0000\n{TAG}\n")
    (out / "status.json").write_text(json.dumps({"state": "done"}))  # an earlier command's: this one was killed
    assert _rerun(out)
    assert not _rerun(out)  # said once
