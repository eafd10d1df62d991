"""Command-line inputs that reached a traceback, a wrong answer or an overwritten file: each is now refused by name."""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import assert_named_error, cli, small_checkpoint


def _pair(tmp_path, size=(40, 40)):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(tmp_path / name)
    return tmp_path / "a.png", tmp_path / "b.png"


@pytest.mark.parametrize("dpi", ["0", "-5", "1", "100000", "ten"])
def test_explain_refuses_a_resolution_outside_its_range_before_any_work(tmp_path, capsys, dpi):
    # --dpi 0 and -5 were a ValueError traceback, 1 one from FreeType, 100000 was killed for memory; a number out
    # of range is a bad value (3, one line), a word a value of the wrong kind (2, the usage)
    argv = ["explain", "--checkpoint", tmp_path / "none", *_pair(tmp_path), "--out", tmp_path / "f.png", "--dpi", dpi]
    if dpi == "ten":
        with pytest.raises(SystemExit) as exit_info:
            cli(capsys, *argv)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and "--dpi" in err and "Traceback" not in err
    else:
        code, _, err = cli(capsys, *argv)
        assert_named_error(code, err, f"--dpi {dpi} must be between 30 and 600")
    assert not (tmp_path / "f.png").exists()


def test_a_frame_too_large_to_decode_is_named_with_its_size(tmp_path, capsys, monkeypatch):
    # a 15000x15000 PNG was a DecompressionBombError traceback in every command that reads frames
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # refused over 2000 pixels: a 50x50 frame stands in
    ckpt = small_checkpoint(tmp_path / "ckpt")
    onset, apex = _pair(tmp_path, size=(50, 50))
    code, _, err = cli(capsys, "predict", "--checkpoint", ckpt, onset, apex)
    assert_named_error(code, err, "a.png", "2,500 pixels", "2,000", "Crop it to the face or resize it")


def test_a_clip_list_row_is_named_by_its_line_after_blank_lines(tmp_path, capsys):
    # a blank line before ",," made it "row 3", while it is on line 4 of the file
    (tmp_path / "ok").mkdir()
    (tmp_path / "list.csv").write_text("source,onset,apex\nok,1,5\n\n,,\n")
    code, _, err = cli(capsys, "predict", "--checkpoint", tmp_path / "ckpt", "--list", tmp_path / "list.csv")
    assert_named_error(code, err, "row 4: 'source' is empty")


@pytest.mark.parametrize("command", ["predict", "explain"])
@pytest.mark.parametrize("size", [(1, 1), (15, 40)])
def test_a_frame_too_small_to_show_a_face_is_refused(tmp_path, capsys, command, size):
    # a 1x1 image pair was classified (and drawn) without a word
    ckpt = small_checkpoint(tmp_path / "ckpt")
    extra = ["--out", tmp_path / "f.png"] if command == "explain" else []
    code, _, err = cli(capsys, command, "--checkpoint", ckpt, *_pair(tmp_path, size=size), *extra)
    assert_named_error(code, err, "a.png", f"is {size[1]}x{size[0]} pixels", "at least 16 on each side")
    assert not (tmp_path / "f.png").exists()


def test_a_frame_of_sixteen_pixels_a_side_is_classified(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, *_pair(tmp_path, size=(16, 16)))
    assert code == 0, err


@pytest.mark.parametrize("name, needles", [("anim.gif", ["neither a video", "ffmpeg -i"]),
                                           ("one.png", ["is a single image", "onset and the apex"]),
                                           ("notes.txt", ["neither a video", "folder of frames"])])
def test_prepare_refuses_a_file_that_is_not_a_video(tmp_path, capsys, name, needles):
    # an animated GIF was "1 clip(s) prepared" (predict and spot refuse it), a PNG a one-frame "clip"
    from PIL import Image

    frames = [Image.fromarray(np.full((40, 40, 3), k * 40, np.uint8)) for k in range(4)]
    source = tmp_path / name
    if name.endswith(".gif"):
        frames[0].save(source, save_all=True, append_images=frames[1:], duration=33)
    elif name.endswith(".png"):
        frames[0].save(source)
    else:
        source.write_text("not a clip")
    code, _, err = cli(capsys, "prepare", source, "--out", tmp_path / "prepared")
    assert_named_error(code, err, name, *needles)
    assert not (tmp_path / "prepared").exists()


@pytest.mark.parametrize("name", ["on.png", "model.txt", "model"])
def test_export_writes_only_a_file_named_onnx(tmp_path, capsys, name):
    # `--onnx img/on.png` replaced a PNG with 35 MB of ONNX (exit 0); x.txt was accepted
    ckpt = small_checkpoint(tmp_path / "ckpt")
    target = tmp_path / name
    if name == "on.png":
        target.write_bytes(b"a picture")
    code, _, err = cli(capsys, "export", "--checkpoint", ckpt, "--onnx", target)
    assert_named_error(code, err, name, "must name a .onnx file")
    assert (target.read_bytes() == b"a picture") if name == "on.png" else not target.exists()


def _authors_checkpoint(tmp_path):
    import torch

    from tests.test_convert import _fake_official_state_dict

    torch.save(_fake_official_state_dict(), tmp_path / "authors.pth")
    return tmp_path / "authors.pth"


def test_convert_never_writes_into_a_folder_holding_other_files(tmp_path, capsys):
    # a frame folder received model.safetensors + config.json
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "img1.png").write_bytes(b"a frame")
    code, _, err = cli(capsys, "convert", _authors_checkpoint(tmp_path), frames, "--force")
    assert_named_error(code, err, "frames", "img1.png", "not an mmnet checkpoint")
    assert sorted(p.name for p in frames.iterdir()) == ["img1.png"]
    (tmp_path / "file").write_text("x")
    code, _, err = cli(capsys, "convert", tmp_path / "authors.pth", tmp_path / "file")
    assert_named_error(code, err, "is a file")


def test_convert_replaces_its_own_checkpoint_only_with_force(tmp_path, capsys):
    # rerunning over an existing checkpoint replaced it silently
    pth = _authors_checkpoint(tmp_path)
    assert cli(capsys, "convert", pth, tmp_path / "ours")[0] == 0
    before = (tmp_path / "ours" / "model.safetensors").stat().st_mtime_ns
    code, _, err = cli(capsys, "convert", pth, tmp_path / "ours")
    assert_named_error(code, err, "holds an mmnet checkpoint already", "--force")
    assert (tmp_path / "ours" / "model.safetensors").stat().st_mtime_ns == before
    code, out, _ = cli(capsys, "convert", pth, tmp_path / "ours", "--force")
    assert code == 0 and "replaced the checkpoint in" in out


@pytest.mark.parametrize("argv, needles", [
    (["--image-size", "32"], ["--image-size", "add --calibrate"]),
    (["CKPT", "--cache"], ["with --cache", "a checkpoint"]),
    (["CKPT", "--calibrate"], ["with a checkpoint", "--calibrate"]),
    (["CKPT", "--image-size", "32"], ["with a checkpoint", "--image-size"]),
    (["--cache", "--calibrate"], ["with --cache", "--calibrate"]),
])
def test_info_refuses_options_it_would_ignore(tmp_path, capsys, argv, needles):
    # `info --image-size 32` ignored the size, `info CKPT --cache` the checkpoint, both without a word
    ckpt = str(small_checkpoint(tmp_path / "ckpt"))
    code, out, err = cli(capsys, "info", *(ckpt if a == "CKPT" else a for a in argv))
    assert_named_error(code, err, *needles)
    assert out == ""


@pytest.mark.parametrize("edit, needles", [
    ({"format_version": "2"}, ["format_version must be a whole number", "'2'"]),
    ({"format_version": 0}, ["format_version must be a whole number"]),
    ({"preprocessing": {"image_size": 32, "colour": "BGR"}}, ["['colour']", "does not know"]),
])
def test_a_checkpoint_config_mmnet_would_misread_is_refused(tmp_path, capsys, edit, needles):
    # format_version "2" (text) and an unknown preprocessing key were accepted without a word
    import json

    from safetensors.torch import load_file, save_file

    ckpt = small_checkpoint(tmp_path / "ckpt")
    meta = {**json.loads((ckpt / "config.json").read_text()), **edit}
    (ckpt / "config.json").write_text(json.dumps(meta))
    save_file(load_file(ckpt / "model.safetensors"), ckpt / "model.safetensors", metadata={"mmnet": json.dumps(meta)})
    code, _, err = cli(capsys, "info", ckpt)
    assert_named_error(code, err, *needles)


def test_check_data_names_a_frame_too_large_for_pillow(tmp_path, capsys, monkeypatch):
    # frame_check's Image.open raised DecompressionBombError: a traceback from check-data
    from PIL import Image

    from tests.fakes import write_casme2

    root = write_casme2(tmp_path / "c", junk=False)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)
    code, out, err = cli(capsys, "check-data", "casme2", "--root", root, "--max-width", "400")
    assert "Traceback" not in err and "more than Pillow decodes (20," in out, out[-2000:]


@pytest.mark.parametrize("argv, usage, said", [
    (["predict", "--checkpoint", "K"], "usage: mmnet predict", "give the clip: INPUT"),
    (["agree", "x.csv"], "usage: mmnet agree", "give two or more files"),
    (["compare", "run"], "usage: mmnet compare", "at least two run folders"),
    (["score-spots", "x.csv"], "usage: mmnet score-spots", "TRUTH PREDICTIONS"),
    (["cache", "prune"], "usage: mmnet cache prune", "--older-than DAYS"),
])
def test_a_missing_argument_shows_the_usage_and_exits_2(tmp_path, capsys, monkeypatch, argv, usage, said):
    # these were exit code 3 without the usage, while synth, export and convert gave argparse's 2 with it
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli(capsys, *argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith(usage) and said in err, err


@pytest.mark.parametrize("argv, said", [
    (["agree", "a.csv", "b.csv", "--frames", "0"], "--frames 0 must be a number of frames >= 1"),
    (["agree", "a.csv", "b.csv", "--frames", "clip=-2"], "--frames clip=-2 must be a number of frames >= 1"),
    (["score-spots", "a.csv", "b.csv", "--fps", "-3"], "--fps -3 must be a frame rate above 0"),
    (["agree", "a.csv", "b.csv", "--fps", "0"], "--fps 0 must be a frame rate above 0"),
])
def test_a_number_out_of_range_is_a_bad_value_exit_3(tmp_path, capsys, monkeypatch, argv, said):
    # a number of the right kind out of its range was argparse's usage error (2), unlike --batch-size 0 or --iou 2
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, *argv)
    assert_named_error(code, err, said)


@pytest.mark.parametrize("argv", [["agree", "a.csv", "b.csv", "--frames", "ten"],
                                  ["score-spots", "a.csv", "b.csv", "--fps", "fast"]])
def test_a_value_of_the_wrong_kind_stays_a_usage_error(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        cli(capsys, *argv)
    assert exit_info.value.code == 2 and "usage: mmnet" in capsys.readouterr().err


@pytest.mark.parametrize("argv, said", [
    (["predict", "--checkpoint", "K", "--list", "folder"], "--list 'folder' is a folder; give a CSV file"),
    (["sweep", "folder", "--out", "run"], "Sweep 'folder' is a folder; give a YAML file or a sweep name."),
    (["train", "--config", "folder", "--out", "run"], "Config 'folder' is a folder; give a YAML file or a recipe"),
    (["score-spots", "folder", "folder"], "'folder' is a folder; give an intervals file"),
    (["score-spots", "absent.csv", "absent.csv"], "'absent.csv' does not exist"),
    (["agree", "absent.csv", "absent.csv"], "'absent.csv' does not exist"),
    (["prepare", "absent"], "Input 'absent' does not exist; give a dataset's folder, a folder of a clip's frames"),
])
def test_a_path_that_is_not_what_goes_there_is_said_in_one_wording(tmp_path, capsys, monkeypatch, argv, said):
    # a folder for a file was "does not exist" (predict --list, sweep), a missing file "is not a file." (score-spots,
    # agree), prepare's missing input "input 'absent' does not exist" with no next step
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    code, _, err = cli(capsys, *argv)
    assert_named_error(code, err, said)


@pytest.mark.parametrize("command", ["score-spots", "agree"])
@pytest.mark.parametrize("iou", ["2", "0", "-0.5"])
def test_an_iou_out_of_range_is_said_before_any_file_is_read(tmp_path, capsys, monkeypatch, command, iou):
    # score-spots read both files first, then said "IoU threshold 2.0 must be in (0, 1]."
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, command, "absent.csv", "absent.csv", "--iou", iou)
    assert_named_error(code, err, f"--iou {float(iou):g} must be in (0, 1].")


@pytest.mark.parametrize("command", ["spot", "train-spotter"])
@pytest.mark.parametrize("setting, said", [
    ("flow.method=farnbak", "--set flow.method=farnbak: flow is a value, not a section: give --set flow=VALUE."),
    ("micro=3", "--set micro=3: micro is a section: give --set micro.KEY=VALUE, KEY one of k, smooth, p"),
])
def test_a_spotting_value_set_as_a_section_or_the_reverse_is_said_so(tmp_path, capsys, command, setting, said):
    # were "flow must be of type str, got {'method': 'farnbak'} (dict)" and "micro must be a mapping, got 3"
    (tmp_path / "rec.mp4").write_bytes(b"")  # checked after the settings
    first = ([tmp_path / "rec.mp4"] if command == "spot"
             else ["casme-sq", "--root", tmp_path, "--out", tmp_path / "s.pt"])
    code, _, err = cli(capsys, command, *first, "--set", setting)
    assert_named_error(code, err, said, "Values (--set KEY=VALUE): fps_reference, flow, combine, top, method",
                       "sections (--set SECTION.KEY=VALUE): micro, macro, face, learned")


@pytest.mark.parametrize("command", ["score-spots", "agree"])
@pytest.mark.parametrize("content", ["", "\n\n"])
def test_an_empty_csv_is_said_empty_with_the_columns_expected(tmp_path, capsys, monkeypatch, command, content):
    # was "'empty.csv': no column(s) [...]; its header is None"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.csv").write_text(content)
    (tmp_path / "ok.csv").write_text("vid,onset,offset,type\nclip,1,5,me\n")
    code, _, err = cli(capsys, command, "ok.csv", "empty.csv")
    assert_named_error(code, err, "'empty.csv' is empty; expected the columns vid,onset,offset,type")
    assert "None" not in err


@pytest.mark.parametrize("text, said", [
    ("data:\n root: a\n  x: 1\n", "line 3, column 4: mapping values are not allowed here"),
    ("a: [1, 2\n", "line 2, column 1: expected ',' or ']'"),
    ("data:\n  root: a\n  root: b\n", "line 3, column 3: key 'root' appears twice in this mapping; keep one"),
])
@pytest.mark.parametrize("command", ["train", "sweep"])
def test_broken_yaml_is_one_line_with_the_file_line_and_column(tmp_path, capsys, monkeypatch, text, said, command):
    # PyYAML's own text spanned lines and named the file '<unicode string>', its line and column counted from 0
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text(text)
    argv = ["train", "--config", "bad.yaml"] if command == "train" else ["sweep", "bad.yaml"]
    code, _, err = cli(capsys, *argv, "--out", "run")
    assert_named_error(code, err, "'bad.yaml' is not valid YAML: " + said)
    assert err.count("\n") == 1 and "unicode string" not in err
