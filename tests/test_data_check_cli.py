"""`mmnet check-data` on fake trees: problem table, class summary, strict exit code, missing data."""

from __future__ import annotations

import json

from mmnet.cli import main

from .fakes import CASME2_ROWS, write_casme2, write_cde_csv, write_samm, write_smic
from .fakes_long import write_samm_long


def test_table_and_summary(tmp_path, capsys):
    root = write_casme2(tmp_path / "c")
    assert main(["check-data", "casme2", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "casme2/04/EP12_01f" in out and "apex_unknown" in out
    assert "1 hidden or macOS/Windows metadata file(s) ignored" in out  # Thumbs.db, in the dataset's one note
    # what training does with data.on_bad_sample=error: the 5 samples with errors stop it
    # (the count alone read as what training would use: it said "(data.on_bad_sample=error)" while training stops)
    assert ("casme2-5class: training stops until these are fixed; with data.on_bad_sample=skip: 7 of 14 annotated "
            "samples used for training\n") in out
    assert "  0  happiness    2" in out and "  4  others       1" in out
    assert "not in the scheme (left out on purpose, listed in the run's skipped.csv): fear 1, sadness 1" in out
    assert "5 with problems (above) stop training" in out and "casme2/04/EP12_01f, casme2/07/EP06_01" in out
    assert "subjects    3 (LOSO folds): 01 3, 02 3, 05 1" in out
    # with nearest, frames missing on disk are clamped; the unknown apex still stops training, and so do the two
    # clips whose onset and apex both become one frame (they were used as empty motion images)
    assert main(["check-data", "casme2", "--root", str(root), "--on-bad-sample", "nearest"]) == 0
    out = capsys.readouterr().out
    assert "9 of 14 annotated samples used" in out
    assert ("3 with problems (above) stop training: data.on_bad_sample=nearest cannot fix them (it only replaces an "
            "onset or apex frame missing on disk, and not when onset and apex then fall on one frame); fix them, or "
            "train with data.on_bad_sample=skip to leave them out:\n"
            "    casme2/04/EP12_01f, casme2/07/EP06_01, casme2/12/EP09_02\n  why nearest cannot fix them:\n") in out
    assert ("casme2/07/EP06_01: with the nearest frames on disk, the annotated onset 17 and apex 47 both become frame "
            "52: no motion is left between them.") in " ".join(out.split())
    assert ("training stops until these are fixed (data.on_bad_sample=nearest cannot fix them); once they are: 9 of 14 "
            "annotated samples used for training; with data.on_bad_sample=skip, which leaves out every sample with "
            "an error: 7 of 14\n") in out
    assert main(["check-data", "casme2", "--root", str(root), "--on-bad-sample", "skip"]) == 0
    out = capsys.readouterr().out
    assert "5 with problems (above) are left out" in out
    assert "7 of 14 annotated samples used for training (data.on_bad_sample=skip)" in out


def test_the_frames_folder_read_is_named(tmp_path, capsys):
    # the header named root and annotation only: raw frames used in place of missing crops went unseen
    for layout, folder in (("cropped", "Cropped"), ("raw-selected", "CASME2_RAW_selected")):
        root = write_casme2(tmp_path / layout, junk=False, layout=layout)
        assert main(["check-data", "casme2", "--root", str(root)]) == 0
        assert f"frames      {root / folder}\n" in capsys.readouterr().out


def test_strict_exit_code(tmp_path, capsys):
    root = write_casme2(tmp_path / "c")
    assert main(["check-data", "casme2", "--root", str(root), "--strict"]) == 1
    clean = write_casme2(tmp_path / "ok", [r for r in CASME2_ROWS if r[1] == "EP02_01f"], junk=False)
    assert main(["check-data", "casme2", "--root", str(clean), "--strict"]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_scheme_and_options(tmp_path, capsys):
    root = write_samm(tmp_path / "s")
    assert main(["check-data", "samm", "--root", str(root), "--scheme", "samm-3class-megc", "--no-corrections"]) == 0
    out = capsys.readouterr().out
    assert "samm-3class-megc" in out and "not applied (corrections disabled)" in out
    assert main(["check-data", "samm", "--root", str(root), "--variant", "HS"]) == 3
    assert "does not apply" in capsys.readouterr().err
    assert main(["check-data", "samm", "--root", str(root), "--scheme", "nope"]) == 3
    assert "Valid values" in capsys.readouterr().err
    # a scheme of another dataset: SAMM's labels were "unknown to scheme casme2-5class ... check the spelling"
    assert main(["check-data", "samm", "--root", str(root), "--scheme", "casme2-5class"]) == 3
    assert "made for casme2, not for dataset 'samm'" in capsys.readouterr().err


def test_missing_root_message(tmp_path, capsys):
    assert main(["check-data", "casme2", "--root", str(tmp_path / "nowhere")]) == 3
    err = capsys.readouterr().err
    assert "is missing" in err and "Expected layout" in err and "request it from" in err


def test_composite_roots(tmp_path, capsys):
    c, s, m = write_casme2(tmp_path / "c", junk=False), write_samm(tmp_path / "s"), write_smic(tmp_path / "m")
    gt = write_cde_csv(tmp_path / "gt.csv", [("casme2", "sub01", "EP02_01f", 1), ("samm", "6", "006_1_2", 0),
                                             ("smic", "s01", "s01_ne_01", 0)])
    argv = ["check-data", "composite", "--root", f"casme2={c}", "--root", f"samm={s}", "--root", f"smic={m}",
            "--annotation", str(gt), "--cache-dir", str(tmp_path / "cache")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "composite-3class: 3 of 3" in out and "casme2/01 1" in out and "smic/s1 1" in out
    # each part's classes, as evaluation.md asks to report them
    assert "  smic       1: negative 1, positive 0, surprise 0\n  casme2     1: negative 0, positive 1, surprise 0\n" \
           "  samm       1: negative 1, positive 0, surprise 0\n" in out
    # a list of two parts: no SMIC folder needed, no SMIC row in the per-part counts
    two = write_cde_csv(tmp_path / "cs.csv", [("casme2", "sub01", "EP02_01f", 1), ("samm", "6", "006_1_2", 0)])
    assert main(argv[:6] + ["--annotation", str(two)]) == 0
    out = capsys.readouterr().out
    assert "  casme2     1: negative 0, positive 1, surprise 0\n  samm       1: negative 1, positive 0, surprise 0\n" \
           in out and "  smic " not in out


def test_check_data_long_videos(tmp_path, capsys):
    from .fakes_long import write_casme_sq, write_samm_long

    root = write_casme_sq(tmp_path / "c")
    assert main(["check-data", "casme-sq", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "videos      4 with frames on disk, 0 excluded (no frames), 1 without annotation" in out
    assert "fps         30 (4 videos)" in out
    assert f"frames      {root / 'rawpic'}\n" in out
    assert "micro      2 in 2 videos of 2 subjects" in out and "macro      5 in 3 videos" in out
    for check in ("offset_zero", "apex_unknown", "apex_outside", "beyond_video", "not_annotated", "bad_row"):
        assert check in out
    assert "subjects    2 (LOSO folds): s15 2, s16 2" in out
    # what mmnet train's spot then recognise would use: its folds are the subjects with a usable micro-expression
    assert "spot then recognise (`mmnet train`): 2 fold(s)" in out and "(micro-expressions: s15 1, s16 1)" in out
    assert "recognise   2 micro-expressions usable by scheme casme-sq-str: negative 1, positive 1, surprise 0" in out
    assert main(["check-data", "casme2-long", "--root", str(root), "--strict"]) == 1
    root = write_samm_long(tmp_path / "s")
    assert main(["check-data", "samm-long", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "fps         200 (3 videos)" in out and "1 excluded" in out and "fractional_frame" in out
    assert main(["check-data", "samm-long", "--root", str(root), "--variant", "HS"]) == 3  # not an option here


def test_check_data_only_options_say_what_training_uses(capsys):
    # --no-corrections has no training counterpart: said; --layout is training's data.layout: said too
    import pytest

    with pytest.raises(SystemExit):
        main(["check-data", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert help_text.count("check-data only") == 1
    assert "as `mmnet train`'s data.layout; default: the first present" in help_text
    assert "`mmnet train` always applies them" in help_text


def test_a_missing_source_of_labels_is_one_line(tmp_path, capsys):
    # a coding file without the Objective Classes column and no CASME2-ObjectiveClasses.xlsx: 14 "no objective
    # class: fill in the cell" lines and exit 0 with "0 of 14 used"
    root = write_casme2(tmp_path / "c", columns=9, junk=False)
    assert main(["check-data", "casme2", "--root", str(root), "--scheme", "casme2-objective"]) == 1
    out, err = capsys.readouterr()
    assert "fill in the cell" not in out
    assert ("    casme2: this coding file has no Objective Classes column; add CASME2-ObjectiveClasses.xlsx to the "
            "root (14 samples)\n") in out
    assert "error: none of the 14 annotated samples can be used for training" in err  # an error: on stderr
    assert main(["check-data", "casme2", "--root", str(root), "--scheme", "casme2-objective", "--json"]) == 1  # alike
    out, err = capsys.readouterr()
    assert json.loads(out)["used"] == [] and "none of the 14 annotated samples" in json.loads(out)["refused"]
    assert err == "error: none of the 14 annotated samples can be used for training\n"  # --json too, no blank line
    # SAMM Long Videos without the micro coding file: one line per micro-expression said "no label"
    assert main(["check-data", "samm-long", "--root", str(write_samm_long(tmp_path / "s", emotions=False))]) == 0
    out = capsys.readouterr().out
    assert "no label" not in out
    assert out.count("SAMM_Micro_FACS_Codes_v2.xlsx") == 1 and "put SAMM_Micro_FACS_Codes_v2.xlsx in the root" in out


def test_check_data_lists_every_recognition_problem(tmp_path, capsys):
    # check-data cut the list at 20 with "... and N more (`mmnet check-data` lists every one)"
    from .fakes_long import SAMM_LV_ROWS

    rows = list(SAMM_LV_ROWS) + [("006", f"006_1_{k}", 1, k, -1, k + 9, None, "Micro - 1/2", "4", None)
                                 for k in range(10, 40)]  # apex -1: not usable for recognition
    assert main(["check-data", "samm-long", "--root", str(write_samm_long(tmp_path / "s", rows))]) == 0
    out = capsys.readouterr().out
    assert "more (`mmnet check-data` lists every one)" not in out
    assert all(f"  - samm-long/006/006_1_{k}-{k + 9}: " in out for k in range(10, 40))


def test_a_missing_subject_folder_is_one_line(tmp_path, capsys):
    # a partial copy printed one clip_missing line per clip (226 on real CASME II with 23 subjects missing)
    import shutil

    root = write_casme2(tmp_path / "c", junk=False)
    shutil.rmtree(root / "Cropped" / "sub12")
    assert main(["check-data", "casme2", "--root", str(root), "--max-width", "400"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "clip_missing" in line and not line.startswith("problems")]
    assert len(lines) == 1 and lines[0].startswith("casme2/12 ")
    assert "subject folder sub12 missing in" in lines[0] and "its 2 clip(s) cannot be used" in lines[0]
    assert "clip_missing 2" in out  # every clip still counted


def test_casme2_3class_megc_on_the_2019_labels_names_the_relabelled_samples(tmp_path, capsys):
    # the 2019 coding file relabels 3 sub24 samples sadness -> surprise: MEGC2019 (2014 labels) left them out, and
    # casme2-3class-megc counted them as surprise without a word (150 samples, not MEGC's 145)
    relabelled = [("24", clip, 10, 15, 30, 1, "surprise", 6) for clip in ("EP07_01", "EP07_04f", "EP10_03")]
    root = write_casme2(tmp_path / "c", [*CASME2_ROWS[:2], *relabelled], junk=False)
    argv = ["check-data", "casme2", "--root", str(root), "--scheme", "casme2-3class-megc", "--max-width", "1000"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert ("scheme_release  scheme casme2-3class-megc follows MEGC2019, which used CASME2-coding-20140508.xlsx; "
            "this annotation is a later release: casme2/24/EP07_01, casme2/24/EP07_04f, casme2/24/EP10_03 are "
            "surprise here (counted as surprise), sadness there (not in the scheme)") in out
    assert main(argv[:4]) == 0  # the default scheme: its protocol used no other release
    assert "scheme_release" not in capsys.readouterr().out
    sadness = [(*r[:6], "sadness", r[7]) for r in relabelled]  # the 2014 labels: as MEGC2019
    root = write_casme2(tmp_path / "c2014", [*CASME2_ROWS[:2], *sadness], junk=False)
    assert main(["check-data", "casme2", "--root", str(root), "--scheme", "casme2-3class-megc"]) == 0
    assert "scheme_release" not in capsys.readouterr().out


def test_a_scheme_of_one_class_is_refused_on_stderr_and_in_the_json(tmp_path, capsys):
    # the refusal was printed on stdout; with --json it raised: no JSON, exit 3
    from mmnet import synth

    root = synth.write_dataset(tmp_path / "d", subjects=3, clips_per_subject=6, seed=0)
    one = "happiness=pos,others=-,disgust=-,surprise=-,repression=-"
    assert main(["check-data", "casme2", "--root", str(root), "--scheme", one]) == 1
    out, err = capsys.readouterr()
    assert "maps its labels to one class (pos)" in " ".join(err.split()) and err.startswith("error: ")
    assert "one class" not in out and "problems    0 error(s)" in out  # the report alone on stdout
    assert main(["check-data", "casme2", "--root", str(root), "--scheme", one, "--json"]) == 1
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["training_stops"] and data["scheme"] == one and "maps its labels to one class" in data["refused"]
    assert err.startswith("error: ") and "one class (pos)" in " ".join(err.split())


def test_skipping_every_sample_of_a_built_in_schemes_class_suggests_a_label_map_without_it(tmp_path, capsys):
    # it said "or train without it: choose a scheme without them"
    import shutil

    from mmnet import synth
    from mmnet.data import load_dataset, resolve_scheme

    root = synth.write_dataset(tmp_path / "d", subjects=3, clips_per_subject=6, seed=0)
    scheme = resolve_scheme("casme2-5class")
    gone = [s for s in load_dataset("casme2", root).samples if scheme.class_of(s) == "surprise"]
    assert gone
    for sample in gone:
        shutil.rmtree(sample.frames[0][1].parent)
    assert main(["check-data", "casme2", "--root", str(root), "--on-bad-sample", "skip"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    suggested = ("happiness=happiness, repression=repression, disgust=disgust, surprise=-, others=others, sadness=-, "
                 "fear=-")
    assert f"or train without it: a label map leaving its labels out, --scheme '{suggested}'." in err
    # the map suggested checks clean: the four classes left
    assert main(["check-data", "casme2", "--root", str(root), "--on-bad-sample", "skip", "--scheme", suggested,
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert not data["training_stops"] and data["refused"] is None
    assert {u["class"] for u in data["used"]} == {"happiness", "repression", "disgust", "others"}


def test_composite_json_gives_each_parts_samples_classes_and_folders(tmp_path, capsys):
    # the text listed each part's classes; --json had only the whole set's samples
    c, s, m = write_casme2(tmp_path / "c", junk=False), write_samm(tmp_path / "s"), write_smic(tmp_path / "m")
    gt = write_cde_csv(tmp_path / "gt.csv", [("casme2", "sub01", "EP02_01f", 1), ("samm", "6", "006_1_2", 0),
                                             ("smic", "s01", "s01_ne_01", 0)])
    argv = ["check-data", "composite", "--root", f"casme2={c}", "--root", f"samm={s}", "--root", f"smic={m}",
            "--annotation", str(gt), "--cache-dir", str(tmp_path / "cache"), "--json"]
    assert main(argv) == 0
    parts = json.loads(capsys.readouterr().out)["parts"]
    assert list(parts) == ["smic", "casme2", "samm"]  # MEGC2019's order, as the text and the report list them
    assert parts["casme2"]["classes"] == {"negative": 0, "positive": 1, "surprise": 0}
    assert parts["smic"]["classes"] == {"negative": 1, "positive": 0, "surprise": 0}
    assert all(p["samples"] == 1 and p["subjects"] == 1 for p in parts.values())
    assert parts["samm"]["root"] == str(s) and parts["samm"]["frames"].startswith(str(s))
    # a list without SMIC rows: SMIC's folder, though given, is not read and is no part
    two = write_cde_csv(tmp_path / "cs.csv", [("casme2", "sub01", "EP02_01f", 1), ("samm", "6", "006_1_2", 0)])
    assert main(argv[:8] + ["--annotation", str(two), "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)["parts"]) == ["casme2", "samm"]
    assert main(["check-data", "casme2", "--root", str(c), "--json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["parts"] is None
