"""A clip table (the `table` dataset) that cannot give MMNet two classes: `mmnet train` and `mmnet check-data` refuse
it naming the file, why (no clip row, no emotion, one emotion alone) and the rows without an emotion, as table-long's
refusal does; a row without an emotion beside two labels is named, never dropped silently."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mmnet.cli import main

from .fakes import write_frames

HEADER = "subject,clip,onset,apex,emotion"


def _tree(root: Path, rows: list[str]) -> Path:
    """P01/c1, P02/c1 and P02/c2, frames 1-10 each, and ROOT/annotations.csv."""
    for clip in ("P01/c1", "P02/c1", "P02/c2"):
        write_frames(root / clip, range(1, 11), "frame_{:04d}.jpg".format)
    (root / "annotations.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return root


def _train_error(root: Path, capsys, *extra: str) -> str:
    assert main(["train", "--dataset", "table", "--root", str(root), "--print-config", *extra]) == 3
    return capsys.readouterr().err


def test_train_refuses_a_table_without_two_emotions_naming_why_and_the_rows(tmp_path, capsys):
    # one emotion, written in two cases: was "model.num_classes must be an integer >= 2, got 1"
    root = _tree(tmp_path / "a", ["P01,P01/c1,1,5,happiness", "P02,P02/c1,1,5,Happiness"])
    err = _train_error(root, capsys)
    table = f"'{root / 'annotations.csv'}'"
    assert f"{table} gives its clips one emotion alone (happiness): MMNet needs two classes or more." in err
    assert "fill in the emotion column, one label per clip row, two emotions or more" in err
    assert "num_classes" not in err and "have no emotion" not in err
    # one emotion and a row without any: the row is named
    root = _tree(tmp_path / "b", ["P01,P01/c1,1,5,happiness", "P02,P02/c1,1,5,"])
    err = _train_error(root, capsys)
    assert "one emotion alone (happiness): MMNet needs two classes or more; the clip row(s) 3 have no emotion." in err
    # no emotion at all: was "the emotion column of the table of ROOT holds no label", naming no row
    root = _tree(tmp_path / "c", ["P01,P01/c1,1,5,", "P02,P02/c1,1,5, "])
    err = _train_error(root, capsys)
    assert f"'{root / 'annotations.csv'}' gives no clip an emotion; the clip row(s) 2, 3 have no emotion." in err
    # a header and no row: the reader says so
    root = _tree(tmp_path / "d", [])
    assert f"'{root / 'annotations.csv'}' has a header row (row 1) but no rows below it" in _train_error(root, capsys)
    # two emotions: the classes, sorted
    root = _tree(tmp_path / "e", ["P01,P01/c1,1,5,happiness", "P02,P02/c1,1,5,Anger"])
    assert main(["train", "--dataset", "table", "--root", str(root), "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["data"]["classes"] == ["anger", "happiness"]


def test_check_data_lists_the_problems_then_refuses_one_emotion(tmp_path, capsys):
    # it printed "happiness 1" and exited 0, as if `mmnet train` could run on it
    root = _tree(tmp_path / "lab", ["P01,P01/c1,1,5,happiness", "P02,P02/c1,1,5,", "P02,P02/c2,1,5,happiness"])
    assert main(["check-data", "table", "--root", str(root)]) == 1
    out, err = (" ".join(text.split()) for text in capsys.readouterr())  # unwrapped
    assert "table/P02/P02/c1 error label_missing" in out and "row 3: no emotion label" in out
    assert err.startswith(f"error: '{root / 'annotations.csv'}' gives its clips one emotion alone (happiness): "
                          "MMNet needs two classes or more; the clip row(s) 3 have no emotion.")  # on stderr
    assert "one emotion alone" not in out  # the report alone on stdout
    assert "scheme " not in out  # no class count that reads as usable
    # with no emotion at all it was a message about data.classes, which the user never set
    root = _tree(tmp_path / "none", ["P01,P01/c1,1,5,", "P02,P02/c1,1,5,"])
    assert main(["check-data", "table", "--root", str(root)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "gives no clip an emotion; the clip row(s) 2, 3 have no emotion" in err and "data.classes" not in err
    # --json: the JSON, its reason in `refused`, and the same line on stderr (it raised: exit 3, no JSON)
    assert main(["check-data", "table", "--root", str(root), "--json"]) == 1
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["training_stops"] and "gives no clip an emotion" in data["refused"] and data["used"] == []
    assert err.startswith("error: ") and "gives no clip an emotion" in err


def test_a_row_without_an_emotion_beside_two_is_named_not_dropped(tmp_path, capsys):
    from mmnet.data import load_dataset, resolve_scheme
    from mmnet.data.usage import plan_usage

    root = _tree(tmp_path / "lab", ["P01,P01/c1,1,5,happiness", "P02,P02/c1,1,5,", "P02,P02/c2,1,5,anger"])
    load = load_dataset("table", root)
    assert [(i.sample_id, i.check, i.severity) for i in load.issues] == [("table/P02/P02/c1", "label_missing", "error")]
    assert "row 3: no emotion label" in load.issues[0].message
    scheme = resolve_scheme("table", ["anger", "happiness"], "table")
    assert [sid for sid, _ in plan_usage(load, scheme, "error").problems] == ["table/P02/P02/c1"]  # training stops
    assert "table/P02/P02/c1" in [sid for sid, _ in plan_usage(load, scheme, "skip").left_out]  # skipped.csv
    assert main(["check-data", "table", "--root", str(root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["training_stops"] and len(data["used"]) == 2


def test_a_label_map_or_classes_list_of_one_class_is_refused_by_name(tmp_path, capsys):
    from mmnet.data import resolve_scheme

    root = _tree(tmp_path / "lab", ["P01,P01/c1,1,5,happiness", "P02,P02/c1,1,5,anger"])
    err = _train_error(root, capsys, "--scheme", "happiness=positive, anger=-")
    assert "label map 'happiness=positive, anger=-' maps its labels to one class (positive): MMNet needs two" in err
    err = _train_error(root, capsys, "--set", "data.classes=[happiness]")
    assert "data.classes ['happiness'] lists one class: MMNet needs two classes or more" in err
    assert "num_classes" not in err
    assert main(["check-data", "table", "--root", str(root), "--scheme", "happiness=positive"]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and "maps its labels to one class (positive)" in err
    assert "one class" not in out  # the report alone on stdout
    # scoring and analysis still build such a scheme (score-spots' STR classes of a one-emotion table)
    assert resolve_scheme("happiness=positive", None, "table").classes == ("positive",)


def _skipping_tree(root: Path, emotions: tuple[str, ...]) -> Path:
    """Subjects P01..P03, one clip per emotion each; the clips of the last emotion all unusable (two folders
    missing, one without frames)."""
    rows = []
    for p in ("P01", "P02", "P03"):
        for k, emotion in enumerate(emotions):
            clip = f"{p}/c{k + 1}"
            if emotion != emotions[-1]:
                write_frames(root / clip, range(1, 11), "frame_{:04d}.jpg".format)
            elif p == "P02":
                (root / clip).mkdir(parents=True)
            rows.append(f"{p},{clip},1,5,{emotion}")
    (root / "annotations.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return root


def test_skipping_every_clip_of_a_class_stops_training_naming_the_class_rows_and_fix(tmp_path, capsys):
    # every surprise row unusable: under skip it trained a 3-class head on two classes, a coverage warning alone
    root = _skipping_tree(tmp_path / "lab", ("happiness", "anger", "surprise"))
    out = tmp_path / "run"
    assert main(["train", "--dataset", "table", "--root", str(root), "--out", str(out),
                 "--set", "data.on_bad_sample=skip", "--set", "train.epochs=1", "--set", "data.image_size=32"]) == 3
    err = " ".join(capsys.readouterr().err.split())
    table = root / "annotations.csv"
    assert (f"class(es) surprise of scheme table have no usable sample left: every one of their 3 annotated sample(s), "
            f"row(s) 4, 7, 10 of '{table}' has a problem, and data.on_bad_sample=skip leaves them out:") in err
    for clip, row in (("P01/P01/c3", 4), ("P02/P02/c3", 7), ("P03/P03/c3", 10)):
        assert f"- table/{clip} (row {row}): " in err
    assert "averaged over all 3 classes, would count its F1 and recall as 0" in err
    suggested = "anger=anger, happiness=happiness, surprise=-"
    assert f"Fix these samples (the files or cells named), or train without it: a label map leaving its labels " \
           f"out, --scheme '{suggested}'." in err
    assert not (out / "seed-0").exists()  # stopped before any fold
    # check-data says the same under skip, and exits 1
    assert main(["check-data", "table", "--root", str(root), "--on-bad-sample", "skip"]) == 1
    out, err = capsys.readouterr()
    said, err = " ".join(out.split()), " ".join(err.split())
    assert err.startswith("error: mmnet train stops: class(es) surprise of scheme table")  # an error: on stderr
    assert "mmnet train stops" not in said  # the report alone on stdout
    assert "scheme table: training stops: skipping leaves a class without a sample" in said  # not "N used"
    assert "have no sample:" not in said + err  # the refusal alone: the coverage warning is for classes never annotated
    assert main(["check-data", "table", "--root", str(root), "--on-bad-sample", "skip", "--json"]) == 1
    out, err = capsys.readouterr()
    data = json.loads(out)  # stdout: the JSON alone
    assert data["training_stops"] and "surprise" in data["classes_left"] and "surprise" in data["refused"]
    assert err.startswith("error: mmnet train stops: class(es) surprise of scheme table")  # the same line, --json too
    # the map suggested trains the two classes left
    from mmnet.config import load_config
    from mmnet.train.prepare import prepare_run

    cfg = load_config(None, [f"data.root={root}", "data.dataset=table", "data.on_bad_sample=skip",
                             f"data.scheme={suggested}", f"data.cache_dir={tmp_path / 'cache'}"])
    run = prepare_run(cfg, tmp_path / "run2", progress=False, measure=False)
    assert sorted(set(run.labels)) == [0, 1] and run.cfg.data.classes == ["anger", "happiness"]


def test_skipping_a_class_of_two_leaves_one_and_says_mmnet_needs_two(tmp_path, capsys):
    root = _skipping_tree(tmp_path / "lab", ("anger", "happiness"))
    assert main(["train", "--dataset", "table", "--root", str(root), "--out", str(tmp_path / "run"),
                 "--set", "data.on_bad_sample=skip", "--set", "train.epochs=1", "--set", "data.image_size=32"]) == 3
    err = " ".join(capsys.readouterr().err.split())
    assert "class(es) happiness of scheme table have no usable sample left" in err
    assert ("Only anger has usable samples left: MMNet needs two classes or more. Fix these samples (the files or "
            "cells named) so that it can be used.") in err
    assert "--scheme" not in err  # dropping the class would leave one


def test_the_refusals_fix_names_one_sample_or_many_and_one_class_or_many(tmp_path, capsys):
    root = _skipping_tree(tmp_path / "lab", ("anger", "happiness"))
    table = root / "annotations.csv"
    rows = table.read_text(encoding="utf-8").splitlines()
    # a second class emptied too (its clip's folder is missing): two classes, four samples
    table.write_text("\n".join([*rows, "P01,P01/c9,1,5,surprise"]) + "\n", encoding="utf-8")
    assert main(["check-data", "table", "--root", str(root), "--on-bad-sample", "skip"]) == 1
    said = " ".join(capsys.readouterr().err.split())
    assert "class(es) happiness, surprise of scheme table have no usable sample left" in said
    assert "Fix these samples (the files or cells named) so that they can be used." in said
    # one class of one sample
    table.write_text("\n".join([r for r in rows if not r.startswith(("P02", "P03"))]) + "\n", encoding="utf-8")
    assert main(["check-data", "table", "--root", str(root), "--on-bad-sample", "skip"]) == 1
    said = " ".join(capsys.readouterr().err.split())
    assert "Fix this sample (the files or cells named) so that it can be used." in said


def test_the_refusal_names_each_sample_left_out_in_a_line_and_the_first_ten(tmp_path, capsys):
    # twelve clips of 40 broken frames each: the refusal listed all 480 frames, on stdout beside the report
    root, rows = tmp_path / "lab", []
    for k in range(1, 13):
        p = f"P{k:02d}"
        for c, emotion in ((1, "anger"), (2, "surprise"), (3, "happiness")):
            if emotion != "happiness":
                write_frames(root / p / f"c{c}", range(1, 11), "frame_{:04d}.jpg".format)
            else:
                (root / p / "c3").mkdir(parents=True)
                for n in range(1, 41):
                    (root / p / "c3" / f"frame_{n:04d}.jpg").write_text("not an image")
            rows.append(f"{p},{p}/c{c},1,5,{emotion}")
    (root / "annotations.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    assert main(["check-data", "table", "--root", str(root), "--on-bad-sample", "skip"]) == 1
    out, err = capsys.readouterr()
    assert "frame_0040.jpg" in out and "mmnet train stops" not in out  # the report lists every frame
    assert err.startswith("error: mmnet train stops: class(es) happiness of scheme table have no usable sample")
    listed = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(listed) == 10, err
    assert listed[0] == ("  - table/P01/P01/c3 (row 4): [frame_unreadable] 40 frame files, e.g. frame 1 "
                         "'frame_0001.jpg' is not an image (text or damaged data under an image name), frame 2 "
                         "'frame_0002.jpg' is not an image (text or damaged data under an image name), and 38 more; "
                         "replace or re-extract them"), listed[0]
    assert "  ... and 2 more (the report above lists every one, as --json does)" in err
    assert "frame_0003.jpg" not in err and len(err) < 4000, len(err)  # was 20 times longer
    # `mmnet train` refuses alike, naming the samples as compactly
    assert main(["train", "--dataset", "table", "--root", str(root), "--out", str(tmp_path / "run"),
                 "--set", "data.on_bad_sample=skip", "--set", "train.epochs=1", "--set", "data.image_size=32"]) == 3
    err = capsys.readouterr().err
    assert listed[0] in err.splitlines() and "  ... and 2 more (`mmnet check-data` lists every one)" in err, err
    assert "frame_0003.jpg" not in err


def test_a_reason_says_each_kind_of_problem_once_with_its_count_and_first_examples():
    from mmnet.data.usage import compact_reason

    frames = [f"[frame_unreadable] frame {n} 'f{n}.jpg' is empty (0 bytes); replace or re-extract it"
              for n in (1, 2, 3)]
    size = "[frame_size] 1 frame(s) differ in size from the clip's 64x64: 9 (32x32); they would be stretched. Re-do"
    assert compact_reason("; ".join([*frames, size])) == (
        "[frame_unreadable] 3 frame files, e.g. frame 1 'f1.jpg' is empty (0 bytes), frame 2 'f2.jpg' is empty "
        f"(0 bytes), and 1 more; replace or re-extract them; {size}")
    assert compact_reason(frames[0]) == frames[0]  # one problem: as it was
    assert compact_reason("no usable frames on disk") == "no usable frames on disk"
    two = "[onset_after_apex] onset 9 is after apex 5; fix the row; [apex_unknown] apex '/'; fill it in"
    assert compact_reason(two) == two  # kinds of one problem each: unchanged
