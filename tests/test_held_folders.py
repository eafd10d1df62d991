"""Temporary folders held by their process (mmnet.held_folders): a live holder keeps its folder whatever its pid
looks like from here (another PID namespace, a reused pid), a killed one's is removed, another host's is kept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mmnet import held_folders
from mmnet.held_folders import LOCK_NAME, hold_new_folder, host_name, remove_unheld

pytestmark = pytest.mark.skipif(held_folders.fcntl is None, reason="flock (POSIX); Windows: tests/test_processes.py")

_HOLDER = """
import sys
from pathlib import Path
from mmnet.held_folders import hold_new_folder
held = hold_new_folder(Path(sys.argv[1]), "x-")
print(held.path, flush=True)
sys.stdin.read()  # holds it until killed
"""


def _holder(base):
    """Another process holding a folder in ``base``: (the process, its folder)."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(base)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    return proc, held_folders.Path(proc.stdout.readline().strip())


def test_a_live_holder_keeps_its_folder_though_its_pid_looks_ended(tmp_path, monkeypatch):
    # a server in another PID namespace (a container sharing /tmp): its pid means nothing here
    monkeypatch.setattr(held_folders, "process_alive", lambda pid: False)
    proc, folder = _holder(tmp_path)
    try:
        (folder / "job").mkdir()
        (folder / "job" / "video.mp4").write_bytes(b"a participant's face")
        assert folder.name.startswith(f"x-{host_name()}-{proc.pid}-")
        assert remove_unheld(tmp_path, "x-") == [] and (folder / "job" / "video.mp4").is_file()
    finally:
        proc.kill()  # as kill -9, the OOM killer: its lock is given up, its folder left
        proc.wait()
    assert folder.is_dir()
    assert remove_unheld(tmp_path, "x-") == [folder] and not folder.exists()


def test_a_pid_in_use_keeps_no_unheld_folder(tmp_path):
    # a folder whose lock is free goes, though a process with its pid runs (a reused pid, a container's PID 1)
    left = tmp_path / f"x-{host_name()}-{os.getpid()}-abcd_123"
    (left / "job").mkdir(parents=True)
    (left / LOCK_NAME).touch()
    assert remove_unheld(tmp_path, "x-") == [left] and not left.exists()


def test_other_hosts_users_and_things_are_kept(tmp_path, monkeypatch):
    host = host_name()
    other_host = tmp_path / f"x-other.host-{os.getpid()}-abcd_123"  # its lock may not reach here (NFS): kept
    half_made = tmp_path / f"x-{host}-1-abcd_124"  # a lock file not made yet: empty, so removed
    no_lock = tmp_path / f"x-{host}-1-abcd_125"  # not made by this scheme (no lock, not empty): kept
    old_format = tmp_path / "x-abcd_126"
    for folder in (other_host, half_made, no_lock, old_format):
        folder.mkdir()
    for folder in (other_host, no_lock, old_format):
        (folder / "video.mp4").write_bytes(b"face")
    (other_host / LOCK_NAME).touch()
    (tmp_path / f"x-{host}-1-file").write_text("not a folder")
    unlocked = tmp_path / f"x-{host}-2-abcd_127"
    (unlocked / "job").mkdir(parents=True)
    (unlocked / LOCK_NAME).touch()
    (tmp_path / f"x-{host}-3-link").symlink_to(unlocked)
    real_uid = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: real_uid + 1)  # as another user: none of these is theirs
    assert remove_unheld(tmp_path, "x-") == [] and unlocked.is_dir()
    monkeypatch.setattr(os, "getuid", lambda: real_uid)
    assert sorted(remove_unheld(tmp_path, "x-")) == sorted([half_made, unlocked])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [other_host.name, no_lock.name, old_format.name, f"x-{host}-1-file", f"x-{host}-3-link"])


def test_folders_of_the_previous_name_are_removed_once_their_process_is_gone(tmp_path, monkeypatch):
    """``<prefix><pid>-XXXX`` (serve: mmnet-serve-<uid>-<pid>-XXXX; prepare: run-<pid>-<hex>), made before the lock:
    the pid decides, as it did then. A folder of the current name whose host is all digits is not taken for one."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    stopped = tmp_path / f"x-{ended.pid}-abc_d123"
    prepare = tmp_path / f"run-{ended.pid}-0a1b2c3d"
    running = tmp_path / f"x-{os.getpid()}-abc_d124"  # a server of the previous version still running
    numeric_host = tmp_path / f"x-12345-{ended.pid}-abc_d125"  # current name, host "12345": another host's
    for folder in (stopped, prepare, running, numeric_host):
        (folder / "job").mkdir(parents=True)
        (folder / "job" / "video.mp4").write_bytes(b"a participant's face")
    (numeric_host / LOCK_NAME).touch()
    (tmp_path / f"x-{ended.pid}-link").symlink_to(running)
    real_uid = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: real_uid + 1)  # another user's: kept
    assert remove_unheld(tmp_path, "x-") == [] and stopped.is_dir()
    monkeypatch.setattr(os, "getuid", lambda: real_uid)
    assert remove_unheld(tmp_path, "x-") == [stopped] and not stopped.exists()
    assert remove_unheld(tmp_path, "run-") == [prepare] and not prepare.exists()
    assert running.is_dir() and numeric_host.is_dir() and (tmp_path / f"x-{ended.pid}-link").is_symlink()


def test_a_host_name_with_dashes_is_not_taken_for_another(tmp_path, monkeypatch):
    monkeypatch.setattr(held_folders.socket, "gethostname", lambda: "node-1")
    other = tmp_path / "x-node_1_b-7-abcd_123"  # host "node-1-b"
    (other / "job").mkdir(parents=True)
    (other / LOCK_NAME).touch()
    mine = hold_new_folder(tmp_path, "x-")
    assert mine.path.name.startswith(f"x-node_1-{os.getpid()}-")
    mine.close()  # as a killed holder
    assert remove_unheld(tmp_path, "x-") == [mine.path] and other.is_dir()


def test_a_folder_removed_before_its_lock_was_taken_is_made_again(tmp_path, monkeypatch):
    """A process that finds a folder just made, before its maker locked it, removes it (holding the lock): the
    maker, which waits for the lock, then makes another instead of using a removed folder."""
    real_flock, raced = held_folders.fcntl.flock, []

    def flock(fd, op):
        if not raced:  # the maker's first lock: another process removes its folder first
            raced.append(fd)
            assert remove_unheld(tmp_path, "x-") != []
        return real_flock(fd, op)

    monkeypatch.setattr(held_folders.fcntl, "flock", flock)
    held = hold_new_folder(tmp_path, "x-")
    assert raced and held.path.is_dir() and (held.path / LOCK_NAME).is_file()
    assert [p.name for p in tmp_path.iterdir()] == [held.path.name]
    held.release()
    assert not held.path.exists()


_FORGETFUL = """
import os, sys
from pathlib import Path
from mmnet.held_folders import hold_new_folder
held = hold_new_folder(Path(sys.argv[1]), "x-")
child = os.fork()
if child == 0:
    sys.exit(0)  # a forked child ending normally runs the exit handlers it inherited
os.waitpid(child, 0)
print(held.path.is_dir(), held.path, flush=True)
"""  # and ends without releasing it


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_a_folder_never_released_is_removed_when_its_process_exits_not_when_a_forked_child_does(tmp_path):
    done = subprocess.run([sys.executable, "-c", _FORGETFUL, str(tmp_path)], capture_output=True, text=True,
                          check=True)
    kept_by_child, path = done.stdout.split()
    assert kept_by_child == "True", done.stderr
    assert not held_folders.Path(path).exists() and list(tmp_path.iterdir()) == []


def test_a_folder_nothing_refers_to_is_removed(tmp_path):
    held = hold_new_folder(tmp_path, "x-")
    path = held.path
    del held
    assert not path.exists()


def test_release_removes_the_folder(tmp_path):
    held = hold_new_folder(tmp_path / "base", "x-")
    (held.path / "f").write_text("x")
    held.release()
    assert list((tmp_path / "base").iterdir()) == []
