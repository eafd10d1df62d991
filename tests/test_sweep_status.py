"""A sweep's settings each leave their own mmnet.log and status.json in their run folder (what `mmnet report
OUT/SETTING` reads), while the sweep folder's tell the whole sweep: which setting trains, how many finished."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from mmnet.cli import main

TINY = ["train.epochs=1", "data.image_size=32", "model.image_size=32", "train.batch_size=4",
        "train.precision=fp32", "train.device=cpu"]


def _status(folder) -> dict:
    return json.loads((folder / "status.json").read_text())


@pytest.mark.slow
def test_each_setting_has_its_own_status_and_log_and_a_stopped_one_reports_as_a_plain_run(tmp_path, monkeypatch,
                                                                                           capsys):
    from mmnet import synth
    from mmnet.train import fold as fold_module

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    sweep_file = tmp_path / "s.yaml"
    sweep_file.write_text(yaml.safe_dump({"set": TINY, "settings": {"a": {}, "b": {"model.use_pc": False}}}))
    out = tmp_path / "sweep"
    real, calls, seen = fold_module.train_one_epoch, [], {}

    def epoch_then_ctrl_c(*a, **k):
        calls.append(1)
        if len(calls) == 4:  # setting b's second fold (one epoch a fold): the files meanwhile, then Ctrl-C
            seen.update({name: _status(out / name) for name in ("a", "b", ".")})
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(fold_module, "train_one_epoch", epoch_then_ctrl_c)
    assert main(["sweep", str(sweep_file), "--out", str(out), "--root", str(root), "--no-progress",
                 "--set", f"data.cache_dir={tmp_path / 'cache'}"]) == 130
    capsys.readouterr()
    a, b, sweep = seen["a"], seen["b"], seen["."]
    assert (b["state"], b["pid"], b["folds_finished"], b["folds_total"]) == ("running", os.getpid(), 1, 2)
    assert (b["fold"], b["epoch"], b["epochs"]) == ("seed 0 fold casme2/02", 0, 1) and "setting" not in b
    assert (a["state"], a["folds_finished"], a["folds_total"], a["fold"]) == ("running", 2, 2, None)
    assert (sweep["setting"], sweep["settings_finished"], sweep["settings_total"]) == ("b", 1, 2)
    assert (sweep["folds_finished"], sweep["folds_total"]) == (3, 4)

    assert (_status(out / "a")["state"], _status(out / "a")["exit_code"]) == ("done", 130)  # its folds all finished
    ended = _status(out / "b")
    assert (ended["state"], ended["exit_code"], ended["folds_finished"]) == ("interrupted", 130, 1)
    assert ended["ended_at"] and _status(out)["state"] == "interrupted"
    logs = {name: (out / name / "mmnet.log").read_text() for name in ("a", "b", ".")}
    assert "] a seed 0 fold casme2/01" in logs["a"] and " b seed 0 " not in logs["a"]
    assert "] b seed 0 fold casme2/01" in logs["b"] and " a seed 0 " not in logs["b"]
    assert "] a seed 0 fold" in logs["."] and "] b seed 0 fold" in logs["."]
    # each setting's log numbers its own folds beside the sweep's count (was [fold 3/4] alone in b's, of 2 folds)
    assert "[fold 1/4; a 1/2] a seed 0 fold casme2/01" in logs["a"] and "[fold 2/4; a 2/2] a seed 0" in logs["a"]
    assert "[fold 3/4; b 1/2] b seed 0 fold casme2/01" in logs["b"]
    # a warning said while a setting is prepared names it, and lands in that setting's log
    assert "warning: setting 'b': " in logs["b"] and "warning: setting 'a': " not in logs["b"]
    assert "warning: setting 'a': " in logs["."] and "warning: setting 'b': " in logs["."]
    for log in logs.values():
        lines = log.splitlines()
        assert " started: mmnet sweep " in lines[0] and lines[-1].endswith(" exited 130 (SIGINT)")
        assert " interrupted: " in lines[-2]

    # what b's status.json said while it trained: `mmnet report` tells it is still training, then killed
    (out / "b" / "status.json").write_text(json.dumps(b))
    assert main(["report", str(out / "b"), "--json"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["run_state"] == "running"
    assert "note: the run is still training" in printed.err and "1/2 folds finished" in printed.err
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (out / "b" / "status.json").write_text(json.dumps({**b, "pid": int(gone.stdout)}))
    assert main(["report", str(out / "b"), "--json"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["run_state"] == "stopped abruptly"
    assert "note: the run's command was killed" in printed.err
