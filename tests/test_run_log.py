"""What a run folder tells whoever did not watch the terminal: RUN/mmnet.log (timestamped lines, how each start
ended), RUN/status.json (the state while it runs), where a stopped run resumes; SIGHUP stops as SIGTERM does."""

from __future__ import annotations

import json
import os
import re
import signal

import pytest

from mmnet import run_log
from mmnet.cli import _sigterm_as_interrupt, main
from mmnet.version import __version__

TINY = ["data.image_size=32", "train.batch_size=4", "train.device=cpu", "train.precision=fp32",
        "train.state_every_s=0", "train.epochs=3"]  # a resume state after every epoch
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d "  # ISO 8601 with the UTC offset


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=2, clips_per_subject=3, seed=0)


def _args(root, out, cache, *extra):
    return ["train", "--dataset", "casme2", "--root", str(root), "--out", str(out), "--no-progress",
            "--set", f"data.cache_dir={cache}", *[x for s in TINY for x in ("--set", s)], *extra]


def _status(run) -> dict:
    return json.loads((run / "status.json").read_text())


@pytest.mark.slow
def test_a_stopped_run_leaves_its_log_and_status_and_says_where_it_resumes(synth_root, tmp_path, monkeypatch, capsys):
    from mmnet.train import fold as fold_module

    run = tmp_path / "run"
    real, calls, seen = fold_module.train_one_epoch, [], {}

    def epoch_then_ctrl_c(*a, **k):
        calls.append(1)
        if len(calls) == 4:  # the second fold's first epoch: what status.json says meanwhile
            seen.update(_status(run))
        if len(calls) == 5:  # its second epoch: Ctrl-C (its state holds epoch 1)
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(fold_module, "train_one_epoch", epoch_then_ctrl_c)
    assert main(_args(synth_root, run, tmp_path / "cache")) == 130
    err = capsys.readouterr().err
    stop = re.search(r"interrupted: finished work is kept; rerun the same command to continue; "
                     r"1/2 folds finished; seed 0 fold casme2/02 resumes from epoch 2/3 \(saved at \d\d:\d\d\)", err)
    assert stop, err
    assert seen["state"] == "running" and seen["pid"] == os.getpid() and seen["folds_finished"] == 1
    assert seen["folds_total"] == 2 and seen["fold"] == "seed 0 fold casme2/02" and seen["epochs"] == 3
    assert seen["eta_s"] > 0 and re.match(STAMP.strip(), seen["updated_at"]) and seen["exit_code"] is None
    status = _status(run)
    assert status["state"] == "interrupted" and status["exit_code"] == 130 and status["epoch"] == 1
    log = (run / "mmnet.log").read_text().splitlines()
    assert all(re.match(STAMP, line) for line in log), log
    assert re.match(STAMP + f"mmnet {re.escape(__version__)} started: mmnet train --dataset casme2 ", log[0])
    assert any(line.endswith("test acc 0.000; ETA " + line.rsplit("ETA ", 1)[-1]) and "[fold 1/2]" in line
               for line in log)
    assert any("warning: 2 fold(s) train without a class" in line for line in log)
    assert stop.group(0) in log[-2] and log[-1].endswith(" exited 130 (SIGINT)")

    monkeypatch.setattr(fold_module, "train_one_epoch", real)
    assert main(_args(synth_root, run, tmp_path / "cache")) == 0
    err = capsys.readouterr().err
    assert re.search(r"seed 0 fold casme2/02 resumes from epoch 2/3 \(saved at \d\d:\d\d\)", err), err
    log = (run / "mmnet.log").read_text().splitlines()
    assert sum(" started: mmnet train " in line for line in log) == 2  # appended, not replaced
    assert "1/2 folds already finished; running the other 1" in "\n".join(log)
    assert log[-1].endswith(" exited 0 (done)")
    status = _status(run)
    assert status["state"] == "done" and status["exit_code"] == 0 and status["folds_finished"] == 2

    # another configuration into the same folder: refused (bad input), said in the log; the status still describes
    # the run (done, its folds), not the refused command
    assert main(_args(synth_root, run, tmp_path / "cache", "--set", "train.lr=0.5")) == 3
    assert "different configuration" in capsys.readouterr().err
    log = (run / "mmnet.log").read_text().splitlines()
    assert "error: " in log[-2] and "different configuration" in log[-2] and log[-1].endswith(" exited 3 (error)")
    assert _status(run) == status


def test_a_fold_resumed_says_which_epochs_the_stopped_start_trained_in_vain(tmp_path, capsys):
    from mmnet.train.fold import _say_resume

    (tmp_path / "state.pt").write_bytes(b"state")
    (tmp_path / "history.csv").write_text("epoch,train_loss\n" + "".join(f"{e},0.5\n" for e in range(1, 19)))
    _say_resume("seed 0 fold s01", tmp_path, 11, 25)
    said = capsys.readouterr().err
    assert re.fullmatch(r"seed 0 fold s01 resumes from epoch 12/25 \(saved at \d\d:\d\d\); epochs 12-18 of the "
                        r"stopped start are trained again\n", said), said
    _say_resume("seed 0 fold s01", tmp_path, 0, 25)  # a fresh fold says nothing
    assert capsys.readouterr().err == ""


def test_a_rerun_whose_folds_all_resume_says_so():
    from mmnet.train.experiment import resume_line

    assert resume_line(3, 3) is None  # a fresh start
    assert resume_line(3, 3, resumed=True) == "0/3 folds finished; running all 3"


def test_sighup_stops_as_sigterm_does_but_stays_ignored_under_nohup(monkeypatch, capsys, request):
    """A closed terminal, tmux pane or ssh session (SIGHUP) ended a command at once, its locks left behind: it
    stops as SIGTERM stops it, with 129; under nohup (SIGHUP ignored) the command runs on."""
    import time

    from mmnet.commands import info

    found = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    request.addfinalizer(lambda: signal.signal(signal.SIGHUP, found))

    def hang_up(args):
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(5)  # (the handler raises here)
        return 0

    monkeypatch.setattr(info, "run", hang_up)
    assert main(["info"]) == 129
    assert capsys.readouterr().err.startswith("stopped (SIGHUP): ")
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL  # set back
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # nohup
    with _sigterm_as_interrupt():
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN


def test_nothing_is_logged_outside_a_command_and_a_new_folder_left_empty_gets_no_log(tmp_path):
    run_log.open_run_log(tmp_path / "a")  # a call from Python: no command, no files
    run_log.copy("a line")
    assert not (tmp_path / "a").exists()
    with run_log.command_logs(["train", "--out", "b"]) as ended:
        (tmp_path / "b").mkdir()
        run_log.open_run_log(tmp_path / "b")
        run_log.copy("error: bad input", error=True)
        (tmp_path / "b").rmdir()  # what the folder lock does with a new folder the command wrote nothing in
        ended(3)
    assert not (tmp_path / "b").exists()
    with run_log.command_logs(["train", "--out", "c"]) as ended:
        (tmp_path / "c").mkdir()
        run_log.open_run_log(tmp_path / "c")
        run_log.copy("error: bad input", error=True)
        (tmp_path / "c" / "config.yaml").write_text("{}")  # the run's files: the lines so far are kept
        ended(3)
    lines = (tmp_path / "c" / "mmnet.log").read_text().splitlines()
    assert len(lines) == 3 and "started: mmnet train --out c" in lines[0] and lines[1].endswith(" error: bad input")
    assert lines[2].endswith(" exited 3 (error)")
    assert json.loads((tmp_path / "c" / "status.json").read_text())["last_error"] == "error: bad input"


def test_a_warning_goes_to_the_log_and_still_to_stderr_when_no_other_handler_takes_it(tmp_path, monkeypatch, capsys):
    import logging

    from mmnet.progress import command_log

    monkeypatch.setattr(logging.root, "handlers", [])  # as the `mmnet` program runs: no logging set up
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("{}")
    with command_log(), run_log.command_logs(["train"]) as ended:
        run_log.open_run_log(tmp_path / "run")
        logging.getLogger("mmnet.train").warning("a sample is odd")
        ended(0)
    assert capsys.readouterr().err == "warning: a sample is odd\n"  # once, as without the log
    lines = (tmp_path / "run" / "mmnet.log").read_text().splitlines()
    assert lines[1].endswith(" warning: a sample is odd") and lines[2].endswith(" exited 0 (done)")


def test_report_of_a_partial_run_says_whether_it_is_still_training(tmp_path, capsys):
    import socket
    import subprocess
    import sys

    from .fake_runs import make_samples, write_run

    run = write_run(tmp_path / "run", make_samples({"1": [0, 1], "2": [1, 2]}), lambda seed, epoch, s: 0,
                    unfinished=("2",))
    status = {"state": "running", "pid": os.getpid(), "host": socket.gethostname(), "fold": "seed 0 fold casme2/2",
              "epoch": 2, "epochs": 3, "folds_finished": 1, "folds_total": 2}
    (run / "status.json").write_text(json.dumps(status))
    assert main(["report", str(run), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["run_state"] == "running"
    assert (f"note: the run is still training (pid {os.getpid()} on {socket.gethostname()}; seed 0 fold "
            "casme2/2, epoch 2/3; 1/2 folds finished)") in err
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (run / "status.json").write_text(json.dumps({**status, "pid": int(gone.stdout)}))  # killed: no such process
    assert main(["report", str(run), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["run_state"] == "stopped abruptly" and "still training" not in err
    assert "note: the run's command was killed" in err and "1/2 folds finished; rerun the same command" in err


def test_reading_the_status_of_a_run_does_not_signal_its_process_on_windows(tmp_path, monkeypatch):
    import socket
    import types

    from mmnet import processes
    from mmnet.run_log import read_status

    def no_signal(pid, sig):  # on Windows os.kill(pid, 0) sends Ctrl+C to the process group
        raise AssertionError("os.kill called")

    monkeypatch.setattr(processes, "sys", types.SimpleNamespace(platform="win32"))
    monkeypatch.setattr(processes, "_windows_process_alive", lambda pid: pid == os.getpid())
    monkeypatch.setattr(os, "kill", no_signal)
    status = {"state": "running", "pid": os.getpid(), "host": socket.gethostname()}
    (tmp_path / "status.json").write_text(json.dumps(status))
    assert read_status(tmp_path)["state"] == "running"
    (tmp_path / "status.json").write_text(json.dumps({**status, "pid": os.getpid() + 1}))
    assert read_status(tmp_path)["state"] == "stopped abruptly"


def test_folds_only_submitted_end_in_state_submitted_with_no_other_key(tmp_path):
    with run_log.command_logs(["train", "--out", "r"]) as ended:
        run_log.open_run_log(tmp_path, live=True)
        run_log.folds(2, 0)
        run_log.submitted()
        ended(0)
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["state"] == "submitted" and status["exit_code"] == 0
    assert "submitted" not in status  # docs/reports.md's table: `state` says it


@pytest.mark.parametrize("bad", [["--root", "other"], ["--set", "learned.no_such_key=1"]])
def test_a_usage_error_of_train_spotter_leaves_no_model_log(tmp_path, bad, capsys):
    model = tmp_path / "models" / "spotter.pt"
    args = ["train-spotter", "casme-sq", "--root", str(tmp_path / "data"), "--out", str(model), "--device", "cpu"]
    assert main(args + bad) == 3
    assert "error: " in capsys.readouterr().err
    assert not (tmp_path / "models").exists()  # docs/reports.md: no MODEL.log (nor its folder) of a usage error


def test_local_timestamp_is_local_iso_time_to_the_second_with_its_utc_offset():
    from datetime import datetime

    from mmnet.utils import local_timestamp

    for seconds in (0.0, 1_772_370_131.9):
        stamp = local_timestamp(seconds)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", stamp)
        assert datetime.fromisoformat(stamp).timestamp() == int(seconds)
    assert abs(datetime.fromisoformat(local_timestamp()).timestamp() - datetime.now().timestamp()) < 5
