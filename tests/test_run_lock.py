"""One driver per run folder: a second `mmnet train` on the same --out is refused, naming the first; the lock
goes with the process (SIGKILL included) and leaves no folder behind when nothing was written."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from mmnet import run_folder as rf
from mmnet.cli import main
from mmnet.config import load_config
from mmnet.errors import ExecutorError
from mmnet.train import run_experiment
from mmnet.train.run_lock import driver_lock

pytest.importorskip("fcntl")


def _recorded_lock(events: list, held: set) -> type[FileLock]:
    """A FileLock class that notes each acquire ("lock") and each last release ("unlock") in ``events``, and
    keeps the folders whose lock it holds in ``held``."""

    class Recorded(FileLock):
        def acquire(self, *args, **kwargs):
            taken = super().acquire(*args, **kwargs)
            held.add(Path(self.lock_file).parent)
            events.append("lock")
            return taken

        def release(self, *args, **kwargs):
            was = self.is_locked
            super().release(*args, **kwargs)
            if was and not self.is_locked:
                held.discard(Path(self.lock_file).parent)
                events.append("unlock")

    return Recorded

HOLD = "import sys, time; from mmnet.train.run_lock import driver_lock\n" \
       "with driver_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n"


def _hold(out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_driver_on_the_run_folder_is_refused_naming_the_first(tmp_path, capsys):
    out = tmp_path / "run"
    holder = _hold(out)
    try:
        cfg = load_config(None, ["data.root=/nowhere", "train.device=cpu"])
        with pytest.raises(ExecutorError, match=rf"'{out}' is in use by another mmnet command \(pid {holder.pid} "
                                                r"on host .*, started .*\).*Wait for it to end"):
            run_experiment(cfg, out, progress=False)
        assert [p.name for p in out.iterdir()] == [rf.DRIVER_LOCK]  # nothing was prepared or trained
        # --restart does not move a run that another command drives
        assert main(["train", "--out", str(out), "--restart", "--set", "data.root=/nowhere",
                     "--device", "cpu"]) == 3
        assert f"pid {holder.pid}" in capsys.readouterr().err and out.is_dir()
    finally:
        holder.send_signal(signal.SIGKILL)  # the kernel releases the lock of a killed command
        holder.wait()
    with driver_lock(out):
        assert str(os.getpid()) in (out / rf.DRIVER_LOCK).read_text()
        with driver_lock(out):  # the same process again (a sweep's setting, a restart): no second lock
            pass


def test_a_lock_alone_leaves_no_folder(tmp_path):
    with pytest.raises(RuntimeError):
        with driver_lock(tmp_path / "new"):
            raise RuntimeError("the command failed before writing anything")
    assert not (tmp_path / "new").exists()


def test_restart_of_a_folder_holding_only_a_lock_file_moves_nothing(tmp_path):
    from mmnet.train.run_lock import set_aside

    out = tmp_path / "fresh"
    out.mkdir()
    (out / rf.DRIVER_LOCK).write_text("pid 1\n")  # left by a command that failed in a folder it did not create
    assert set_aside(out) is None and out.is_dir()
    with driver_lock(out):
        assert set_aside(out) is None  # `train --restart` takes the lock first: it is not an earlier run
    assert not list(tmp_path.glob("fresh.old-*"))


def test_without_fcntl_the_lock_still_holds(tmp_path):
    # where fcntl does not exist (Windows) the driver ran with no lock at all: two commands trained every fold
    block = "import sys; sys.modules['fcntl'] = None\n"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", block + HOLD, str(out)], stdout=subprocess.PIPE, text=True,
                              env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        second = block + ("import sys; from mmnet.train.run_lock import driver_lock\n"
                          "with driver_lock(sys.argv[1]):\n    print('second driver')\n")
        run = subprocess.run([sys.executable, "-c", second, str(out)], capture_output=True, text=True, env=env)
        assert run.returncode != 0 and "second driver" not in run.stdout
        assert f"is in use by another mmnet command (pid {holder.pid} " in run.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()


def test_a_restart_holds_a_lock_from_the_move_to_the_new_run(tmp_path, monkeypatch):
    """restart released the earlier run's lock before taking the new folder's: another command could take the
    folder in between, and the moved run kept a lock file of its own."""
    from mmnet import folder_lock
    from mmnet.train import experiment

    events = []
    monkeypatch.setattr(folder_lock, "FileLock", _recorded_lock(events, set()))
    monkeypatch.setattr(experiment, "_run", lambda *args: events.append("run") or {})
    out = tmp_path / "run"
    out.mkdir()
    (out / rf.CONFIG).write_text("seeds: [0]\n")  # an earlier run
    experiment.train_experiment(load_config(None, ["train.device=cpu"]), out, progress=False, restart=True)
    assert events == ["lock", "lock", "run", "unlock", "unlock"]  # never no lock between the move and the run
    (moved,) = tmp_path.glob("run.old-*")
    assert [p.name for p in moved.iterdir()] == [rf.CONFIG]  # no lock file of its own: nobody drives it


def test_a_restart_on_windows_releases_the_earlier_runs_lock_just_before_the_move(tmp_path, monkeypatch):
    """Windows refuses to rename a folder while a file in it is open, as the lock file is: --restart always failed."""
    from mmnet import folder_lock
    from mmnet.train import experiment

    events, held = [], set()

    real_rename = Path.rename

    def windows_rename(self, target):
        if self in held:
            raise PermissionError(13, "The process cannot access the file because it is being used by another process",
                                  str(self), None, str(target))
        events.append("move")
        return real_rename(self, target)

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(Path, "rename", windows_rename)
    monkeypatch.setattr(folder_lock, "FileLock", _recorded_lock(events, held))
    monkeypatch.setattr(experiment, "_run", lambda *args: events.append("run") or {})
    out = tmp_path / "run"
    out.mkdir()
    (out / rf.CONFIG).write_text("seeds: [0]\n")  # an earlier run
    experiment.train_experiment(load_config(None, ["train.device=cpu"]), out, progress=False, restart=True)
    assert events == ["lock", "unlock", "move", "lock", "run", "unlock"]
    (moved,) = tmp_path.glob("run.old-*")
    assert [p.name for p in moved.iterdir()] == [rf.CONFIG]


def test_a_command_ending_removes_its_lock_file_before_releasing_it(tmp_path, monkeypatch):
    """driver_lock released the lock, then deleted the file and the folder: a command waiting for it could lock the
    deleted file (and run beside a third) or find no folder and run without a lock."""
    from mmnet import folder_lock

    at_release = []

    class Noting(FileLock):
        def release(self, *args, **kwargs):
            if self.is_locked:
                at_release.append((Path(self.lock_file).exists(), Path(self.lock_file).parent.exists()))
            return super().release(*args, **kwargs)

    monkeypatch.setattr(folder_lock, "FileLock", Noting)
    with driver_lock(tmp_path / "new"):
        pass
    assert at_release == [(False, False)] and not (tmp_path / "new").exists()


FOLLOW = ("import sys, time; from mmnet.train.run_lock import driver_lock\n"
          "for line in sys.stdin:\n    with driver_lock(line.strip()):\n"
          "        print('held', flush=True)\n        time.sleep(0.02)\n")


def test_a_command_waiting_for_an_ending_one_holds_a_lock_on_the_folders_file(tmp_path, caplog):
    """Two processes: the first takes a new folder's lock and ends having written nothing (the folder goes); the
    second, trying meanwhile, must end up holding the lock of the file that is there, in a folder that is there."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    first = subprocess.Popen([sys.executable, "-c", FOLLOW], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=env)
    wrong = []
    try:
        for trial in range(40):
            out = tmp_path / f"run{trial}"
            first.stdin.write(f"{out}\n")
            first.stdin.flush()
            assert first.stdout.readline().strip() == "held"
            while True:
                try:
                    with driver_lock(out):
                        lock_file = out / rf.DRIVER_LOCK
                        there = lock_file.is_file()
                        time.sleep(0.002)  # long enough for the first to delete it, were it still doing so
                        if not (there and lock_file.is_file()):
                            wrong.append(f"trial {trial}: the lock file was deleted")
                    break
                except ExecutorError:
                    continue
                except OSError as exc:
                    wrong.append(f"trial {trial}: {exc!r}")
                    break
    finally:
        first.stdin.close()
        first.wait()
    wrong += [r.getMessage() for r in caplog.records if "no lock on" in r.getMessage()]
    assert wrong == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="flock on Linux")
def test_the_lock_kind_is_decided_before_the_lock_is_taken(tmp_path, monkeypatch):
    # folder_lock read filelock's private `_context.soft_fallback` to know which lock it had: it decides it itself now
    import errno
    import fcntl

    from mmnet import folder_lock

    lock_file = tmp_path / "new" / "x.lock"
    assert folder_lock._lock_kind(lock_file) == "flock" and (tmp_path / "new").is_dir()
    lock = folder_lock._new_lock(lock_file, "flock")
    assert lock.fallback_to_soft is False  # filelock may not switch to a soft lock behind this decision
    with lock:
        assert lock_file.read_bytes() == b""  # a flock: a soft lock's file would hold its holder's record

    def no_flock(fd, operation):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", no_flock)  # a file system without flock (some FUSE and network mounts)
    elsewhere = tmp_path / "no-flock" / "x.lock"
    assert folder_lock._lock_kind(elsewhere) == "soft"
    assert list(elsewhere.parent.iterdir()) == []  # the probe left nothing, no lock file above all


NO_FLOCK = {"no fcntl": "import sys; sys.modules['fcntl'] = None\n",
            "ENOSYS": "import errno, fcntl\n"
                      "def no_flock(fd, op): raise OSError(errno.ENOSYS, 'Function not implemented')\n"
                      "fcntl.flock = no_flock\n"}


@pytest.mark.parametrize("without", list(NO_FLOCK))
def test_a_killed_commands_soft_lock_does_not_block_a_rerun(tmp_path, without):
    """Without flock the lock is the file's existence, which a killed command leaves: its holder line overwrote
    filelock's record of the holder, by which filelock breaks the lock of a process that no longer runs, so every
    rerun was refused until the file was deleted by hand."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", NO_FLOCK[without] + HOLD, str(out)], stdout=subprocess.PIPE,
                              text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        second = NO_FLOCK[without] + ("import sys; from mmnet.train.run_lock import driver_lock, ended_abruptly\n"
                                      "with driver_lock(sys.argv[1]):\n"
                                      "    print('second driver', ended_abruptly(sys.argv[1]))\n")
        run = subprocess.run([sys.executable, "-c", second, str(out)], capture_output=True, text=True, env=env)
        assert run.returncode != 0 and f"another mmnet command (pid {holder.pid} on host " in run.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    rerun = subprocess.run([sys.executable, "-c", second, str(out)], capture_output=True, text=True, env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip() == "second driver True"  # and it says the previous one ended abruptly
    assert list(out.iterdir()) == []  # the soft lock's file went with its release


def test_a_soft_lock_holder_that_ended_cleanly_meanwhile_is_no_abrupt_end(tmp_path, monkeypatch):
    # the soft lock's record is read before the lock is taken: a holder that released it in between was reported
    # as having ended abruptly. The race is simulated: the record read names a holder, the lock file is gone.
    import socket

    from mmnet import folder_lock
    from mmnet.train.run_lock import ABRUPT_END, ABRUPT_MAYBE, abrupt_end_note

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid of this host that no longer runs
    here = socket.gethostname()
    monkeypatch.setattr(folder_lock, "_lock_kind", lambda path: "soft")

    def rerun(record: str) -> tuple[str, str | None]:
        monkeypatch.setattr(folder_lock, "read_holder", lambda path: record)
        out = tmp_path / "run"
        with folder_lock.folder_lock(out, rf.DRIVER_LOCK, ExecutorError) as left:
            pass
        with driver_lock(out):
            note = abrupt_end_note([out])
        return left, note

    assert rerun(f"{os.getpid()}\n{here}\n") == ("", None)  # running: it released the lock itself
    assert rerun(f"{gone.pid}\n{here}\n") == (f"pid {gone.pid} on host {here}", ABRUPT_END)
    left, note = rerun(f"{gone.pid}\nelsewhere-{here}\n")
    assert left.startswith(f"pid {gone.pid} on host elsewhere-{here}, ") and note == ABRUPT_MAYBE
    assert rerun("") == ("", None)
