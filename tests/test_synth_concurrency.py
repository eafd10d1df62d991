"""Synthetic sets written by two processes at once: a set is written beside its folder and moved into place when
whole (synth.json last), and a demo holds its data folder's lock while it checks and writes its set, so that a demo
started while another draws the data waits and uses it (it read a half-written workbook, or found the folder "not
empty")."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmnet.cli import main
from mmnet.errors import ConfigError
from mmnet.synth import CODING_FILE, dataset, write_dataset

pytest.importorskip("fcntl")

# A demo whose training is replaced by a check of the data it would train on (the set must be whole). Given a
# gate file, it writes the workbook (the frames are written by then) once that file is there.
DEMO = """import os, sys, time
import mmnet.train
from mmnet.cli import main
from mmnet.data import load_dataset
from mmnet.synth import dataset

def check_data(cfg, out, progress, source=None):  # train_experiment's signature, as the demo calls it
    load = load_dataset("casme2", cfg.data.root)
    load.raise_if_errors()
    print("trained on", len(load.samples), "clips", flush=True)
    raise SystemExit(0)

def gated(path, rows, write=dataset._write_coding):
    deadline = time.monotonic() + 60
    while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
        time.sleep(0.01)
    write(path, rows)

mmnet.train.train_experiment = check_data
if len(sys.argv) > 2:
    dataset._write_coding = gated
sys.exit(main(["demo", "--out", sys.argv[1], "--subjects", "3", "--clips-per-subject", "6", "--no-progress"]))
"""


def test_a_demo_started_while_another_draws_the_data_waits_and_uses_its_set(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    out, gate = tmp_path / "demo", tmp_path / "go"
    run = [sys.executable, "-c", DEMO, str(out)]
    first = subprocess.Popen([*run, str(gate)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    second = None
    try:
        deadline = time.monotonic() + 60
        # the first is drawing the set: its folder, or the one it is written in, is there
        while not (out.exists() and any(p.name.startswith(("data", ".data.partial-")) for p in out.iterdir())):
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.01)
        second = subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        waiting = second.stderr.readline()  # what it says first: it waits (it failed at once)
        gate.touch()
        second_out, second_err = second.communicate(timeout=120)
    finally:
        gate.touch()
        first_out, first_err = first.communicate(timeout=120)
        if second is not None and second.poll() is None:
            second.kill()
    assert waiting == f"waiting for another mmnet command writing the synthetic data in {out / 'data'}\n", \
        waiting + second_err
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert "trained on 18 clips" in first_out and "trained on 18 clips" in second_out
    assert "synthetic data: " in first_out and "synthetic data: " not in second_out  # drawn once
    assert not [p.name for p in out.iterdir() if ".partial-" in p.name]


def test_the_set_appears_in_its_folder_only_when_whole(tmp_path, monkeypatch):
    out = tmp_path / "set"
    seen = []
    real = dataset._write_coding

    def write_coding(path, rows):
        seen.append(out.exists())  # the frames are written by now
        real(path, rows)

    monkeypatch.setattr(dataset, "_write_coding", write_coding)
    write_dataset(out, subjects=2, clips_per_subject=2, seed=0)
    assert seen == [False]
    assert sorted(p.name for p in out.iterdir()) == sorted(["Cropped", CODING_FILE, "synth.json"])
    assert not [p for p in tmp_path.iterdir() if p != out]  # nothing left beside it
    made = tmp_path / "made"
    made.mkdir()
    assert out.stat().st_mode == made.stat().st_mode  # a folder as any other, not private to its writer


def test_a_set_written_into_the_folder_meanwhile_is_kept(tmp_path, monkeypatch):
    out = tmp_path / "set"
    real = dataset._write_coding

    def another_command_writes_first(path, rows):
        monkeypatch.setattr(dataset, "_write_coding", real)
        write_dataset(out, subjects=1, clips_per_subject=2, seed=1)
        real(path, rows)

    monkeypatch.setattr(dataset, "_write_coding", another_command_writes_first)
    with pytest.raises(ConfigError, match=rf"Output folder '{out}' is not empty: another command wrote Cropped into "
                                          "it while this one wrote its set"):
        write_dataset(out, subjects=2, clips_per_subject=2, seed=0)
    assert '"seed": 1' in (out / "synth.json").read_text() and len(list(out.glob("Cropped/*/*"))) == 2
    assert not [p for p in tmp_path.iterdir() if p != out]


def test_overwrite_replaces_the_earlier_set_marker_last(tmp_path, capsys):
    out = tmp_path / "set"
    assert main(["synth", str(out), "--subjects", "1", "--clips-per-subject", "2"]) == 0
    (out / "notes.txt").write_text("mine\n")  # the user's: kept
    assert main(["synth", str(out), "--subjects", "2", "--clips-per-subject", "2", "--overwrite"]) == 0
    assert '"subjects": 2' in (out / "synth.json").read_text() and len(list(out.glob("Cropped/*/*"))) == 4
    assert (out / "notes.txt").read_text() == "mine\n"
    assert not [p for p in tmp_path.iterdir() if p != out]


def test_a_folder_whose_parent_is_not_writable_gets_its_set_too(tmp_path, monkeypatch):
    out = tmp_path / "set"
    out.mkdir()  # the user's, in a folder only root may write in (simulated: running as root, chmod would not stop it)
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.parent == tmp_path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    write_dataset(out, subjects=1, clips_per_subject=2, seed=0)
    assert sorted(p.name for p in out.iterdir()) == sorted(["Cropped", CODING_FILE, "synth.json"])
    assert [p.name for p in tmp_path.iterdir()] == ["set"]
