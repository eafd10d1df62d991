"""`train-spotter --loso` resumes: finished folds are kept in MODEL.loso/ and reused by a rerun of the same command."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from mmnet.cli import main
from mmnet.spotting.config import spot_config
from mmnet.spotting.intervals import Interval
from mmnet.spotting.learned import LearnedSpotter
from mmnet.spotting.loso_records import FoldRecords, loso_settings

from .fakes_long import tiny_recordings

pytest.importorskip("cv2")
pytest.importorskip("torch")

SETS = ["--set", "face.mode=none", "--set", "face.width=80", "--set", "face.height=96", "--set", "learned.epochs=1"]


@pytest.fixture(scope="module")
def two_subjects(tmp_path_factory):
    # seed 2: both subjects have a micro- and a macro-expression, so each fold can train both networks
    return tiny_recordings(tmp_path_factory.mktemp("resume") / "set", subjects=2, minutes=0.25, seed=2)


def _train(root, model, *extra) -> int:
    return main(["train-spotter", "casme-sq", "--root", str(root), "--out", str(model), "--loso", *SETS, *extra,
                 "--no-progress"])


def _without_timings(path) -> dict:
    data = json.loads(path.read_text())
    data.pop("time_s")
    return data


@pytest.mark.slow
def test_interrupted_loso_resumes_with_the_same_result_and_reuses_finished_folds(two_subjects, tmp_path, capsys,
                                                                                   monkeypatch):
    root, load = two_subjects
    subject_of = {v.video: v.subject for v in load.videos}
    assert _train(root, tmp_path / "ref" / "spotter.pt") == 0
    reference = _without_timings(tmp_path / "ref" / "spotter.pt.loso.json")
    capsys.readouterr()

    spot, fit = LearnedSpotter.spot, LearnedSpotter.fit_collected
    spotted, fits = [], []

    def crash_in_second_fold(self, video, **kw):
        spotted.append(subject_of[video.video])
        if subject_of[video.video] == "s16":
            raise RuntimeError("simulated crash in the second fold")
        return spot(self, video, **kw)

    monkeypatch.setattr(LearnedSpotter, "spot", crash_in_second_fold)
    model = tmp_path / "run" / "spotter.pt"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _train(root, model)
    records = model.with_name("spotter.pt.loso")
    assert sorted(p.name for p in records.iterdir()) == ["s15.json"]  # the finished fold, and no half file
    assert not model.with_name("spotter.pt.loso.json").exists()

    def counting_spot(self, video, **kw):
        spotted.append(subject_of[video.video])
        return spot(self, video, **kw)

    def counting_fit(self, parts, **kw):
        fits.append(len(parts))
        return fit(self, parts, **kw)

    spotted.clear()
    monkeypatch.setattr(LearnedSpotter, "spot", counting_spot)
    monkeypatch.setattr(LearnedSpotter, "fit_collected", counting_fit)
    capsys.readouterr()
    assert _train(root, model) == 0
    assert "1 of 2 folds reused" in capsys.readouterr().err
    assert spotted == ["s16"]  # s15's fold is not computed again
    assert fits == [1, 2]  # the s16 fold (trained on s15), then the final fit on both videos
    assert _without_timings(model.with_name("spotter.pt.loso.json")) == reference
    assert sorted(p.name for p in records.iterdir()) == ["s15.json", "s16.json"]

    # changed settings: the records are not reused, and the line says so
    spotted.clear()
    monkeypatch.setattr(LearnedSpotter, "spot", crash_in_second_fold)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _train(root, model, "--seed", "1")
    err = capsys.readouterr().err
    assert "2 fold record(s)" in err and "seed differ" in err and "not reused" in err
    assert spotted == ["s15", "s16"]  # the first fold was computed again, with the new seed
    assert json.loads((records / "s15.json").read_text())["settings"]["seed"] == 1


def test_fold_records_are_reused_only_with_the_same_settings_and_data(two_subjects, tmp_path):
    root, load = two_subjects
    config = spot_config("casme2", ["method=learned", "face.mode=none"])
    settings = loso_settings("casme-sq", load, config, seed=0, device="cpu")
    folder = tmp_path / "spotter.pt.loso"
    interval = Interval(10, 12, 20, "macro", score=0.123456789012345)  # kept at full precision
    FoldRecords(folder, settings).put({"subject": "s15", "videos": ["15_0101"], "fit": {"videos": 1}},
                                      {"15_0101": [interval]}, {"fit": 1.0, "spot": 1.0})
    same = FoldRecords(folder, loso_settings("casme-sq", load, config, seed=0, device="cpu"))
    record = same.get("s15")
    assert record["predictions"] == {"15_0101": [interval]} and record["fit"] == {"videos": 1}
    assert same.get("s16") is None and not same.stale
    assert "1 of 2 folds reused" in same.summary(["s15", "s16"])
    elsewhere = tmp_path / "elsewhere"  # the same recordings copied to another folder (a cluster's mount)
    shutil.copytree(root, elsewhere)
    copied = type(load)([dataclasses.replace(v, path=elsewhere / Path(v.path).relative_to(root)) for v in load.videos],
                        [])
    assert loso_settings("casme-sq", copied, config, seed=0, device="cpu") == settings

    changed = {
        "config": loso_settings("casme-sq", load, spot_config("casme2", ["method=learned", "learned.epochs=3"]),
                                seed=0, device="cpu"),
        "seed": loso_settings("casme-sq", load, config, seed=1, device="cpu"),
        "device": loso_settings("casme-sq", load, config, seed=0, device="cuda:0"),
    }
    video = load.videos[0]  # the data: one ground-truth interval moved by a frame
    moved = type(load)([type(video)(video.dataset, video.subject, video.video, video.fps, video.path, video.frames,
                                    (Interval(video.intervals[0].onset + 1, None, video.intervals[0].offset,
                                              video.intervals[0].type), *video.intervals[1:])),
                        *load.videos[1:]], [])
    changed["data"] = loso_settings("casme-sq", moved, config, seed=0, device="cpu")
    for key, other in changed.items():
        records = FoldRecords(folder, other)
        assert records.get("s15") is None, key
        assert records.stale == {"s15.json": [key]}
        line = records.summary(["s15", "s16"])
        assert f"({key} differ)" in line and "not reused" in line


def test_help_says_loso_resumes_and_where_the_records_are(capsys):
    with pytest.raises(SystemExit):
        main(["train-spotter", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "MODEL.loso/" in text and "resumes" in text
    # --root had the composite's text (PART=DIR), which no long-video dataset takes
    assert "--root DIR the dataset's folder" in text and "composite" not in text and "PART=DIR" not in text


def test_a_fold_is_timed_once_for_its_record_and_the_totals(tmp_path, monkeypatch):
    # the fold record's seconds and the run's totals read the clock apart, so they disagreed
    from itertools import count
    from types import SimpleNamespace

    from mmnet.data import load_dataset
    from mmnet.spotting import loso

    from .fakes_long import write_casme3_long

    load = load_dataset("casme3-long", write_casme3_long(tmp_path / "c3", long=None))

    class Stub:  # nothing to fit; one micro-expression in every recording
        _aligner = None
        fold_independent = True  # nothing to fit: LOSO fits only a spotter that learns

        def spot(self, video, progress=False):
            return SimpleNamespace(intervals=[Interval(1, 2, 3, "micro", score=1.0)])

    readings = count()
    monkeypatch.setattr(loso, "make_spotter", lambda *a, **k: Stub())
    monkeypatch.setattr(loso, "time", SimpleNamespace(perf_counter=lambda: float(next(readings))))  # 1 s a reading
    records = FoldRecords(tmp_path / "spotter.pt.loso", {"seed": 0})
    out = loso.loso_spotting(load, spot_config("casme3"), records=records)
    folds = [json.loads(p.read_text())["time_s"] for p in sorted(records.folder.glob("*.json"))]
    assert len(folds) == out["subjects"] >= 2
    assert sum(f["fit"] for f in folds) == out["time_s"]["fit"] > 0
    assert sum(f["spot"] for f in folds) == out["time_s"]["spot"] > 0


def test_a_held_out_videos_notes_reach_the_loso_table_and_survive_a_resume(tmp_path, monkeypatch):
    # a truncated video's note ("decoded 225 of 450 frames") was dropped by the LOSO: only the intervals were kept
    from types import SimpleNamespace

    from mmnet.commands.train_spotter import format_loso
    from mmnet.data import load_dataset
    from mmnet.spotting import loso

    from .fakes_long import write_casme3_long

    load = load_dataset("casme3-long", write_casme3_long(tmp_path / "c3", long=None))
    cut = load.videos[0].video
    note = f"{cut}.avi: decoded 225 of 450 frames: the file may be truncated; re-encode or copy it again"

    class Stub:
        _aligner = None
        fold_independent = True  # nothing to fit: LOSO fits only a spotter that learns

        def spot(self, video, progress=False):
            return SimpleNamespace(intervals=[Interval(1, 2, 3, "micro", score=1.0)],
                                   notes=[note] if video.video == cut else [])

    monkeypatch.setattr(loso, "make_spotter", lambda *a, **k: Stub())
    records = FoldRecords(tmp_path / "spotter.pt.loso", {"seed": 0})
    out = loso.loso_spotting(load, spot_config("casme3"), records=records)
    assert out["notes"] == {cut: [note]}
    assert f"note: {cut}: {note}" in format_loso(out)
    resumed = loso.loso_spotting(load, spot_config("casme3"), records=FoldRecords(records.folder, {"seed": 0}))
    assert resumed["notes"] == {cut: [note]}


def test_train_spotter_takes_the_annotation_its_missing_workbook_message_names(tmp_path, capsys, monkeypatch):
    # the message for a missing workbook said "(or pass --annotation FILE)", an option train-spotter did not have
    from types import SimpleNamespace

    from mmnet.spotting import spotters

    from .fakes_long import CASME_SQ_ROWS, write_casme_sq

    root = write_casme_sq(tmp_path / "CASME_sq", CASME_SQ_ROWS[:7], name="codes renamed.xlsx")  # no bad rows
    seen = []
    monkeypatch.setattr(spotters, "make_spotter", lambda config, **kw: SimpleNamespace(
        fit=lambda videos, types=("micro", "macro"), progress=False: seen.append(len(videos)) or {},
        save=lambda path: Path(path).write_bytes(b"")))
    args = ["train-spotter", "casme-sq", "--root", str(root), "--out", str(tmp_path / "spotter.pt"), "--no-progress"]
    assert main(args) != 0
    assert "--annotation FILE" in capsys.readouterr().err
    assert main([*args, "--annotation", str(root / "codes renamed.xlsx")]) == 0
    assert seen and seen[0] > 0


def test_train_spotter_loso_writes_the_megc_files_beside_its_json(tmp_path, capsys, monkeypatch):
    # --loso wrote only MODEL.loso.json, while the demo and `mmnet train` also write the MEGC2020 log and CSV
    from types import SimpleNamespace

    from mmnet.spotting import loso, spotters
    from mmnet.spotting.megc_files import read_megc2020_log, read_spotting_csv

    from .fakes_long import write_casme3_long

    root = write_casme3_long(tmp_path / "c3", long=None)  # label file alone: micro-expressions only

    class Stub:
        _aligner = None
        fold_independent = True  # nothing to fit: LOSO fits only a spotter that learns

        def spot(self, video, progress=False):
            return SimpleNamespace(intervals=[Interval(1, 2, 3, "micro", score=1.0),
                                              Interval(5, 9, 20, "macro", score=1.0)])

    monkeypatch.setattr(loso, "make_spotter", lambda *a, **k: Stub())
    monkeypatch.setattr(spotters, "make_spotter", lambda config, **kw: SimpleNamespace(
        fit=lambda videos, types=("micro", "macro"), progress=False: {}, save=lambda path: Path(path).write_bytes(b"")))
    model = tmp_path / "spotter.pt"
    assert main(["train-spotter", "casme3-long", "--root", str(root), "--out", str(model), "--loso",
                 "--set", "method=flow", "--no-progress"]) == 0
    saved = json.loads(model.with_name("spotter.pt.loso.json").read_text())
    log = read_megc2020_log(model.with_name("spotter.pt.loso.megc2020_log.txt"))
    assert {line.dataset for line in log} == {3} and log
    assert sum(line.outcome == "FP" for line in log) == saved["counts"]["micro"]["fp"] > 0
    spots = read_spotting_csv(model.with_name("spotter.pt.loso.spotting.csv"))
    assert set(spots) == set(saved["predictions"])
    assert {i.type for v in spots.values() for i in v} == {"micro"}  # macro is not annotated, so not scored
    printed = capsys.readouterr()
    assert "spotter.pt.loso.megc2020_log.txt" in printed.out
    # the fold count is progress, on stderr: stdout holds the results a script reads
    assert "folds to compute" in printed.err and "folds to compute" not in printed.out


def test_subjects_differing_only_in_case_are_refused_before_any_fold_naming_both(tmp_path, monkeypatch):
    # 's01.json' and 'S01.json' are one file on macOS and Windows: one fold's record replaced the other's
    from mmnet.data import load_dataset
    from mmnet.errors import ConfigError
    from mmnet.spotting import loso

    from .fakes_long import write_casme3_long

    load = load_dataset("casme3-long", write_casme3_long(tmp_path / "c3", long=None))
    other = load.videos[-1].subject
    assert other != other.upper()
    load.videos[:] = [dataclasses.replace(v, subject=other.upper()) if v.subject != other else v for v in load.videos]
    spotted = []
    monkeypatch.setattr(loso, "make_spotter", lambda *a, **k: spotted.append(1))
    records = FoldRecords(tmp_path / "spotter.pt.loso", {"seed": 0})
    with pytest.raises(ConfigError) as err:
        loso.loso_spotting(load, spot_config("casme3"), records=records)
    said = str(err.value)
    assert f"{other.upper()!r} and {other!r}" in said and "ignores letter case" in said and "rename one" in said
    assert not spotted and not records.folder.exists()
    records.check_names(["s01", "s02", "张三", "李四"])  # no error
