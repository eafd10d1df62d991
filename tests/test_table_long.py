"""The table-long dataset: a lab's own long recordings (ROOT/intervals.csv + one frame folder per recording), its
quirks, its registration, check-data and a LOSO through train-spotter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmnet.cli import main
from mmnet.data import load_dataset
from mmnet.errors import AnnotationError, ConfigError, DatasetNotFoundError

from .fakes import write_frames

HEADER = "subject,video,onset,offset,type,apex,fps"


def _tree(root: Path, rows: list[str], *, header: str = HEADER,
          folders: dict[str, range] | None = None) -> Path:
    """A table-long root: the CSV and frame folders (default: P01/rec1 frames 1-40, P02/rec1 frames 0-29)."""
    folders = {"P01/rec1": range(1, 41), "P02/rec1": range(0, 30)} if folders is None else folders
    for video, numbers in folders.items():
        write_frames(root / video, numbers, "frame_{:04d}.jpg".format)
    (root / "intervals.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return root


def _load(root: Path, **options):
    return load_dataset("table-long", root, **options)


def _issue(load, check: str):
    found = [i for i in load.issues if i.check == check]
    assert found, f"no {check} issue in {[(i.check, i.message) for i in load.issues]}"
    return found[0]


def test_a_table_of_intervals_loads_with_the_frame_numbers_of_the_file_names(tmp_path):
    root = _tree(tmp_path, ["P01,P01/rec1,5,12,micro,8,30", "P01,./P01/rec1/,20,35,Macro-expression,,",
                            "P02,P02/rec1,0,6,me,,25"])
    load = _load(root)
    assert not load.issues
    one, two = load.videos
    assert (one.subject, one.video, one.fps, one.n_frames, one.path) == ("P01", "P01/rec1", 30.0, 40, root / "P01/rec1")
    intervals = [(i.onset, i.apex, i.offset, i.type) for i in one.intervals]
    assert intervals == [(5, 8, 12, "micro"), (20, None, 35, "macro")]
    # frame_0000.jpg is frame 0: the numbers are the files', as every loader and `mmnet spot` on a folder count them
    assert two.frames[0] == (0, "frame_0000.jpg") and two.fps == 25.0
    assert [(i.onset, i.offset) for i in two.intervals] == [(0, 6)]
    assert load.truth() == {"P01/rec1": list(one.intervals), "P02/rec1": list(two.intervals)}
    assert load.annotation == root / "intervals.csv" and load.types == ("micro", "macro")


def test_a_recording_without_expressions_is_listed_by_a_row_of_subject_and_video(tmp_path):
    root = _tree(tmp_path, ["P01,P01/rec1,5,12,micro,,", "P02,P02/rec1,,,,,"])
    load = _load(root, fps=30)
    assert [(v.video, v.intervals, v.fps) for v in load.videos][1] == ("P02/rec1", (), 30.0)
    assert not load.issues  # listed on purpose: no not_annotated warning
    # a type no row has is not annotated: neither trained nor scored
    assert load.types == ("micro",)


def test_the_rate_comes_from_the_fps_column_else_the_option_and_a_missing_one_is_refused(tmp_path):
    root = _tree(tmp_path, ["P01,P01/rec1,5,12,micro,,60", "P02,P02/rec1,3,8,micro,,"])
    assert [v.fps for v in _load(root, fps=30).videos] == [60.0, 30.0]
    load = _load(root)
    issue = _issue(load, "no_fps")
    assert issue.severity == "error" and issue.sample_id == "table-long/P02/P02/rec1" and "--fps" in issue.message
    assert [v.video for v in load.videos] == ["P01/rec1"] and [v.video for v in load.excluded] == ["P02/rec1"]
    with pytest.raises(ConfigError, match=r"--fps \(fps=\) must be a frame rate"):
        _load(root, fps=0)


ROW_QUIRKS = [
    # (rows, check, severity, in the message)
    (["P01,P01/rec1,5,12,micro,,30", ",P01/rec1,5,12,micro,,"], "bad_row", "error", "row 3: no subject"),
    (["P01,../rec1,5,12,micro,,30"], "bad_row", "error", "row 2: video '../rec1' is not a folder path"),
    (["P01,P01/rec1,5,,micro,,30"], "bad_row", "error", "row 2: no offset"),
    (["P01,P01/rec1,5,12.5,micro,,30"], "bad_value", "error", "offset '12.5'"),
    (["P01,P01/rec1,5,12,blink,,30"], "bad_value", "error", "type 'blink'"),
    (["P01,P01/rec1,5,12,micro,x,30"], "bad_value", "error", "apex 'x'"),
    (["P01,P01/rec1,5,12,micro,,fast"], "bad_value", "error", "row 2: fps must be a frame rate"),
    (["P01,P01/rec1,12,5,micro,,30"], "offset_before_onset", "error", "row 2: offset 5 is before onset 12"),
    (["P01,P01/rec1,5,12,micro,,30", "P02,P01/rec1,20,25,micro,,30"], "video_twice", "error",
     "row 3: video 'P01/rec1' is subject P01's in row 2"),
    (["P01,P01/rec1,5,12,micro,,30", "P01,P01/rec1,20,25,micro,,60"], "fps_differs", "error",
     "row 3: fps 60, but row 2 gives 30"),
    (["P01,P01/rec1,5,12,micro,,30", "p01,P02/rec1,5,12,micro,,30"], "subject_case", "error",
     "subject 'p01' is also written 'P01'"),
    (["P01,P01/rec1,5,12,micro,,30", "P\u300001,P02/rec1,5,12,micro,,30"], "subject_case", "error",
     "subject 'P\\u300001' is also written 'P01' (row 2)"),  # the invisible space shown
    (["P01,P01/rec1,30,45,macro,,30"], "beyond_video", "warning", "clipped to 30..40"),
    (["P01,P01/rec1,50,60,macro,,30"], "outside_video", "error", "outside the frames on disk 1..40"),
    (["P01,P01/rec1,5,12,micro,20,30"], "apex_outside", "warning", "apex 20 is outside onset..offset"),
    (["P01,P01/rec1,5,12,micro,,30", "P01,P01/rec1,5,12,micro,,30"], "duplicate_row", "warning", "repeats row 2"),
    (["P01,P01/rec1,10,20,micro,,30", "P01,P01/rec1,15,30,micro,,30", "P01,P01/rec1,15,30,macro,,30"],
     "overlapping", "warning", "micro 15..30 (row 3) overlaps 10..20 (row 2)"),
    (["P03,P03/rec9,5,12,micro,,30"], "video_missing", "error", "no frame folder for this video"),
    (["P01,P01/rec1,12,5,micro,,30"], "not_annotated", "warning", "were all left out"),
]


@pytest.mark.parametrize("rows, check, severity, said", ROW_QUIRKS, ids=[q[1] + str(i) for i, q in
                                                                         enumerate(ROW_QUIRKS)])
def test_each_quirk_is_an_issue_naming_its_row(tmp_path, rows, check, severity, said):
    load = _load(_tree(tmp_path, rows))
    issue = _issue(load, check)
    assert issue.severity == severity and said in issue.message
    if issue.row_refused:  # the file and row
        assert str(tmp_path / "intervals.csv") in issue.message
    # nothing is dropped silently: a row left out is an error, a video left out is in excluded with its error
    refused = [i for i in load.issues if i.row_refused]
    assert all(i.severity == "error" and "row left out" in i.message for i in refused)


def test_an_unreadable_type_cell_gets_the_hint_of_a_type_not_of_a_frame_number(tmp_path):
    issue = _issue(_load(_tree(tmp_path, ["P01,P01/rec1,5,12,微表情,,30"])), "bad_value")
    assert "type '微表情' unreadable (a type is micro or macro, or me, mae" in issue.message
    assert "frame numbers" not in issue.message
    issue = _issue(_load(_tree(tmp_path / "both", ["P01,P01/rec1,5,x,blink,,30"])), "bad_value")
    assert "offset 'x', type 'blink' unreadable (frame numbers are whole numbers" in issue.message
    assert "; a type is micro or macro" in issue.message


def test_a_file_managers_copy_of_a_frame_is_not_read_as_a_frame(tmp_path):
    root = _tree(tmp_path, ["P01,P01/rec1,1005,1012,micro,,30"], folders={"P01/rec1": range(1000, 1040)})
    (root / "P01/rec1/frame_1010 (1).jpg").write_bytes((root / "P01/rec1/frame_1010.jpg").read_bytes())
    load = _load(root)
    (video,) = load.videos
    assert (video.n_frames, video.frames[0][0]) == (40, 1000)  # not frame 1
    assert "frame_1010 (1).jpg" in _issue(load, "junk_files").message and not any(
        i.check == "frame_gaps" for i in load.issues)


def test_a_video_file_is_refused_with_how_to_extract_its_frames(tmp_path):
    root = _tree(tmp_path, ["P01,P01/rec1,5,12,micro,,30", "P02,P02/take.mp4,5,12,micro,,30"])
    (root / "P02" / "take.mp4").write_bytes(b"\0" * 16)
    load = _load(root)
    issue = _issue(load, "video_file")
    # numbered from 1 (ffmpeg's default): file n is MEGC's frame n, as spotting.csv and a coder's ELAN file count it
    assert issue.severity == "error" and "ffmpeg -i FILE -q:v 2 FOLDER/frame_%06d.jpg" in issue.message
    assert "-start_number" not in issue.message and "numbered from 1" in issue.message
    assert [v.video for v in load.excluded] == ["P02/take.mp4"]


def test_a_video_name_with_a_space_is_said_since_the_megc_log_could_not_be_read_back(tmp_path):
    root = _tree(tmp_path, ["P01,P01/rec 1,5,12,micro,,30"], folders={"P01/rec 1": range(1, 41)})
    issue = _issue(_load(root), "video_name_space")
    assert issue.severity == "warning" and "with '_' in their place" in issue.message
    assert "`mmnet spot --out` refuses such an id (--video-id)" in issue.message


def test_strict_raises_and_a_missing_table_or_column_says_the_layout(tmp_path):
    root = _tree(tmp_path, ["P01,P01/rec1,12,5,micro,,30"])
    with pytest.raises(AnnotationError):
        _load(root, strict=True)
    with pytest.raises(DatasetNotFoundError, match=r"(?s)intervals\.csv.*--annotation FILE.*Expected layout"):
        load_dataset("table-long", tmp_path / "P01")
    (tmp_path / "other.csv").write_text("subject,video,onset,offset\nP01,P01/rec1,5,12\n")
    with pytest.raises(AnnotationError, match="reads the columns subject, video, onset, offset, type"):
        _load(root, annotation=tmp_path / "other.csv")


def test_the_micro_expressions_labels_are_the_default_scheme_classes(tmp_path):
    from mmnet.config import load_config
    from mmnet.train.resolve import resolve_config

    root = _tree(tmp_path, ["P01,P01/rec1,5,12,micro,,30", "P02,P02/rec1,3,8,micro,,30"],
                 header=HEADER + ",emotion")
    (root / "intervals.csv").write_text(f"{HEADER},emotion\nP01,P01/rec1,5,12,micro,,30,Happiness\n"
                                        "P01,P01/rec1,20,30,macro,,30,anger\nP02,P02/rec1,3,8,micro,,30,surprise\n")
    assert [i.label for i in _load(root).videos[0].intervals] == ["happiness", "anger"]
    cfg = resolve_config(load_config(None, ["data.dataset=table-long", f"data.root={root}"]))
    assert cfg.data.scheme == "table" and cfg.data.classes == ["happiness", "surprise"]  # macro labels not trained


def test_check_data_lists_the_recordings_and_every_quirk(tmp_path, capsys):
    root = _tree(tmp_path, ["P01,P01/rec1,5,12,micro,,", "P01,P01/rec1,30,45,macro,,", "P02,P02/rec1,9,3,micro,,"])
    assert main(["check-data", "table-long", "--root", str(root), "--fps", "30", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "dataset     table-long (long videos, for spotting)" in out and "30 (2 videos)" in out
    assert "offset_before_onset" in out and "beyond_video" in out and "no micro-expression has an emotion" in out
    assert main(["check-data", "casme-sq", "--root", str(root), "--fps", "30"]) == 3
    assert "--fps does not apply to dataset 'casme-sq'" in capsys.readouterr().err


def test_check_data_fails_and_says_why_when_no_recording_can_be_used(tmp_path, capsys):
    # frames on disk but no rate anywhere: not "no frames", and nothing to spot, so not exit 0
    root = _tree(tmp_path / "a", ["P01,P01/rec1,5,12,micro,,", "P02,P02/rec1,3,8,micro,,"])
    assert main(["check-data", "table-long", "--root", str(root)]) == 1
    out, err = capsys.readouterr()
    assert "frames      (none: no recording can be used: 2 no frame rate)" in out
    assert "videos      0 with frames on disk, 2 excluded (2 no frame rate)" in out
    assert "fps         (none)\n" in out and err.startswith("error: no recording can be used (2 no frame rate)")
    (tmp_path / "b").mkdir()
    root = _tree(tmp_path / "b", ["P01,P01/rec1,5,12,micro,,30", "P03,P03/rec9,5,12,micro,,"], folders={})
    assert main(["check-data", "table-long", "--root", str(root)]) == 1
    assert "excluded (2 folder missing)" in capsys.readouterr().out  # missing, whether or not it has a rate
    # one usable recording: the others are said, the exit is 0 as before
    root = _tree(tmp_path / "c", ["P01,P01/rec1,5,12,micro,,30", "P02,P02/rec1,3,8,micro,,"])
    assert main(["check-data", "table-long", "--root", str(root)]) == 0
    assert "1 with frames on disk, 1 excluded (1 no frame rate)" in capsys.readouterr().out


def test_the_registration_gives_a_preset_and_the_megc_log_number_0(tmp_path):
    from mmnet.spotting.dataset_settings import dataset_number, dataset_preset
    from mmnet.spotting.megc_files import read_megc2020_log

    assert dataset_preset("table-long") == "casme2" and dataset_number("table-long") == 0
    (tmp_path / "log.txt").write_text("0\nP01/rec1          5       12      5       12      TP\n")
    assert read_megc2020_log(tmp_path / "log.txt")[0].dataset == 0


def _moving(root: Path, subjects=("P01", "P02"), motion=range(40, 48)) -> None:
    """A textured 64x64 recording per subject, frames 0-89, shifted sideways during ``motion``: optical flow there.
    Each frame has a camera's faint noise: identical frames would be a frozen video, which the spotter leaves out."""
    rng = np.random.default_rng(0)
    texture = rng.random((64, 64)) * 255
    for subject in subjects:
        folder = root / subject / "rec1"
        folder.mkdir(parents=True)
        for n in range(90):
            image = np.roll(texture, 3 if n in motion else 0, axis=1) + rng.normal(0, 1.5, texture.shape)
            Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).convert("RGB").save(folder / f"frame_{n:04d}.png")


@pytest.mark.slow
def test_train_spotter_scores_a_lab_recording_set_leave_one_subject_out(tmp_path, capsys):
    root = tmp_path / "lab"
    _moving(root)
    (root / "intervals.csv").write_text("subject,video,onset,offset,type\nP01,P01/rec1,40,47,micro\n"
                                        "P02,P02/rec1,40,47,micro\n")
    model = tmp_path / "out" / "flow.pt"
    assert main(["train-spotter", "table-long", "--root", str(root), "--fps", "30", "--out", str(model), "--loso",
                 "--set", "method=flow", "--no-align", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "2 subjects, 2 videos" in printed and "macro    spotter" not in printed  # micro alone is annotated
    out = json.loads(model.with_name("flow.pt.loso.json").read_text())
    assert out["counts"]["micro"]["tp"] == 2 and out["types"] == ["micro"]
    log = model.with_name("flow.pt.loso.megc2020_log.txt").read_text().splitlines()
    assert log[0] == "0" and log[1].split()[:3] == ["P01/rec1", "40", "47"] and log[1].split()[-1] == "TP"
    assert main(["train-spotter", "casme-sq", "--root", str(root), "--fps", "30", "--out", str(model)]) == 3
    assert "--fps applies to table-long" in capsys.readouterr().err


def test_train_spotter_refuses_ids_its_megc2020_log_would_merge_before_the_loso(tmp_path, capsys, monkeypatch):
    # "P01/my clip" and "P01/my_clip" were one video of the log, written after every fold had trained
    from mmnet.spotting import loso

    def folds(*args, **kwargs):
        raise AssertionError("the LOSO started before the refusal")

    monkeypatch.setattr(loso, "loso_spotting", folds)
    root = _tree(tmp_path / "lab", ["P01,P01/my clip,5,12,micro,,30", "P01,P01/my_clip,5,12,micro,,30",
                                    "P02,P02/rec1,5,12,micro,,30"],
                 folders={"P01/my clip": range(1, 41), "P01/my_clip": range(1, 41), "P02/rec1": range(1, 41)})
    model = tmp_path / "out" / "flow.pt"
    assert main(["train-spotter", "table-long", "--root", str(root), "--out", str(model), "--loso",
                 "--set", "method=flow", "--no-align", "--no-progress"]) == 3
    err = " ".join(capsys.readouterr().err.split())
    assert ("video ids 'P01/my clip' and 'P01/my_clip' would both be written 'P01/my_clip' in the MEGC2020 log") in err
    assert "rename one of them (their folder or the annotation's id), or train without --loso" in err
    assert not model.with_name("flow.pt.loso.megc2020_log.txt").exists()


def test_score_spots_takes_the_truth_and_its_emotions_from_a_lab_table(tmp_path, capsys):
    root = _tree(tmp_path / "lab", ["P01,P01/rec1,5,12,micro,,,happiness", "P02,P02/rec1,3,8,micro,,,surprise"],
                 header=HEADER + ",emotion")
    spots, emotions = tmp_path / "p.csv", tmp_path / "str.csv"
    spots.write_text("vid,onset,offset,type\nP01/rec1,5,12,me\nP02/rec1,20,25,me\n")
    emotions.write_text("subject,video,onset,offset,emotion\nP01,P01/rec1,5,12,happiness\n"
                        "P02,P02/rec1,3,8,happiness\n")
    args = ["--dataset", "table-long", "--root", str(root), "--fps", "30", "--json"]
    assert main(["score-spots", str(spots), *args]) == 0
    counts = {c["type"]: c for c in json.loads(capsys.readouterr().out)["counts"]}
    assert (counts["micro"]["tp"], counts["micro"]["fp"], counts["micro"]["fn"]) == (1, 1, 1)
    # the STR analysis: each emotion of the table its own class (its scheme needs no classes from a config)
    assert main(["score-spots", str(emotions), *args]) == 0
    captured = capsys.readouterr()
    assert "grouped as its scheme table (happiness, surprise)" in captured.err
    assert main(["score-spots", str(spots), "--dataset", "table-long", "--root", str(root)]) == 3
    assert "[no_fps] no frame rate" in capsys.readouterr().err


def test_score_spots_names_the_table_id_that_a_spot_folder_name_is_the_last_part_of(tmp_path, capsys):
    # `mmnet spot lab/P01/rec1` names the recording rec1; the table's id is the path P01/rec1: the hint gives it
    root = _tree(tmp_path / "lab", ["P01,P01/rec1,5,12,micro,,30", "P02,P02/rec2,3,8,micro,,30"],
                 folders={"P01/rec1": range(1, 41), "P02/rec2": range(1, 41)})
    spots = tmp_path / "spotting.csv"
    spots.write_text("vid,onset,offset,type\nrec2,5,12,me\n")
    assert main(["score-spots", str(spots), "--dataset", "table-long", "--root", str(root)]) == 3
    assert "`mmnet spot RECORDING --video-id P02/rec2`" in capsys.readouterr().err
