"""A folder that takes no files (permissions, a read-only file system, no space or no inodes left): said at once, in
words that name the cause and what to do, not after all the work; a command whose rerun continues says so."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from mmnet import folder_lock as folder_lock_module
from mmnet import utils
from mmnet.folder_lock import folder_lock

from .helpers import cli


def _refused(holder):
    return RuntimeError(f"held by {holder}")


class _RefusingLock:
    """A lock whose acquire fails as the file system answers."""

    is_locked = False

    def __init__(self, number: int, path: Path):
        self.number, self.path = number, path

    def acquire(self):
        raise OSError(self.number, os.strerror(self.number), str(self.path))

    def release(self):
        pass


def _refusing_locks(monkeypatch, number: int) -> None:
    monkeypatch.setattr(folder_lock_module, "_new_lock", lambda path, kind: _RefusingLock(number, path))


def _refusing_files(monkeypatch, number: int = errno.EACCES) -> None:
    def refused(path):
        raise OSError(number, os.strerror(number), str(path))

    monkeypatch.setattr(utils, "_create_temporary", refused)


@pytest.mark.parametrize("number", [errno.EACCES, errno.EPERM, errno.EROFS])
def test_a_folder_that_takes_no_lock_file_stops_the_command_naming_it(tmp_path, monkeypatch, number):
    out = tmp_path / "out"
    out.mkdir()
    _refusing_locks(monkeypatch, number)
    _refusing_files(monkeypatch, number)
    ran = []
    with pytest.raises(OSError) as info:
        with folder_lock(out, ".lock", _refused, what="--out folder"):
            ran.append(True)
    assert ran == [] and info.value.errno == number and info.value.filename == str(out)
    assert "no file can be written in this --out folder" in info.value.strerror


@pytest.mark.parametrize("number", [errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS])
def test_a_file_system_without_locks_still_runs_the_command(tmp_path, monkeypatch, caplog, number):
    out = tmp_path / "out"
    out.mkdir()
    _refusing_locks(monkeypatch, number)
    ran = []
    with folder_lock(out, ".lock", _refused, what="--out folder"):
        ran.append(True)
    assert ran == [True] and f"no lock on '{out / '.lock'}'" in caplog.text


@pytest.mark.parametrize("number", [errno.EACCES, errno.EPERM])
def test_a_lock_file_of_another_user_in_a_writable_folder_warns_and_runs(tmp_path, monkeypatch, caplog, number):
    # a shared run folder keeps its lock file, another user's 0644 file this user may not open: the folder still
    # takes this user's files, and the run goes on without a lock, as before
    out = tmp_path / "out"
    out.mkdir()
    _refusing_locks(monkeypatch, number)
    ran = []
    with folder_lock(out, ".lock", _refused, what="run folder"):
        ran.append(True)
    assert ran == [True] and f"no lock on '{out / '.lock'}'" in caplog.text
    assert sorted(p.name for p in out.iterdir()) == [], "the probe leaves nothing behind"


def _recording(folder: Path) -> Path:
    path = folder / "recording.mp4"
    path.touch()
    return path


def test_spot_into_a_folder_that_takes_no_lock_file_stops_before_spotting(tmp_path, monkeypatch, capsys):
    from mmnet.commands import spot

    spotted = []
    monkeypatch.setattr(spot, "_spot", lambda args: spotted.append(args.out) or 0)
    out = tmp_path / "spots"
    out.mkdir()
    _refusing_locks(monkeypatch, errno.EACCES)
    _refusing_files(monkeypatch)
    code, _, err = cli(capsys, "spot", _recording(tmp_path), "--out", out, "--no-progress")
    assert code == 3 and spotted == [] and f"'{out}'" in err and "Permission denied" in err, err


def test_spot_into_a_folder_whose_old_lock_file_opens_still_stops_before_spotting(tmp_path, monkeypatch, capsys):
    # the lock file a run left opens for writing in a folder that takes no new file, where no result could be
    # written either
    from mmnet.commands import spot

    spotted = []
    monkeypatch.setattr(spot, "_spot", lambda args: spotted.append(args.out) or 0)
    out = tmp_path / "spots"
    out.mkdir()

    def refused(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(utils, "_create_temporary", refused)
    code, _, err = cli(capsys, "spot", _recording(tmp_path), "--out", out, "--no-progress")
    assert code == 3 and spotted == [] and str(out / "intervals.csv") in err, err
    assert "Read-only file system: choose another output folder" in err


def _curves():
    """A whole recording's curves, as save_curves reads them."""
    return SimpleNamespace(fps=30.0, regions=["eyes"], scores={"micro": [0.0, 1.0, 0.0]}, strides={"micro": 1},
                           gaps=[], realignments=[0], notes=[], missing=[], faces=[], numbers=[1, 2, 3], times=None)


def _partial(tmp_path, monkeypatch, number: int):
    from mmnet.spotting.partial_state import PartialSpot

    def refused(path, data, check=None):
        raise OSError(number, os.strerror(number), str(path))

    monkeypatch.setattr(utils, "atomic_write_bytes", refused)
    said = []
    keep = PartialSpot(tmp_path, say=said.append)
    keep.key, keep.total = {"recording": "rec.mp4"}, 3
    return keep, said


@pytest.mark.parametrize("number", [errno.EACCES, errno.EPERM, errno.EROFS])
def test_progress_that_cannot_be_saved_for_the_folders_sake_stops_the_spotting(tmp_path, monkeypatch, number):
    keep, said = _partial(tmp_path, monkeypatch, number)
    with pytest.raises(OSError) as info:
        keep.save_curves(_curves())
    assert info.value.errno == number and said == []


def _full_disk(monkeypatch, number: int = errno.ENOSPC, at: str = "write") -> None:
    """The files check_writable makes take no bytes: each ``os.write`` (or ``os.fsync``, where a network file system
    says it) to them fails with ``number``, as on a full disk, where an empty file is still made."""
    made, create, call = set(), utils._create_temporary, getattr(os, at)

    def recorded(path, *args):
        fd, tmp = create(path, *args)
        made.add(fd)
        return fd, tmp

    def refused(fd, *args):
        if fd in made:
            raise OSError(number, os.strerror(number))
        return call(fd, *args)

    monkeypatch.setattr(utils, "_create_temporary", recorded)
    monkeypatch.setattr(os, at, refused)


@pytest.mark.parametrize("number, at", [(errno.ENOSPC, "write"), (errno.EDQUOT, "write"), (errno.ENOSPC, "fsync")])
def test_a_folder_on_a_full_disk_is_said_by_the_probe(tmp_path, monkeypatch, number, at):
    _full_disk(monkeypatch, number, at)
    target = tmp_path / "out" / "intervals.csv"
    with pytest.raises(OSError) as info:
        utils.check_writable(target)
    assert info.value.errno == number and info.value.filename == str(target)
    assert list(tmp_path.iterdir()) == [], "the probe is removed"


@pytest.mark.parametrize("command", ["spot", "export"])
def test_spot_and_export_into_a_full_disk_stop_before_the_work(tmp_path, monkeypatch, capsys, command):
    from mmnet.commands import spot

    spotted = []
    monkeypatch.setattr(spot, "_spot", lambda args: spotted.append(args.out) or 0)
    _full_disk(monkeypatch)
    out = tmp_path / ("spots" if command == "spot" else "m.onnx")
    argv = (["spot", _recording(tmp_path), "--out", out, "--no-progress"] if command == "spot"
            else ["export", "--checkpoint", tmp_path / "ckpt", "--out", out, "--no-check"])  # no checkpoint: not read
    code, _, err = cli(capsys, *argv)
    assert code == 3 and spotted == [] and f"'{out}" in err and "ckpt" not in err, err
    assert "No space left on device. The disk is full: free space on it or choose another output folder" in err
    assert not out.exists(), "a --out folder made for nothing is removed"


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EDQUOT])
def test_progress_that_a_full_disk_cannot_hold_stops_the_spotting(tmp_path, monkeypatch, number):
    # the disk filled after the start: the results would not fit either
    keep, said = _partial(tmp_path, monkeypatch, number)
    _full_disk(monkeypatch, number)
    with pytest.raises(OSError) as info:
        keep.save_curves(_curves())
    assert info.value.errno == number and said == [] and not keep.finished
    assert list(tmp_path.iterdir()) == []


def test_progress_too_large_for_the_space_left_is_a_note_and_the_spotting_goes_on(tmp_path, monkeypatch):
    # the folder still takes small files, such as the results: only the progress (megabytes) did not fit
    keep, said = _partial(tmp_path, monkeypatch, errno.ENOSPC)
    keep.save_curves(_curves())
    assert len(said) == 1 and "spotting goes on" in said[0] and not keep.finished


def _failing(monkeypatch, command: str, number: int, filename: str):
    import importlib

    module = importlib.import_module(f"mmnet.commands.{command.replace('-', '_')}")

    def fails(args):
        raise OSError(number, os.strerror(number), filename)

    monkeypatch.setattr(module, "run", fails)


@pytest.mark.parametrize("favail, says", [
    (0, "out of file entries (inodes; see df -i), though it may have free space: delete files there or choose "
        "another output folder"),
    (1000, "The disk is full: free space on it or choose another output folder"),
])
def test_no_space_tells_a_file_system_out_of_inodes_from_a_full_one(tmp_path, monkeypatch, capsys, favail, says):
    asked = []

    def statvfs(path):
        asked.append(Path(path))
        return SimpleNamespace(f_files=5000, f_favail=favail)

    monkeypatch.setattr(os, "statvfs", statvfs)
    target = tmp_path / "not" / "made" / "report.md"  # its nearest existing folder is asked
    _failing(monkeypatch, "report", errno.ENOSPC, str(target))
    code, _, err = cli(capsys, "report", tmp_path)
    assert code == 3 and f"'{target}': No space left on device. " in err and says in err, err
    assert asked == [tmp_path]


@pytest.mark.parametrize("number, says", [
    (errno.EROFS, "Read-only file system: choose another output folder."),
    (errno.EDQUOT, "Disk quota exceeded: delete files of yours there or choose another output folder."),
])
def test_a_read_only_file_system_and_a_quota_are_named(tmp_path, monkeypatch, capsys, number, says):
    _failing(monkeypatch, "report", number, str(tmp_path / "report.md"))
    code, _, err = cli(capsys, "report", tmp_path)
    assert code == 3 and says in err and "free disk space" not in err, err


@pytest.mark.parametrize("argv, kept", [(["train"], True), (["demo"], True), (["info"], False),
                                        (["report", "run"], False)])
def test_a_disk_error_says_finished_work_is_kept_where_a_rerun_continues(tmp_path, monkeypatch, capsys, argv,
                                                                        kept):
    _failing(monkeypatch, argv[0], errno.ENOSPC, str(tmp_path / "run" / "seed-0" / "fold-1" / "state.pt"))
    code, _, err = cli(capsys, *argv)
    assert code == 3 and "No space left on device" in err, err
    assert ("Finished work is kept; rerun the same command to continue." in err) == kept, err


@pytest.mark.parametrize("command", ["export", "explain"])
def test_export_and_explain_say_a_folder_that_refuses_their_file_before_the_work(tmp_path, monkeypatch, capsys,
                                                                              command):
    # the checkpoint does not exist: loading it would fail with another error
    def refused(path):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(utils, "_create_temporary", refused)
    out = tmp_path / "ro" / ("m.onnx" if command == "export" else "fig.png")
    onset, apex = tmp_path / "onset.png", tmp_path / "apex.png"
    onset.touch()
    apex.touch()
    argv = (["export", "--checkpoint", tmp_path / "ckpt", "--out", out, "--no-check"] if command == "export"
            else ["explain", "--checkpoint", tmp_path / "ckpt", onset, apex, "--out", out])
    code, _, err = cli(capsys, *argv)
    assert code == 3 and f"'{out}': Permission denied" in err and "ckpt" not in err, err


def test_a_writable_folder_is_probed_without_a_trace(tmp_path):
    target = tmp_path / "not" / "made" / "m.onnx"
    utils.check_writable(target)
    assert list(tmp_path.iterdir()) == []
    assert utils.existing_folder(target.parent) == tmp_path
