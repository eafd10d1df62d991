"""process_alive on POSIX, and on Windows (simulated: its kernel32 calls faked), where os.kill(pid, 0) sends Ctrl+C."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from mmnet import held_folders
from mmnet.preprocess import pipeline
from mmnet.processes import process_alive

STILL_ACTIVE, ERROR_INVALID_PARAMETER, ERROR_ACCESS_DENIED = 259, 87, 5
RUNNING, EXITED, OTHER_USERS, GONE = 4242, 4343, 4444, 4545


class _Function:
    """A foreign function: callable, with the restype/argtypes that ctypes code sets."""

    def __init__(self, body):
        self.body, self.restype, self.argtypes = body, None, None

    def __call__(self, *args):
        return self.body(*args)


class FakeKernel32:
    """What Windows answers about four processes: running, exited (a handle still open), another user's, gone."""

    last_error = 0
    opened: set[int] = set()

    def __init__(self, name, use_last_error=False):
        assert name == "kernel32" and use_last_error
        self.OpenProcess = _Function(self._open)
        self.GetExitCodeProcess = _Function(self._exit_code)
        self.CloseHandle = _Function(lambda handle: FakeKernel32.opened.discard(handle) or 1)

    def _open(self, access, inherit, pid):
        if pid in (OTHER_USERS, GONE):
            FakeKernel32.last_error = ERROR_ACCESS_DENIED if pid == OTHER_USERS else ERROR_INVALID_PARAMETER
            return None
        FakeKernel32.opened.add(pid)
        return pid  # the handle

    def _exit_code(self, handle, code):
        code._obj.value = STILL_ACTIVE if handle == RUNNING else 0
        return 1


@pytest.fixture
def windows(monkeypatch):
    def no_kill(*args):
        raise AssertionError("os.kill(pid, 0) on Windows sends Ctrl+C to a console process group")

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(os, "kill", no_kill)
    monkeypatch.setattr(ctypes, "WinDLL", FakeKernel32, raising=False)
    monkeypatch.setattr(ctypes, "get_last_error", lambda: FakeKernel32.last_error, raising=False)
    FakeKernel32.opened = set()
    yield
    assert not FakeKernel32.opened, "a process handle was left open"


def test_windows_asks_the_kernel_not_os_kill(windows):
    assert process_alive(RUNNING) and process_alive(OTHER_USERS)
    assert not process_alive(EXITED) and not process_alive(GONE)


def test_the_temporary_folders_of_dead_runs_are_removed_on_windows(tmp_path, windows, monkeypatch):
    monkeypatch.setattr(held_folders, "fcntl", None)  # no flock there: whether the process runs decides
    base, host = tmp_path / pipeline.TMP_DIR_NAME, held_folders.host_name()
    for pid in (RUNNING, EXITED, OTHER_USERS, GONE):
        (base / f"run-{host}-{pid}-abcd1234").mkdir(parents=True)
    mine = pipeline._run_tmp_dir(tmp_path)
    assert sorted(p.name for p in base.iterdir()) == sorted([f"run-{host}-{RUNNING}-abcd1234",
                                                             f"run-{host}-{OTHER_USERS}-abcd1234", mine.path.name])
    mine.release()
    assert not mine.path.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX")
def test_posix_tells_a_running_process_from_an_ended_one():
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # reaped: its pid is free
    assert process_alive(os.getpid()) and not process_alive(ended.pid)

