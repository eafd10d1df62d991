"""Inputs a user gets wrong, found by trying them on the command line: each is one named `error:` line."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from mmnet.errors import ConfigError
from mmnet.train.sweep import load_sweep

from .helpers import assert_named_error, cli, small_checkpoint


def _pair(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / name)
    return tmp_path / "a.png", tmp_path / "b.png"


def _two_frame_folder(tmp_path, name):
    """A folder ``tmp_path/name`` holding img1.png and img2.png (two random frames): a clip or a tiny recording."""
    folder = tmp_path / name
    folder.mkdir()
    a, b = _pair(tmp_path)
    a.rename(folder / "img1.png")
    b.rename(folder / "img2.png")
    return folder


@pytest.mark.parametrize("device, needle", [("bogus", "is not a device"), ("mps", "cpu or cuda"),
                                            ("cuda:99", "cuda:99")])
def test_a_device_this_machine_lacks_is_named_before_any_work(tmp_path, capsys, device, needle):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    code, _, err = cli(capsys, "predict", "--checkpoint", ckpt, *_pair(tmp_path), "--device", device)
    assert_named_error(code, err, device, needle)
    code, _, err = cli(capsys, "spot", tmp_path / "absent.mp4", "--device", device)
    assert_named_error(code, err, f"--device={device}")


def _edit_record(ckpt, edit):
    """Change the mmnet record in the safetensors header (8-byte length, then JSON), as a hand edit would."""
    path = ckpt / "model.safetensors"
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    record = json.loads(header["__metadata__"]["mmnet"])
    edit(record)
    header["__metadata__"]["mmnet"] = json.dumps(record)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(struct.pack("<Q", len(new)) + new + data[8 + n :])


@pytest.mark.parametrize("edit, needles", [
    (lambda r: r["preprocessing"].update(image_size="big"), ["preprocessing", "whole number"]),
    (lambda r: r["preprocessing"].update(mean="abc"), ["preprocessing", "3 numbers"]),
    (lambda r: r["preprocessing"].update(std=0.5), ["preprocessing", "3 numbers"]),
    (lambda r: r["preprocessing"].update(mean=[float("nan"), 0, 0]), ["mean/std", "finite"]),
    (lambda r: r.update(class_names=["a", "a", "b"]), ["model.safetensors", "distinct"]),
    (lambda r: r.update(class_names=["", "x", "y"]), ["model.safetensors", "non-empty"]),
    (lambda r: r.update(format_version=99), ["model.safetensors", "format_version 99", "upgrade mmnet"]),
])
def test_a_checkpoint_record_with_a_wrong_field_is_named(tmp_path, capsys, edit, needles):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    _edit_record(ckpt, edit)
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, *_pair(tmp_path))
    assert_named_error(code, err, *needles)
    assert out == ""


@pytest.mark.parametrize("content, needles", [
    (b"train:\n  epochs: 3\n  lr: 0.1\n  epochs: 4\n", ["twice", "'epochs'", "line 4"]),
    (b"train:\n  epochs: 3\nmodel: {}\ntrain:\n  lr: 0.1\n", ["twice", "'train'"]),
    (b"\xff\xfetrain:\n", ["not UTF-8"]),
])
def test_a_config_file_with_a_repeated_key_or_not_utf8_is_named(tmp_path, capsys, content, needles):
    (tmp_path / "exp.yaml").write_bytes(content)
    code, _, err = cli(capsys, "train", "--config", tmp_path / "exp.yaml", "--root", tmp_path / "absent",
                       "--out", tmp_path / "run")
    assert_named_error(code, err, "exp.yaml", *needles)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_bytes(b"name: s\nname: t\n")
    with pytest.raises(ConfigError, match=r"Sweep file .*sweep\.yaml.*twice"):
        load_sweep(sweep)


def test_check_data_gives_the_reason_of_a_label_problem_and_strict_fails_on_it(tmp_path, capsys):
    """An unknown label stops training but is no loader issue: check-data printed its id with no reason
    ('with problems (above)', nothing above) and --strict passed."""
    from ..fakes import CASME2_ROWS, write_casme2

    rows = [r for r in CASME2_ROWS if r[1] in ("EP02_01f", "EP19_05f")]
    rows[1] = (*rows[1][:6], "disgsut", rows[1][7])
    root = write_casme2(tmp_path / "c", rows, junk=False)
    code, out, _ = cli(capsys, "check-data", "casme2", "--root", root, "--strict", "--max-width", "1000")
    assert code == 1
    assert "(above)" not in out
    assert "casme2/01/EP19_05f: label 'disgsut' is unknown" in out and "check the spelling" in out
    code, out, _ = cli(capsys, "check-data", "casme2", "--root", root, "--strict", "--json")
    assert code == 1


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_a_csv_saved_with_commas_semicolons_or_tabs_is_read_not_refused_as_headerless(tmp_path, sep):
    from mmnet.data.annotations import read_table

    path = tmp_path / "coding.csv"
    rows = [["Subject", "Filename", "OnsetFrame", "ApexFrame"], ["01", "EP02_01f", "40", "52"],
            ["02", "EP01_2", "5", "9"]]
    path.write_text("\n".join(sep.join(r) for r in rows) + "\n", encoding="utf-8")
    table = read_table(path)
    assert table.header == rows[0]
    assert [r for _, r in table.rows] == rows[1:]


@pytest.mark.parametrize("above, cell", [("", "0,25"), ("CASME II coding\n", "0.25")])
def test_a_semicolon_csv_is_read_with_a_comma_in_a_cell_or_a_title_above_the_header(tmp_path, above, cell):
    # a decimal comma (as Excel writes them where ';' separates) made the whole table comma-separated, one
    # column named 'Subject;Filename;...'; a title row above the header kept it so too
    from mmnet.data.annotations import read_table

    path = tmp_path / "coding.csv"
    rows = [["Subject", "Filename", "OnsetFrame", "ApexFrame", "Seconds"], ["01", "EP02_01f", "40", "52", cell],
            ["02", "EP01_2", "5", "9", "1"]]
    path.write_text(above + "\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8")
    table = read_table(path)
    assert table.header == rows[0]
    assert [r for _, r in table.rows] == rows[1:]


@pytest.mark.parametrize("fps", ["inf", "nan", "1e308", "-3"])
def test_spot_refuses_a_frame_rate_no_window_can_be_computed_from(tmp_path, capsys, fps):
    folder = _two_frame_folder(tmp_path, "rec")
    code, out, err = cli(capsys, "spot", folder, "--fps", fps, "--no-align")
    assert_named_error(code, err, "fps must be a frame rate", "real frame rate")


def test_an_output_path_that_is_a_file_is_named_not_a_traceback(tmp_path, capsys):
    in_the_way = tmp_path / "notes.txt"
    in_the_way.write_text("x")
    from ..fakes import CASME2_ROWS, write_casme2

    root = write_casme2(tmp_path / "c", CASME2_ROWS[:3], junk=False)
    # said of the --out typed and the file in the way (not a folder made under it), with no "rerun the same
    # command": a rerun fails the same way until the path changes
    said = f"--out '{in_the_way}': '{in_the_way}' is a file where a folder goes; give another --out or move it."
    code, _, err = cli(capsys, "train", "--root", root, "--out", in_the_way, "--set", "train.epochs=1")
    assert_named_error(code, err, said)
    assert err.strip() == f"error: {said}"
    code, _, err = cli(capsys, "synth", in_the_way / "sub")
    assert_named_error(code, err, f"--out '{in_the_way / 'sub'}': '{in_the_way}' is a file where a folder goes")
    assert "Cropped" not in err and "rerun" not in err
    code, _, err = cli(capsys, "demo", "--out", in_the_way)  # was "'notes.txt/data/Cropped': Not a directory"
    assert_named_error(code, err, said)
    assert "rerun" not in err
    # spot finds it before spotting (nothing would be lost), train-spotter before training
    folder = _two_frame_folder(tmp_path, "rec")
    code, out, err = cli(capsys, "spot", folder, "--fps", "30", "--no-align", "--out", in_the_way)
    assert_named_error(code, err, f"--out '{in_the_way}': '{in_the_way}' is a file where a folder goes")
    assert "frames" not in out + err.replace(str(in_the_way), "")
    code, _, err = cli(capsys, "train-spotter", "casme-sq", "--root", tmp_path / "absent", "--out", folder)
    assert_named_error(code, err, "is a folder", "spotter.pt")


def test_prepare_into_a_file_is_refused_not_counted_as_already_done(tmp_path, capsys):
    pytest.importorskip("cv2")
    pytest.importorskip("dlib")
    folder = _two_frame_folder(tmp_path, "clip")
    in_the_way = tmp_path / "notes.txt"
    in_the_way.write_text("x")
    code, out, err = cli(capsys, "prepare", folder, "--out", in_the_way)
    assert_named_error(code, err, str(in_the_way), "is a file")
    assert "already done" not in out


def test_prepare_says_a_summary_path_it_cannot_write_before_preparing_any_clip(tmp_path, capsys, monkeypatch):
    # every clip was prepared (minutes on a dataset), then the summary failed
    from mmnet.preprocess import pipeline

    folder = _two_frame_folder(tmp_path, "clip")
    in_the_way = tmp_path / "notes.txt"
    in_the_way.write_text("x")
    prepared = []  # (a failing stand-in would count as a failed clip, and the run go on to the summary)
    monkeypatch.setattr(pipeline, "process_clip", lambda job, *a, **k: prepared.append(job))
    monkeypatch.setattr(pipeline, "require_face_extra", lambda landmarks: None)  # no clip is aligned here
    summary = in_the_way / "s.json"
    code, _, err = cli(capsys, "prepare", folder, "--out", tmp_path / "out", "--summary", summary)
    assert_named_error(code, err, f"--summary '{summary}': '{in_the_way}' is a file where a folder goes")
    assert prepared == []


@pytest.mark.parametrize("content, needles", [
    (b"\xff\xfesource\n", ["not UTF-8"]),
    (b"source,onset,apex\n{a},1,2,3\n", ["row 2", "more cells than the header"]),
    (b"source\n{a}\nabsent.png\n", ["row 3", "absent.png", "does not exist", "relative to the list"]),
    (b"", ["is empty", "header row with the column 'source'"]),  # said "has columns []; ... (unknown: [])"
])
def test_a_clip_list_row_problem_is_named_before_any_clip_is_classified(tmp_path, capsys, content, needles):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    a, _ = _pair(tmp_path)
    (tmp_path / "clips.csv").write_bytes(content.replace(b"{a}", str(a).encode()))
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, "--list", tmp_path / "clips.csv")
    assert_named_error(code, err, "clips.csv", *needles)
    assert out == ""


def test_convert_names_the_file_and_refuses_what_it_cannot_write_back(tmp_path, capsys):
    import torch

    ckpt = small_checkpoint(tmp_path / "ckpt")
    for given in (ckpt, ckpt / "model.safetensors"):
        code, _, err = cli(capsys, "convert", given, tmp_path / "out")
        assert_named_error(code, err, str(given), "mmnet's format already")
    torch.save({"a": torch.zeros(2)}, tmp_path / "other.pth")
    code, _, err = cli(capsys, "convert", tmp_path / "other.pth", tmp_path / "out")
    assert_named_error(code, err, "other.pth", "does not look like an MMNet checkpoint")
    from ..test_convert import _fake_official_state_dict  # skips without the authors' key table

    torch.save(_fake_official_state_dict(), tmp_path / "authors.pth")
    code, _, err = cli(capsys, "convert", tmp_path / "authors.pth", tmp_path / "out", "--class-names", "a,b,a,c,d")
    assert_named_error(code, err, "distinct")
    assert not (tmp_path / "out").exists()


def test_report_on_a_file_says_it_is_a_file(tmp_path, capsys):
    (tmp_path / "run.txt").write_text("x")
    code, _, err = cli(capsys, "report", tmp_path / "run.txt")
    assert_named_error(code, err, "run.txt", "is a file, not a folder")


def test_casme3_a_row_written_twice_is_one_sample_not_two(tmp_path):
    """CAS(ME)^3 repeats (subject, task) for several expressions (named e, e2, ...); the same expression
    written twice was trained on twice."""
    from mmnet.data import load_dataset

    from ..fakes import CASME3_ROWS, write_casme3

    root = write_casme3(tmp_path / "c3", [*CASME3_ROWS, CASME3_ROWS[0]])
    load = load_dataset("casme3", root, strict=False)
    ids = [s.sample_id for s in load.samples + load.excluded]
    assert "casme3/spNO.1/a2" not in ids and ids.count("casme3/spNO.1/a") == 1
    assert "casme3/spNO.1/e2" in ids  # a second expression of the same task is still a sample
    dup = [i for i in load.issues if i.check == "duplicate_row"]
    assert len(dup) == 1 and "repeats row 2" in dup[0].message and dup[0].sample_id == "casme3/spNO.1/a"


def test_a_long_video_interval_written_twice_counts_once(tmp_path):
    from mmnet.data import load_dataset

    from ..fakes_long import CASME_SQ_ROWS, write_casme_sq

    root = write_casme_sq(tmp_path / "sq", [*CASME_SQ_ROWS, CASME_SQ_ROWS[1]])
    load = load_dataset("casme-sq", root, strict=False)
    once = load_dataset("casme-sq", write_casme_sq(tmp_path / "sq1"), strict=False)
    assert load.interval_counts() == once.interval_counts()
    dup = [i for i in load.issues if i.check == "duplicate_row"]
    assert len(dup) == 1 and "repeats row" in dup[0].message and "ignored" in dup[0].message


@pytest.mark.parametrize("argv, needles", [
    (["--seed", "-1"], ["--seed must be >= 0"]),
    (["--fps", "25"], ["--fps only applies", "--long"]),
    (["--size", "320", "240", "--minutes", "2"], ["--minutes, --size only apply"]),
    (["--contact-sheet", "sheet"], ["--contact-sheet", "image file name"]),
    (["--long", "--fps", "inf"], ["fps must be in (0, 10000]"]),
    (["--long", "--minutes", "inf"], ["--minutes must be > 0 and at most 1440"]),
    (["--long", "--size", "64", "80"], ["--size 64 80 is too small", "at least --size 152 114"]),  # named face_size
])
def test_synth_options_that_would_be_ignored_or_crash_are_named_before_writing(tmp_path, capsys, argv, needles):
    code, _, err = cli(capsys, "synth", tmp_path / "out", *argv)
    assert_named_error(code, err, *needles)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("item", ["seeds=[-3]", "seeds=[2, -1]"])
def test_a_negative_seed_is_refused_before_training(item):
    from mmnet.config import load_config

    with pytest.raises(ConfigError, match=r"each >= 0"):
        load_config(None, [item])
    with pytest.raises(ConfigError, match=r"\[-1, 0, 1\]"):
        load_config(None, ["seeds=3", "train.seed=-1"])


def test_trained_folds_without_config_yaml_are_not_reused_under_another_config(tmp_path, capsys):
    from ..fakes import CASME2_ROWS, write_casme2

    root = write_casme2(tmp_path / "c", CASME2_ROWS[:3], junk=False)
    fold = tmp_path / "run" / "seed-0" / "fold-casme2_01"
    fold.mkdir(parents=True)
    (fold / "history.csv").write_text("epoch,train_loss\n1,1.0\n")
    code, _, err = cli(capsys, "train", "--root", root, "--out", tmp_path / "run", "--set", "train.epochs=1",
                       "--set", f"data.cache_dir={tmp_path / 'cache'}")
    assert_named_error(code, err, "holds trained folds but no config.yaml", "--restart")
    assert (fold / "history.csv").exists() and not (tmp_path / "run" / "config.yaml").exists()


@pytest.mark.parametrize("argv, needle", [
    (["--port", "99999"], "at most 65535"),
    (["--port", "-1"], "--port must be >= 0 (0: a free port"),
    (["--max-upload-mb", "nan"], "--max-upload-mb must be a finite number > 0, got nan"),
    (["--result-ttl", "inf"], "--result-ttl must be a finite number > 0, got inf"),
    (["--max-results", "0"], "--max-results must be >= 1"),
    (["--max-results-mb", "nan"], "--max-results-mb"),
    (["--shutdown-timeout", "-1"], "--shutdown-timeout must be a finite number >= 0, got -1")])
def test_serve_options_out_of_range_are_named(tmp_path, capsys, argv, needle):
    pytest.importorskip("uvicorn")
    ckpt = small_checkpoint(tmp_path / "ckpt")
    code, _, err = cli(capsys, "serve", "--checkpoint", ckpt, *argv)
    assert_named_error(code, err, needle)


def test_serve_on_a_busy_port_is_named_before_the_url_is_printed(tmp_path, capsys):
    import socket

    pytest.importorskip("uvicorn")
    ckpt = small_checkpoint(tmp_path / "ckpt")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, out, err = cli(capsys, "serve", "--checkpoint", ckpt, "--host", "127.0.0.1", "--port", str(port))
    assert_named_error(code, err, f"127.0.0.1:{port}", "--port", "another program", "--port 0")
    assert "open http" not in out


@pytest.mark.parametrize("host", ["192.0.2.1"])  # TEST-NET-1: never an address of this machine
def test_serve_on_an_address_not_of_this_computer_is_not_called_a_busy_port(tmp_path, capsys, host):
    # every bind failure said "another program (an earlier mmnet serve?) uses that port"
    pytest.importorskip("uvicorn")
    code, out, err = cli(capsys, "serve", "--checkpoint", small_checkpoint(tmp_path / "ckpt"), "--host", host)
    assert_named_error(code, err, f"{host}:8000", "not an address of this computer", "127.0.0.1")
    assert "another program" not in err and "open http" not in out


@pytest.mark.parametrize("option", ["--cpus-per-fold", "--gpus-per-fold"])
def test_an_infinite_share_per_fold_is_refused_before_ray_starts(option):
    from mmnet.config import ExecutorConfig

    name = option.removeprefix("--").replace("-", "_")
    with pytest.raises(ConfigError, match=f"{option} must be .* and finite, got inf"):
        ExecutorConfig(executor="ray", **{name: float("inf")})


def test_explain_refuses_an_output_name_that_is_not_png(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    code, _, err = cli(capsys, "explain", "--checkpoint", ckpt, *_pair(tmp_path), "--out", tmp_path / "fig.pdf")
    assert_named_error(code, err, "fig.pdf", "fig.png")
    assert not (tmp_path / "fig.pdf").exists()


@pytest.mark.parametrize("argv", [["--seed", "-1"], ["--seeds", "0", "-2"], ["--spotting", "--seed", "-1"]])
def test_demo_refuses_a_negative_seed_before_writing(tmp_path, capsys, argv):
    code, _, err = cli(capsys, "demo", "--out", tmp_path / "demo", *argv)
    assert_named_error(code, err, "seeds must be >= 0")
    assert not (tmp_path / "demo").exists()


def test_leave_one_subject_out_with_one_subject_is_refused():
    from mmnet.data import protocol_folds
    from mmnet.data.sample import Sample

    one = [Sample(dataset="casme2", subject="01", clip=f"EP0{i}", onset=1, apex=2, offset=3, label="happiness")
           for i in range(3)]
    with pytest.raises(ConfigError, match=r"at least two subjects, got \['casme2/01'\]"):
        protocol_folds(one, "loso")


def test_a_folder_of_clip_folders_given_as_a_clip_says_so(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    for clip in ("EP01", "EP02"):
        (tmp_path / "sub01" / clip).mkdir(parents=True)
    code, _, err = cli(capsys, "predict", "--checkpoint", ckpt, tmp_path / "sub01")
    assert_named_error(code, err, "sub01", "2 folder(s) (EP01, EP02)", "--list")


def test_spot_checks_its_classifier_checkpoint_before_spotting(tmp_path, capsys):
    folder = _two_frame_folder(tmp_path, "rec")
    (tmp_path / "ckpt").mkdir()
    code, out, err = cli(capsys, "spot", folder, "--fps", "30", "--no-align", "--checkpoint", tmp_path / "ckpt")
    assert_named_error(code, err, "No mmnet checkpoint")
    assert "spotting" not in out + err  # no frame was read


def test_a_closed_pipe_on_stdout_is_exit_1_without_a_traceback(monkeypatch, capsys):
    import mmnet.commands.info as info

    def cut_off(_args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(info, "run", cut_off)
    code, _, err = cli(capsys, "info", "anything")
    assert code == 1 and "Traceback" not in err


def test_a_recording_whose_rows_were_all_left_out_is_not_called_unannotated(tmp_path):
    # the warning said "no annotation row for this video" although its rows were there, each refused
    from mmnet.data import load_dataset

    from ..fakes_long import CASME_SQ_ROWS, SAMM_LV_ROWS, write_casme_sq, write_samm_long

    sq = [r if r[:2] != (1, "anger1_2") else (1, "anger1_2", "n/a", *r[3:]) for r in CASME_SQ_ROWS
          if r[:2] in {(1, "anger1_2"), (2, "happy1_1")}]  # s15/15_0401's only row refused; s15/15_0101 has none
    lv = [r if r[1] != "009_1_1" else (*r[:7], "Blink", *r[8:]) for r in
          [*SAMM_LV_ROWS, ("009", "009_1_1", 1, 5, 10, 20, None, "Micro - 1/2", "4", None)]]
    for name, root, refused, bare in [("casme-sq", write_casme_sq(tmp_path / "sq", sq), "s15/15_0401", "s15/15_0101"),
                                      ("samm-long", write_samm_long(tmp_path / "lv", lv), "009/009_1", None)]:
        notes = {i.sample_id: i.message for i in load_dataset(name, root).issues if i.check == "not_annotated"}
        assert "1 annotation row(s) were all left out" in notes[f"{name}/{refused}"], notes
        assert "fix the row" in notes[f"{name}/{refused}"]
        if bare:
            assert notes[f"{name}/{bare}"].startswith("no annotation row for this video")


def _clip_folders(tmp_path, n: int) -> list:
    from PIL import Image

    rng = np.random.default_rng(0)
    folders = []
    for k in range(n):
        folder = tmp_path / f"clip{k}"
        folder.mkdir()
        for i in (1, 2):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
        folders.append(folder)
    return folders


@pytest.mark.parametrize("as_json", [False, True])
def test_a_bad_clip_in_a_list_is_listed_and_the_others_classified_with_their_notes(tmp_path, capsys, as_json):
    # the whole run ended at the bad clip: the clips after it were skipped, and the notes of the
    # clips printed before it (zero motion here) were lost
    from PIL import Image

    ckpt = small_checkpoint(tmp_path / "ckpt")
    good = _clip_folders(tmp_path, 4)
    Image.open(good[0] / "img1.png").save(good[0] / "img2.png")  # zero motion
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for i, size in ((1, 40), (2, 30)):
        Image.fromarray(np.zeros((size, size, 3), np.uint8)).save(mixed / f"img{i}.png")
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, *good[:2], bad, *good[2:3], mixed, good[3],
                         "--batch-size", "2", *(["--json"] if as_json else []))
    assert code == 1, err  # finished, but the result is incomplete (docs/cli.md)
    assert "Traceback" not in err
    assert f"note: {good[0]}: the onset and apex frames are identical" in err
    assert f"not classified: {bad}:" in err and f"not classified: {mixed}:" in err and "differ in size" in err
    assert "2 of 6 clips could not be classified (listed above); the 4 others were." in err
    if as_json:
        rows = json.loads(out)
        # in the order given, the failed clips in their place (a list is joined back to its input by position)
        assert [r["source"] for r in rows] == [*map(str, good[:2]), str(bad), str(good[2]), str(mixed), str(good[3])]
        assert "label" in rows[3] and "label" not in rows[4] and "differ in size" in rows[4]["error"]
        assert {"source", "error", "onset", "apex", "model"} <= set(rows[4])
    else:
        assert all(str(g) in out for g in good) and str(bad) not in out


def test_one_classified_clip_beside_a_bad_one_is_said_in_the_singular(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    code, _, err = cli(capsys, "predict", "--checkpoint", ckpt, _clip_folders(tmp_path, 1)[0], tmp_path / "broken.mp4")
    assert code == 1 and "1 of 2 clips could not be classified (listed above); the other one was." in err  # "1 others"


def test_a_bad_single_clip_is_still_an_error(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    code, _, err = cli(capsys, "predict", "--checkpoint", ckpt, bad)
    assert_named_error(code, err, "broken.mp4")


def test_ctrl_c_in_a_list_prints_the_clips_classified_before_it(tmp_path, capsys, monkeypatch):
    from mmnet.infer import predictor as predictor_module

    ckpt = small_checkpoint(tmp_path / "ckpt")
    clips = _clip_folders(tmp_path, 4)
    real = predictor_module.load_clip

    def interrupt_at_the_fourth(source, *a, **k):
        if source == clips[3]:
            raise KeyboardInterrupt
        return real(source, *a, **k)

    monkeypatch.setattr(predictor_module, "load_clip", interrupt_at_the_fourth)
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, *clips, "--batch-size", "2")
    assert code == 130 and "2 of 4 clips were classified before this" in err and "interrupted" in err
    assert str(clips[0]) in out and str(clips[1]) in out and str(clips[2]) not in out


def test_a_run_folder_that_is_or_holds_the_dataset_root_is_refused(tmp_path, capsys):
    # train --root D --out D --restart moved the dataset itself aside, then said CASME II was missing
    from ..fakes import CASME2_ROWS, write_casme2

    root = write_casme2(tmp_path / "c", CASME2_ROWS[:3], junk=False)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    for out, words in [(root, "is the dataset root"), (tmp_path, "holds the dataset root")]:
        for restart in ([], ["--restart"]):
            code, _, err = cli(capsys, "train", "--root", root, "--out", out, *restart, "--set", "train.epochs=1")
            assert_named_error(code, err, f"--out '{out}' {words}", "Choose another --out")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_run_folder_that_holds_the_annotation_file_is_refused_naming_it(tmp_path, capsys):
    # --annotation inside --out was not looked at: train --restart moved the coding file aside with the run, then
    # said it did not exist; the composite's annotation=FILE was called a dataset root
    from ..fakes import CASME2_ROWS, write_casme2, write_casme2_xlsx

    root = write_casme2(tmp_path / "c", CASME2_ROWS[:3], junk=False)
    out = tmp_path / "run"
    out.mkdir()
    coding = write_casme2_xlsx(out / "coding.xlsx", CASME2_ROWS[:3])
    parts = [a for part in ("casme2", "samm", "smic") for a in ("--root", f"{part}={tmp_path / part}")]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    for data in (["--root", root, "--annotation", coding],
                 ["--config", "megc2019_composite", *parts, "--root", f"annotation={coding}"]):
        for restart in ([], ["--restart"]):
            code, _, err = cli(capsys, "train", *data, "--out", out, *restart, "--set", "train.epochs=1")
            assert_named_error(code, err, f"--out '{out}' holds the annotation file '{coding}'", "Choose another --out")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_an_animated_gif_is_refused_with_how_to_convert_it(tmp_path):
    from PIL import Image

    from mmnet.errors import DataError
    from mmnet.infer.clips import load_clip
    from mmnet.spotting.flow_spotter import open_recording

    gif = tmp_path / "my clip.gif"
    frames = [Image.fromarray(np.full((16, 16, 3), 40 * k, np.uint8)) for k in range(3)]
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=40)
    for read in (lambda: load_clip(gif, None), lambda: open_recording(gif, 30)):
        with pytest.raises(DataError, match="animated GIF: convert it to a video") as err:
            read()
        assert f"ffmpeg -i '{gif}' '{tmp_path / 'my clip.mp4'}'" in str(err.value)
