"""The table dataset (a lab's own clips: a CSV and one folder per clip) and label maps in data.scheme."""

import shutil
from pathlib import Path

import pytest

from mmnet.data import load_dataset, resolve_scheme
from mmnet.data.label_maps import label_map_scheme
from mmnet.data.table import frame_pattern, table_labels
from mmnet.data.usage import plan_usage
from mmnet.errors import AnnotationError, ConfigError, DatasetNotFoundError
from tests.table_helpers import read_csv, write_csv

GROUPS = "happiness=positive, disgust=negative, repression=negative, surprise=surprise, others=-"


def _rewrite(root: Path, change) -> list[dict]:
    rows = read_csv(root / "annotations.csv")
    change(rows)
    write_csv(root / "annotations.csv", rows)
    return rows


def _issues(load, check):
    return [i for i in load.issues if i.check == check]


def test_table_loads_every_clip_with_text_subjects(table_root):
    load = load_dataset("table", table_root)
    assert not load.errors and len(load.samples) == 12
    assert {s.subject for s in load.samples} == {"P01", "P02", "P03"}
    s = load.samples[0]
    row = read_csv(table_root / "annotations.csv")[0]
    assert s.clip == row["clip"] and s.onset == int(row["onset"]) and s.label == row["emotion"].lower()
    assert s.frame_numbers[0] == s.onset and s.frames[0][1].name == f"frame_{s.onset:04d}.jpg"
    assert table_labels(table_root) == sorted({r["emotion"].lower() for r in read_csv(table_root / "annotations.csv")})


def test_subject_ids_stay_text(copy):
    _rewrite(copy, lambda rows: [r.update(subject="007") for r in rows])
    assert {s.subject for s in load_dataset("table", copy).samples} == {"007"}


def test_frames_pattern_option(copy):
    load = load_dataset("table", copy, frames="frame_{frame}.jpg")
    assert not load.errors and len(load.samples) == 12
    load = load_dataset("table", copy, frames="img{frame}.png")  # no file has that name
    (first, *others) = _issues(load, "no_frames")
    assert len(others) == 11 and "no file named like 'img{frame}.png'" in first.message
    with pytest.raises(ConfigError, match="'\\{frame\\}' once"):
        load_dataset("table", copy, frames="img.jpg")


def test_missing_column_names_the_file_and_the_columns(copy):
    rows = read_csv(copy / "annotations.csv")
    write_csv(copy / "annotations.csv", rows, ["subject", "clip", "onset", "emotion"])
    with pytest.raises(AnnotationError, match="no column named 'apex'.*subject, clip, onset, apex, emotion"):
        load_dataset("table", copy)


def test_offset_column_is_optional(copy):
    rows = read_csv(copy / "annotations.csv")
    write_csv(copy / "annotations.csv", rows, ["subject", "clip", "onset", "apex", "emotion"])
    load = load_dataset("table", copy)
    assert len(load.samples) == 12 and load.samples[0].offset is None


def test_bad_rows_are_named(copy):
    def change(rows):
        rows[0]["onset"] = "12a"  # not a frame number
        rows[1]["onset"], rows[1]["apex"] = rows[1]["apex"], rows[1]["onset"]  # onset after apex
        rows[2]["clip"] = "P01/no_such_clip"
        rows[3]["clip"] = "../outside"

    rows = _rewrite(copy, change)
    empty = copy / rows[4]["clip"]
    for f in empty.iterdir():
        f.unlink()
    load = load_dataset("table", copy)
    csv_name = str(copy / "annotations.csv")
    (bad,) = _issues(load, "bad_value")
    assert "row 2" in bad.message and "'12a' is not a frame number" in bad.message and csv_name in bad.message
    assert [i.sample_id for i in _issues(load, "onset_after_apex")] == [f"table/P01/{rows[1]['clip']}"]
    missing = {i.sample_id: i.message for i in _issues(load, "clip_missing")}
    no_clip = missing["table/P01/P01/no_such_clip"]
    assert "row 4" in no_clip and "create the folder" in no_clip
    assert "row 5" in missing["table/P01/../outside"] and "without '..'" in missing["table/P01/../outside"]
    assert [i.sample_id for i in _issues(load, "no_frames")] == [f"table/{rows[4]['subject']}/{rows[4]['clip']}"]


def test_missing_table_says_the_layout(copy):
    (copy / "annotations.csv").rename(copy / "labels.csv")
    with pytest.raises(DatasetNotFoundError, match="(?s)annotations.csv.*--annotation FILE.*Expected layout"):
        load_dataset("table", copy)
    assert len(load_dataset("table", copy, annotation=copy / "labels.csv").samples) == 12


def test_label_map_groups_and_names_unknown_labels(copy):
    scheme = resolve_scheme(GROUPS, None, "table")
    assert scheme.classes == ("positive", "negative", "surprise")
    load = load_dataset("table", copy)
    usage = plan_usage(load, scheme, "error")
    assert {r for _, r in usage.left_out} == {f"label 'others' is not used by scheme {GROUPS}"}
    assert not usage.problems
    # a label the map does not name is a problem per sample, never a silent drop
    usage = plan_usage(load, resolve_scheme("happiness=positive, disgust=negative", None, "table"), "error")
    assert usage.problems and all("unknown to scheme" in reason for _, reason in usage.problems)


def test_label_map_fits_any_dataset_and_takes_the_order_of_data_classes():
    assert resolve_scheme(GROUPS, None, "casme2").classes == ("positive", "negative", "surprise")
    assert resolve_scheme(GROUPS, ["negative", "positive", "surprise"], "casme2").classes == (
        "negative", "positive", "surprise")
    with pytest.raises(ConfigError, match="differs from the classes of the label map"):
        resolve_scheme(GROUPS, ["a", "b", "c"], "casme2")
    with pytest.raises(ConfigError, match="mapped twice"):
        label_map_scheme("happy=positive, Happy=negative")
    assert label_map_scheme("Happy=positive, sad=-")["mapping"] == {"happy": "positive", "sad": None}
    with pytest.raises(ConfigError, match="is not label=class"):
        label_map_scheme("happy=positive, sad")


def test_table_scheme_needs_classes():
    with pytest.raises(ConfigError, match="takes its classes from data.classes.*resolve_config"):
        resolve_scheme("table", None, "table")
    assert resolve_scheme("table", ["Negative", "positive"], "table").class_of is not None
    with pytest.raises(ConfigError, match="names a class twice"):
        resolve_scheme("table", ["happy", "Happy"], "table")


def test_check_data_covers_the_table(copy, capsys):
    from mmnet.cli import main

    assert main(["check-data", "table", "--root", str(copy), "--strict"]) == 0
    out = capsys.readouterr().out
    assert "scheme" in out and "repression" in out
    assert main(["check-data", "table", "--root", str(copy), "--scheme", GROUPS]) == 0
    assert "positive" in capsys.readouterr().out
    _rewrite(copy, lambda rows: rows[0].update(onset="x"))
    assert main(["check-data", "table", "--root", str(copy), "--strict"]) == 1
    assert "not a frame number" in capsys.readouterr().out


def test_a_shipped_scheme_reads_a_table_with_its_labels(table_root):
    scheme = resolve_scheme("casme2-5class", None, "table")  # refused for another shipped dataset (samm)
    assert len(scheme.select(load_dataset("table", table_root).samples)) == 12
    with pytest.raises(ConfigError, match="made for casme2, not for dataset 'samm'"):
        resolve_scheme("casme2-5class", None, "samm")


def test_a_clip_folder_of_two_subjects_is_an_error(copy):
    rows = _rewrite(copy, lambda rows: rows[5].update(clip=rows[0]["clip"]))
    assert rows[5]["subject"] != rows[0]["subject"]
    load = load_dataset("table", copy)
    (twice,) = _issues(load, "clip_twice")
    assert twice.severity == "error" and "row 7" in twice.message and "row 2" in twice.message
    assert twice.sample_id == f"table/{rows[5]['subject']}/{rows[0]['clip']}"
    usage = plan_usage(load, resolve_scheme("table", table_labels(copy), "table"), "error")
    assert twice.sample_id in {sid for sid, _ in usage.problems}  # training stops on it, unless skip


def test_synth_writes_a_table_dataset_of_the_same_clips(tmp_path, capsys):
    from mmnet.cli import main

    args = ["synth", str(tmp_path / "t"), "--subjects", "2", "--clips-per-subject", "2", "--seed", "4"]
    assert main(args + ["--table"]) == 0
    assert "mmnet check-data table --root" in capsys.readouterr().out
    assert main(["synth", str(tmp_path / "c"), *args[2:]]) == 0
    table, casme = load_dataset("table", tmp_path / "t"), load_dataset("casme2", tmp_path / "c")
    assert not table.errors and not (tmp_path / "t" / "Cropped").exists()
    assert [(f"P{s.subject}", s.onset, s.apex, s.label) for s in casme.samples] == [
        (s.subject, s.onset, s.apex, s.label) for s in table.samples]
    assert table.samples[0].frames[0][1].read_bytes() == casme.samples[0].frames[0][1].read_bytes()
    assert main(args + ["--overwrite"]) == 0  # the CASME II layout replaces the table one
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["CASME2-coding-20190701.xlsx", "Cropped",
                                                                  "synth.json"]


def test_data_frames_names_frames_whose_last_number_is_not_theirs(copy, tmp_path, capsys):
    from mmnet.cli import main
    from mmnet.config import load_config
    from mmnet.train import resolve_config
    from mmnet.train.prepare import prepare_run

    for frame in copy.glob("*/*/frame_*.jpg"):  # img46_v2.jpg: the last number in the name is 2, not the frame
        frame.rename(frame.with_name(f"img{int(frame.stem.removeprefix('frame_'))}_v2.jpg"))
    assert main(["check-data", "table", "--root", str(copy), "--strict"]) == 1  # onset/apex not among "frames 2"
    capsys.readouterr()
    assert main(["check-data", "table", "--root", str(copy), "--strict", "--frames", "img{frame}_v2.jpg"]) == 0
    settings = [f"data.root={copy}", "data.dataset=table", "data.image_size=32", f"data.cache_dir={tmp_path / 'c'}"]
    cfg = resolve_config(load_config(None, [*settings, "data.frames=img{frame}_v2.jpg"]))
    prepared = prepare_run(cfg, tmp_path / "run", progress=False, measure=False)
    assert len(prepared.sample_ids) == 12
    with pytest.raises(ConfigError, match="data.frames .* 'table' dataset"):
        load_config(None, [f"data.root={copy}", "data.frames=img{frame}.jpg"])  # casme2 has its own layout


def test_a_label_map_refuses_one_class_written_two_ways():
    # 'Positive' and 'positive' would be two classes of one name, as data.classes refuses
    with pytest.raises(ConfigError, match="class 'Positive' is also written 'positive'"):
        label_map_scheme("happy=Positive, sad=positive")
    with pytest.raises(ConfigError, match="class 'very positive' is also written 'Very  Positive'"):
        label_map_scheme("happy=very positive, glad=Very  Positive")
    assert label_map_scheme("happy=Positive, glad=Positive")["classes"] == ("Positive",)


def test_labels_written_with_other_white_space_are_one_label(copy):
    assert label_map_scheme("Happy  Face=positive, sad=-")["mapping"] == {"happy face": "positive", "sad": None}
    with pytest.raises(ConfigError, match="mapped twice"):
        label_map_scheme("happy face=positive, Happy  Face=negative")
    with pytest.raises(ConfigError, match="names a class twice"):
        resolve_scheme("table", ["happy face", "Happy  Face"], "table")
    _rewrite(copy, lambda rows: [r.update(emotion="Happy  Face" if i % 2 else " happy face") for i, r in
                                 enumerate(rows)])
    assert table_labels(copy) == ["happy face"]
    load = load_dataset("table", copy)
    assert {s.label for s in load.samples} == {"happy face"}
    usage = plan_usage(load, resolve_scheme("Happy face=positive", None, "table"), "error")
    assert not usage.problems and len(usage.used) == 12


def test_one_clip_folder_written_several_ways_is_one_sample(copy):
    def change(rows):
        clip = rows[0]["clip"]
        rows.append({**rows[0], "clip": f"./{clip}/"})  # an exact repeat (row 14): ignored
        rows.append({**rows[0], "clip": clip.replace("/", "\\"), "onset": int(rows[0]["onset"]) + 1})  # row 15
        head, name = clip.rsplit("/", 1)
        rows.append({**rows[0], "clip": f"{head}/{name.swapcase()}"})  # row 16: the folder found in another case
        rows[1]["clip"] = f"./{rows[1]['clip']}/"  # alone: its sample's clip is the path as one POSIX path

    rows = _rewrite(copy, change)
    load = load_dataset("table", copy)
    ids = [s.sample_id for s in load.samples]
    assert len(ids) == len(set(ids)) == 12
    first = f"table/{rows[0]['subject']}/{rows[0]['clip']}"
    assert load.samples[1].clip == rows[1]["clip"].strip("./")
    repeats = sorted((i for i in load.issues if i.check in ("duplicate", "duplicate_row")), key=lambda i: i.message)
    assert [(i.check, i.severity, i.sample_id) for i in repeats] == [
        ("duplicate_row", "warning", first), ("duplicate", "error", first), ("duplicate_row", "warning", first)]
    assert all("row 2" in i.message for i in repeats)
    assert [next(w for w in ("row 14", "row 15", "row 16") if w in i.message) for i in repeats] == [
        "row 14", "row 15", "row 16"]
    # two windows for one folder leave no way to know which is right: the clip stops training, as a repeated cell
    usage = plan_usage(load, resolve_scheme("table", table_labels(copy), "table"), "error")
    assert {sid for sid, _ in usage.problems} == {first}


def test_a_subject_written_in_two_cases_is_an_error_naming_the_rows(copy):
    rows = _rewrite(copy, lambda rows: rows[5].update(subject=rows[5]["subject"].lower()))
    assert rows[4]["subject"] == rows[5]["subject"].upper() and rows[5]["subject"] != rows[4]["subject"]
    load = load_dataset("table", copy)
    (clash,) = _issues(load, "subject_case")
    assert clash.severity == "error" and clash.sample_id == f"table/{rows[5]['subject']}/{rows[5]['clip']}"
    assert "row 7" in clash.message and "row 6" in clash.message and "write the subject one way" in clash.message
    usage = plan_usage(load, resolve_scheme("table", table_labels(copy), "table"), "error")
    assert clash.sample_id in {sid for sid, _ in usage.problems}


def test_a_copy_of_a_frame_is_named_not_read_as_a_frame(copy):
    # a file manager's copy 'frame_0052 (1).jpg' was read as frame 1 (the last number of its name): a gap of 50
    # frames said instead of the copy; 'frame_0052 - Copy.jpg' (sorted before the frame) was read as frame 52
    row = read_csv(copy / "annotations.csv")[0]
    folder, apex = copy / row["clip"], int(row["apex"])
    frame = folder / f"frame_{apex:04d}.jpg"
    for suffix in (" (1)", " - Copy", " copy 2"):
        shutil.copyfile(frame, folder / f"{frame.stem}{suffix}.jpg")
    after = folder / f"frame_{apex + 1:04d}.jpg"
    after.rename(folder / f"{after.stem} (copy).jpg")  # the frame itself is gone: its copy is said so
    load = load_dataset("table", copy)
    sid = f"table/{row['subject']}/{row['clip']}"
    copies = {i.message.split("'")[1]: i for i in _issues(load, "frame_copy")}
    assert sorted(copies) == sorted([f"{frame.stem} (1).jpg", f"{frame.stem} - Copy.jpg", f"{frame.stem} copy 2.jpg",
                                     f"{after.stem} (copy).jpg"])
    assert {(i.sample_id, i.severity) for i in copies.values()} == {(sid, "warning")}
    assert f"in {folder} is named as a file manager names a copy of frame {apex} ('{frame.name}'); delete it" in (
        copies[f"{frame.stem} (1).jpg"].message)
    absent = copies[f"{after.stem} (copy).jpg"].message
    assert f"a copy of frame {apex + 1} ('{after.name}'), which is absent: rename it to '{after.name}' if it" in absent
    sample = next(s for s in load.samples if s.sample_id == sid)
    assert sample.frame_path(apex) == frame and sample.frame_numbers[0] == int(row["onset"])
    gaps = [i.message for i in _issues(load, "frames_gap") if i.sample_id == sid]
    assert gaps == [f"1 frame(s) absent between {sample.frame_numbers[0]} and {sample.frame_numbers[-1]} (dropped "
                    f"frames?): {apex + 1}"]
    assert not [i for i in load.issues if i.sample_id == sid and i.check in ("frame_number_twice", "junk_files")]
    # Windows numbers renamed files 'frame (1).jpg', 'frame (2).jpg': those are the frames
    assert frame_pattern(None).fullmatch("frame (7).jpg").group(1) == "7"


def test_files_windows_renamed_together_are_frames_not_copies(copy, capsys):
    # Explorer names files renamed together 'take3 (1).jpg', 'take3 (2).jpg', ...: they are frames 1..N (they were
    # all dropped as copies of one 'take3.jpg', with advice to rename them all to that one name)
    from mmnet.cli import main

    rows = read_csv(copy / "annotations.csv")
    for row, base in ((rows[0], "take3"), (rows[1], rows[1]["subject"])):
        for frame in (copy / row["clip"]).glob("frame_*.jpg"):
            frame.rename(frame.with_name(f"{base} ({int(frame.stem.split('_')[1])}).jpg"))
    load = load_dataset("table", copy)
    assert not _issues(load, "frame_copy") and not load.errors
    for row in rows[:2]:
        sample = next(s for s in load.samples if s.clip == row["clip"])
        assert sample.frame_numbers[0] == int(row["onset"]) and int(row["apex"]) in sample.frame_numbers
    assert sample.frame_path(int(rows[1]["apex"])).name == f"{rows[1]['subject']} ({int(rows[1]['apex'])}).jpg"
    assert main(["check-data", "table", "--root", str(copy), "--strict"]) == 0
    capsys.readouterr()
    # beside the original (or a frame of its number named the usual way) such a name is still a copy
    folder = copy / rows[0]["clip"]
    apex = int(rows[0]["apex"])
    shutil.copyfile(folder / f"take3 ({apex}).jpg", folder / f"take3 ({apex}) (1).jpg")
    other, onset = copy / rows[2]["clip"], int(rows[2]["onset"])
    shutil.copyfile(other / f"frame_{onset:04d}.jpg", other / f"frame_{onset} (1).jpg")  # frame_0046 is frame 46
    load = load_dataset("table", copy)
    copies = {i.message.split("'")[1]: i.message for i in _issues(load, "frame_copy")}
    assert sorted(copies) == sorted([f"take3 ({apex}) (1).jpg", f"frame_{onset} (1).jpg"])
    assert f"a copy of frame {apex} ('take3 ({apex}).jpg'); delete it" in copies[f"take3 ({apex}) (1).jpg"]
    assert f"a copy of frame {onset} ('frame_{onset}.jpg'); delete it" in copies[f"frame_{onset} (1).jpg"]


def test_several_copies_of_an_absent_frame_are_not_all_told_to_take_its_name(copy):
    row = read_csv(copy / "annotations.csv")[0]
    folder, apex = copy / row["clip"], int(row["apex"])
    frame = folder / f"frame_{apex:04d}.jpg"
    for n in (1, 2):
        shutil.copyfile(frame, folder / f"{frame.stem} ({n}).jpg")
    frame.unlink()
    load = load_dataset("table", copy)
    copies = {i.message.split("'")[1]: i.message for i in _issues(load, "frame_copy")}
    assert sorted(copies) == [f"{frame.stem} (1).jpg", f"{frame.stem} (2).jpg"]
    assert (f"which is absent; 1 other file(s) here copy it too ('{frame.stem} (2).jpg'): if one of them is that "
            f"frame, rename that one alone to '{frame.name}', and delete the others") in copies[f"{frame.stem} (1).jpg"]
    assert not any("rename it to" in m for m in copies.values())


def test_a_clip_folder_written_in_another_case_is_named(copy):
    rows = read_csv(copy / "annotations.csv")
    subject = rows[0]["subject"]
    if (copy / subject.lower()).is_dir():
        pytest.skip("this file system does not tell case apart: the folder opens as written")
    _rewrite(copy, lambda rows: rows[0].update(clip=rows[0]["clip"].replace(subject, subject.lower(), 1)))
    load = load_dataset("table", copy)
    (missing,) = _issues(load, "clip_missing")
    assert missing.severity == "error" and "row 2" in missing.message
    assert (f"the folder is there as '{rows[0]['clip']}', its name written in another case, which this file system "
            f"tells apart: write '{rows[0]['clip']}' in the clip cell, or rename the folder") in missing.message
