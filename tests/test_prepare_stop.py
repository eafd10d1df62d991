"""`mmnet prepare --workers N` stopped from outside (SIGTERM) or by a worker that dies: prompt exit, the finished
clips kept and listed, a rerun doing the rest; and an error before any clip is prepared not promising kept work."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmnet.errors import PreprocessError
from mmnet.preprocess.parallel import run_in_workers

from .preprocess_helpers import skip_without_face_extra

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="signals from outside")


# ------------------------------------------------------------------ a worker that dies (run in the worker processes)


def _nothing() -> None:
    pass


def _task(how: str, folder: str) -> str:
    if how == "fast":
        return how
    # the fast tasks finish first, in the other worker: this one dies once the main process has their results
    # (a fixed sleep raced a loaded machine's start of that worker, which then found the pool broken)
    deadline = time.monotonic() + 50
    while len(list(Path(folder).iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    if how == "exit":
        os._exit(1)
    os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer does
    return how


@pytest.mark.parametrize("how, said", [("exit", "exit status 1"),
                                       ("kill", "killed by SIGKILL, as the system's out-of-memory killer does")])
def test_a_dead_worker_names_its_clip_and_keeps_the_finished_ones(tmp_path, how, said):
    done = {}
    (tmp_path / "done").mkdir()
    tasks = {k: (name, str(tmp_path / "done")) for k, name in {0: how, 1: "fast", 2: "fast"}.items()}

    def finished(key, result):
        done[key] = result
        (tmp_path / "done" / str(key)).touch()
    labels = {0: "sub01/EP02", 1: "sub01/EP01", 2: "sub02/EP01"}
    start = time.monotonic()
    with pytest.raises(PreprocessError) as caught:
        run_in_workers(tasks, labels, _task, workers=2, initializer=_nothing, initargs=(), notes=tmp_path,
                       done=finished)
    assert time.monotonic() - start < 60
    assert done == {1: "fast", 2: "fast"}
    assert str(caught.value) == (
        f"a worker process died ({said}) while preparing sub01/EP02; the 2 clip(s) finished are kept. Rerun the same "
        "command to continue, with fewer --workers if memory ran out; if it dies again on the same clip, a native "
        "library (OpenCV, dlib) crashes on its frames: move that clip away to prepare the others")


# ------------------------------------------------------------------ a real prepare (face extra)


def _raw_casme2(root, clips: int):
    from .preprocess_helpers import face_frame, save_frames

    frames = {f"img{n}.jpg": face_frame(dx=2 * k) for k, n in enumerate(range(1, 7))}
    for c in range(clips):
        save_frames(root / "CASME2_RAW_selected" / f"sub0{1 + c % 2}" / f"EP{c:02d}", frames)
    return root


def _clips_written(root) -> set[str]:
    return {f"{d.parent.name}/{d.name}" for d in (root / "Cropped").glob("*/*") if d.is_dir()}


@pytest.mark.slow  # prepare runs in subprocesses: about 30 s
@pytest.mark.parametrize("signum, group", [(signal.SIGTERM, False), (getattr(signal, "SIGHUP", None), True)],
                         ids=["sigterm", "sighup-to-the-group"])
def test_a_stop_ends_the_workers_keeps_the_finished_clips_and_the_rerun_does_the_rest(tmp_path, signum, group):
    """SIGTERM to prepare itself (``kill PID``, a scheduler), SIGHUP to its whole process group (a closed terminal
    or ssh session: the workers and multiprocessing's helper processes get it too)."""
    skip_without_face_extra()
    clips = 12
    root = _raw_casme2(tmp_path / "CASME2", clips)
    args = [sys.executable, "-m", "mmnet", "prepare", str(root), "--workers", "2", "--no-progress"]
    # a terminal's SIGHUP: under nohup (a test run left to finish on its own) the test would pass its ignored SIGHUP on,
    # and mmnet keeps nohup's choice
    hangup_as_a_terminal = (lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL)) if group else None
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=group,
                            preexec_fn=hangup_as_a_terminal)
    try:
        deadline = time.monotonic() + 300  # a loaded machine may take long to import and start
        while not _clips_written(root) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is not None:
            pytest.skip(f"the run ended (exit {proc.returncode}) before the signal could be sent")
        if group:
            os.killpg(proc.pid, signum)
        else:
            os.kill(proc.pid, signum)
        at_signal = len(_clips_written(root))
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if proc.returncode == 0 and at_signal == clips:  # a loaded machine starved this test until every clip was done
        pytest.skip("the run had prepared every clip before the signal was sent")
    assert proc.returncode == 128 + signum, err
    assert err.strip().splitlines()[-1] == (f"stopped ({signal.Signals(signum).name}): finished work is kept; rerun "
                                            "the same command to continue"), err
    assert "resource_tracker" not in err, err  # multiprocessing's helper process, killed by a SIGHUP, said so
    written = _clips_written(root)
    assert 0 < len(written) < clips, written  # the clips not started were not prepared after the stop
    summary = json.loads((root / "prepare-summary.json").read_text())
    listed = {c["clip_id"] for c in summary["clips"]}
    assert summary["interrupted"] and listed and listed <= written, (listed, written)
    assert all(c["status"] == "ok" and c["n_frames"] == 6 for c in summary["clips"])
    assert not list((root / ".mmnet-prepare-tmp").glob("*")), "the stopped run's temporary folder is left"
    if group:
        return  # the rerun is the same

    rerun = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads((root / "prepare-summary.json").read_text())
    status = {c["clip_id"]: c["status"] for c in summary["clips"]}
    assert not summary["interrupted"] and len(status) == clips
    assert {c for c, s in status.items() if s == "skipped"} == written  # each clip folder a complete one
    assert _clips_written(root) == set(status)


def test_an_error_before_any_clip_promises_no_kept_work_one_after_does(tmp_path, monkeypatch, capsys):
    skip_without_face_extra()
    from mmnet.cli import main
    from mmnet.preprocess import pipeline

    from .preprocess_helpers import NoFaceAligner, face_frame, save_frames

    save_frames(tmp_path / "clip", {f"img{n}.jpg": face_frame() for n in (1, 2)})
    summary = tmp_path / "summary.json"

    def refused(path, *args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(pipeline, "check_writable", refused)  # the summary's folder, checked before any clip
    assert main(["prepare", str(tmp_path / "clip"), "--summary", str(summary), "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert f"error: '{summary}': Permission denied." in err and "rerun the same command" not in err, err
    assert not (tmp_path / "clip_aligned").exists()

    monkeypatch.undo()
    monkeypatch.setattr(pipeline, "_shared_aligner", lambda *args: NoFaceAligner())
    monkeypatch.setattr(pipeline, "atomic_write_text", refused)  # the summary, written once the clips are done
    assert main(["prepare", str(tmp_path / "clip"), "--summary", str(summary), "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert "Finished work is kept; rerun the same command to continue." in err, err
