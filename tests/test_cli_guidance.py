"""What the command line tells a newcomer: times in seconds and what the scores mean in `mmnet spot`'s
table, a warning when a model of synthetic data (or of the permuted-label control) labels clips, and
where to go next after `mmnet synth --long`."""

from __future__ import annotations

import shlex
from types import SimpleNamespace

import numpy as np
import pytest

from mmnet.cli import main
from mmnet.commands.spot import format_text
from mmnet.spotting.intervals import Interval
from tests.test_inference import make_checkpoint, write_frames
from tests.test_spotting import synthetic_clip


def _run_folder(tmp_path, *, synthetic: bool, permuted: bool = False):
    """A checkpoint inside a run folder whose config names a data root (with synth.json when synthetic)."""
    run = tmp_path / "run"
    model = run / "seed-0" / "fold-casme2_01" / "model"
    make_checkpoint(model)
    data = tmp_path / "data"
    data.mkdir()
    if synthetic:
        (data / "synth.json").write_text("{}")
    control = "\n  permute_labels: true" if permuted else ""
    (run / "config.yaml").write_text(f"data:\n  dataset: casme2\n  root: {data}{control}\ntrain:\n  epochs: 3\n")
    (run / "env.json").write_text("{}")
    return model


def test_spot_table_gives_seconds_and_the_class_score():
    result = SimpleNamespace(
        source="rec.mp4", fps=30.0, frames=900, gaps=[(600, 629)],
        curves=SimpleNamespace(numbers=np.arange(900)),
        intervals=[Interval(34, 54, 80, "macro", score=0.434),
                   Interval(144, 144, 152, "micro", score=0.257, label="disgust",
                            probabilities={"disgust": 0.8667, "others": 0.1333})])
    lines = format_text(result).splitlines()
    assert lines[0] == ("rec.mp4: 900 frames at 30 fps (30.0 s); 1 macro, 1 micro interval(s); "
                        "1 gap(s) without a face")
    assert lines[1].split() == ["type", "onset", "apex", "offset", "seconds", "score", "class"]
    # from the onset frame's start to the offset frame's end (81 / 30 s), to the millisecond rounded up (34 / 30 s
    # is 1.134: a player sought to 1.133 shows frame 33), as intervals.csv's onset_s and end_s
    assert lines[2].split() == ["macro", "34", "54", "80", "1.134-2.700", "0.434"]
    assert lines[3].split() == ["micro", "144", "144", "152", "4.800-5.100", "0.257", "disgust", "0.87"]
    assert lines[4].split() == ["gap", "frames", "600-629", "(20.000-21.000", "s):", "no", "face,", "not",
                                "analysed"]
    assert ("seconds: from the onset frame's start to the offset frame's end (onset_s-end_s of intervals.csv), "
            "from the first frame (frame numbers / 30 fps)") in lines[5]
    assert "its score (an uncalibrated softmax output)" in lines[5]
    result.time_base = "presentation_time"  # a video's frames timed by the video itself (variable frame rate)
    assert "from the first frame (the video's own frame times)" in format_text(result)
    del result.time_base
    # a frame folder numbered from 1: seconds count from its first frame, as the timeline figure does
    result.curves.numbers, result.intervals = np.arange(1, 901), result.intervals[:1]
    table = format_text(result)
    assert "1.100-2.667" in table and "class" not in table
    assert "from the first frame ((frame number - 1) / 30 fps)" in table  # not frame numbers / 30: 1 is at 0 s


def test_predict_and_info_warn_when_the_model_learnt_synthetic_faces(tmp_path, capsys):
    clip = write_frames(tmp_path / "clip", synthetic_clip(10, 4))
    model = _run_folder(tmp_path / "synthetic", synthetic=True)
    assert main(["predict", "--checkpoint", str(model), str(clip)]) == 0
    err = capsys.readouterr().err
    assert "note: the model was trained on synthetic faces only" in err and "mean nothing on real faces" in err
    assert main(["info", str(model)]) == 0
    assert "training:      Model trained on synthetic faces only" in capsys.readouterr().out
    model = _run_folder(tmp_path / "control", synthetic=False, permuted=True)
    assert main(["predict", "--checkpoint", str(model), str(clip), "--json"]) == 0
    assert "permuted labels (a control)" in capsys.readouterr().err
    model = _run_folder(tmp_path / "real", synthetic=False)
    assert main(["predict", "--checkpoint", str(model), str(clip)]) == 0
    assert "note: the model" not in capsys.readouterr().err


def test_synth_long_says_where_the_recordings_are_and_what_to_run(tmp_path, capsys):
    small = ["--long", "--minutes", "0.02", "--size", "160", "128"]
    assert main(["synth", str(tmp_path / "frames"), *small]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "frames" / "rawpic" / "s15" / "15_0101disgust1"
    assert folder.is_dir() and f"next: mmnet spot {folder} --fps 30" in out
    assert f"mmnet check-data casme-sq --root {tmp_path / 'frames'}" in out
    assert "subtract 1 for a video's frame numbers" in out
    pytest.importorskip("av")
    assert main(["synth", str(tmp_path / "videos"), *small, "--format", "mp4"]) == 0
    out = capsys.readouterr().out
    video = tmp_path / "videos" / "rawvideo" / "s15" / "15_0101disgust1.mp4"
    assert video.is_file() and f"next: mmnet spot {video}" in out
    assert "write them too with --format jpg mp4" in out  # no rawpic/: the dataset commands would refuse it


def test_synth_clips_say_what_next(tmp_path, capsys):
    out = tmp_path / "clips"
    assert main(["synth", str(out), "--subjects", "2", "--clips-per-subject", "2"]) == 0
    assert f"next: mmnet check-data casme2 --root {out}" in capsys.readouterr().out


def test_a_run_folder_as_checkpoint_names_its_models_or_how_to_save_them(tmp_path, capsys):
    clip = write_frames(tmp_path / "clip", synthetic_clip(6, 3))
    model = _run_folder(tmp_path, synthetic=False)
    run = model.parents[2]
    for given in (run, model.parent, run.parent):  # the run folder, a fold folder, the folder above (mmnet demo's)
        assert main(["predict", "--checkpoint", str(given), str(clip)]) == 3
        assert f"The models under '{given}' (give one of them): {model}" in capsys.readouterr().err
    for archive in ("clip.zip", "clip.ZIP"):  # the web page takes a zip of frames; here, the folder inside
        (tmp_path / archive).write_bytes(b"PK\x03\x04")
        assert main(["predict", "--checkpoint", str(model), str(tmp_path / archive)]) != 0
        assert "A zip archive: unzip it and give the folder of frames" in capsys.readouterr().err
    (run / "seed-0" / "fold-casme2_01" / "model" / "model.safetensors").unlink()
    assert main(["predict", "--checkpoint", str(run), str(clip)]) == 3
    assert "without saved models: train with --set train.save_models=true" in capsys.readouterr().err
    # A fold (or seed) folder inside the run: it said only "No mmnet checkpoint at ..."
    for inside, kind in ((model.parent, "fold"), (model.parents[1], "seed")):
        assert main(["export", "--checkpoint", str(inside), "--onnx", str(tmp_path / "a.onnx")]) == 3
        assert (f"'{inside}' is a {kind} folder of the run '{run}', which was trained without saved models: rerun "
                f"it with `mmnet train ... --out {run} --restart --set train.save_models=true`"
                in capsys.readouterr().err)


def test_main_help_says_where_to_start_with_commands_that_exist(capsys):
    from mmnet.cli import COMMANDS

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    start = out[out.index("Start here:"):]
    named = [line.split()[1] for line in start.splitlines() if line.startswith("  mmnet ")]
    assert named == ["demo", "spot", "predict", "serve", "check-data"] and set(named) <= set(COMMANDS)


def test_a_synthetic_set_without_frames_is_not_sent_to_the_dataset_owners(tmp_path, capsys):
    root = tmp_path / "long"
    root.mkdir()
    (root / "synth.json").write_text("{}")
    assert main(["check-data", "casme-sq", "--root", str(root)]) == 3
    err = capsys.readouterr().err
    assert "is a synthetic set of `mmnet synth`" in err and "--format jpg mp4" in err and "licence" not in err
    assert main(["check-data", "casme-sq", "--root", str(tmp_path / "absent")]) == 3
    assert "licence-gated" in capsys.readouterr().err


def test_demo_spotting_refuses_the_training_demo_s_restart(tmp_path, capsys):
    assert main(["demo", "--spotting", "--restart", "--out", str(tmp_path)]) == 3
    assert "does not take --restart" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["predict", "spot"])
def test_predict_and_spot_warn_when_the_models_training_is_not_recorded(tmp_path, capsys, command):
    # explain and info said "it may be untrained" for a checkpoint outside its run folder; predict and spot were silent
    clip = write_frames(tmp_path / "clip", synthetic_clip(10, 4))
    model = tmp_path / "model"
    make_checkpoint(model)
    args = {"predict": ["predict", "--checkpoint", str(model), str(clip)],
            "spot": ["spot", str(clip), "--checkpoint", str(model), "--fps", "30", "--no-progress",
                     "--no-align"]}[command]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "note: what it was trained on is not recorded" in err and "it may be untrained" in err


def test_spot_header_gives_a_frame_folder_with_gaps_in_its_numbering_the_length_of_its_numbering():
    result = SimpleNamespace(source="clip", fps=30.0, frames=60, gaps=[], intervals=[],
                             curves=SimpleNamespace(numbers=np.arange(2, 121, 2)))  # img2, img4, ..., img120
    assert format_text(result).splitlines()[0] == (
        "clip: 60 frames numbered 2-120 at 30 fps (4.0 s; 59 numbers missing); 0 macro, 0 micro interval(s); "
        "0 gap(s) without a face")


def _command_after(marker: str, text: str, end: str) -> list[str]:
    """The argv of the command printed after ``marker`` up to ``end`` in ``text``, as a POSIX shell reads it."""
    start = text.index(marker) + len(marker)
    return shlex.split(text[start:text.index(end, start)])


def test_paths_in_printed_commands_paste_as_one_argument(tmp_path, capsys):
    # `next: mmnet spot /x/long é/...` split a folder with a space into two arguments
    from mmnet.commands.synth import _next_long
    from mmnet.shell_words import shell_quote

    root = tmp_path / "mes données" / "long é"
    video = root / "rawvideo" / "s15" / "15_0101 it's.mp4"
    folder = root / "rawpic" / "s15" / "15_0101 it's"
    folder.mkdir(parents=True)
    video.parent.mkdir(parents=True)
    video.write_bytes(b"")
    printed = _next_long(root, 30.0)
    assert _command_after("/*/; next: mmnet spot ", printed, ",") == [str(folder), "--fps", "30"]
    assert _command_after("next: mmnet spot ", printed, "\n") == [str(video)]
    assert _command_after("the whole set: ", printed, "\n") == ["mmnet", "check-data", "casme-sq", "--root", str(root)]
    clips = tmp_path / "mes données" / "clips Søren"
    assert main(["synth", str(clips), "--subjects", "2", "--clips-per-subject", "2"]) == 0
    out = capsys.readouterr().out
    assert _command_after("next: ", out, " (what") == ["mmnet", "check-data", "casme2", "--root", str(clips)]
    assert _command_after("; ", out, " --out RUN") == ["mmnet", "train", "--config", "synth_demo", "--root", str(clips)]
    # Windows: cmd.exe and PowerShell read double quotes, not a POSIX shell's single quotes
    assert shell_quote(r"C:\mes données\run", windows=True) == r'"C:\mes données\run"'
    assert shell_quote(r"C:\runs\a", windows=True) == r"C:\runs\a" and shell_quote("/runs/a") == "/runs/a"
