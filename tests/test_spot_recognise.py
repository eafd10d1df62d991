"""Spot then recognise through `mmnet train` on a long-video dataset (docs/spotting.md)."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import pytest

from mmnet.choices import LONG_VIDEO_DATASETS
from mmnet.cli import main

from .fakes_long import CASME_SQ_ROWS, write_casme_sq, write_samm_long


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_long_video_intervals_become_clip_samples(tmp_path):
    from mmnet.data import get_scheme, load_dataset
    from mmnet.data.cache import frame_windows
    from mmnet.data.long_clips import long_video_clips
    from mmnet.data.usage import plan_usage
    from mmnet.errors import DataError

    # one more micro-expression in 15_0401, wholly past its 60 frames on disk
    rows = list(CASME_SQ_ROWS) + [(1, "anger1_4", 100, 104, 110, 4, "negative", "micro-expression", "anger")]
    long = load_dataset("casme-sq", write_casme_sq(tmp_path / "sq", rows))
    load = long_video_clips(long)
    micro = [(v, i) for v in long.videos + long.excluded for i in v.of_type("micro")]
    assert len(load.samples) + len(load.excluded) == len(micro) == 3  # nothing dropped
    by_id = {s.sample_id: s for s in load.samples}
    assert set(by_id) == {"casme-sq/s15/15_0401_30-38", "casme-sq/s16/16_0502_5-12"}
    s = by_id["casme-sq/s15/15_0401_30-38"]
    assert (s.subject, s.onset, s.apex, s.offset, s.label) == ("s15", 30, 33, 38, "negative")
    assert s.frame_numbers == list(range(30, 39)) and all(p.is_file() for _, p in s.frames)
    assert s.frame_path(33).name == "img33.jpg" and s.extra["video"] == "15_0401"
    assert by_id["casme-sq/s16/16_0502_5-12"].frame_path(5).name == "img5.jpg"
    # the interval outside the frames: excluded, an error naming it, a problem for training
    (gone,) = load.excluded
    assert gone.sample_id == "casme-sq/s15/15_0401_100-110"
    assert any(i.sample_id == gone.sample_id and i.check == "no_frames" for i in load.errors)
    usage = plan_usage(load, get_scheme("casme-sq-str"), "error")
    assert sorted(s.sample_id for s, _ in usage.used) == sorted(by_id)
    assert "outside the frames on disk" in dict(usage.problems)[gone.sample_id]  # the loader's issue, by name
    assert not [sid for sid, _ in usage.problems if sid == "casme-sq/s15/15_0401"]  # not keyed by its recording

    # SAMM Long Videos: the emotion comes from the micro coding file; an apex -1 is named when training
    samm = long_video_clips(load_dataset("samm-long", write_samm_long(tmp_path / "samm")))
    labels = {s.sample_id: s.label for s in samm.samples}
    assert labels == {"samm-long/006/006_1_40-50": "anger", "samm-long/007/007_2_5-15": ""}
    problems = dict(plan_usage(samm, get_scheme("samm-long-str"), "error").problems)
    assert "no label" in problems["samm-long/007/007_2_5-15"]  # not in the emotion file: named, not dropped
    (no_apex,) = [s for s in samm.samples if s.apex is None]
    with pytest.raises(DataError, match=no_apex.sample_id):
        frame_windows(no_apex, 0.15, clamp=False)


def test_spotting_section_is_checked_when_the_run_starts(tmp_path):
    from mmnet.config import load_config
    from mmnet.errors import ConfigError
    from mmnet.train.spot_recognise import spot_settings

    cfg = load_config(None, ["data.dataset=samm-long", "spotting.overrides=[micro.p=0.2]"])
    spot = spot_settings(cfg)
    assert spot.preset == "samm" and spot.micro.p == 0.2 and spot.micro.k == 37
    with pytest.raises(ConfigError, match="micro.nope"):
        spot_settings(load_config(None, ["data.dataset=casme-sq", "spotting.overrides=[micro.nope=1]"]))
    with pytest.raises(ConfigError, match="loso"):
        spot_settings(load_config(None, ["data.dataset=casme-sq", "data.protocol=lodo"]))


@pytest.mark.parametrize("dataset", sorted(LONG_VIDEO_DATASETS))
def test_train_spotter_and_train_give_a_dataset_the_same_preset(dataset, tmp_path, monkeypatch):
    # train-spotter casme3-long took the casme2 preset while `mmnet train` took casme3
    from mmnet.config import load_config
    from mmnet.spotting import config as spotting_config
    from mmnet.train.spot_recognise import spot_settings

    chosen = []

    def record(preset, overrides=None):
        chosen.append(preset)
        raise SystemExit(9)  # stop before any data is read

    train_preset = spot_settings(load_config(None, [f"data.dataset={dataset}"])).preset
    monkeypatch.setattr(spotting_config, "spot_config", record)
    with pytest.raises(SystemExit):
        main(["train-spotter", dataset, "--root", str(tmp_path), "--out", str(tmp_path / "s.pt"), "--no-progress"])
    assert chosen == [train_preset] and train_preset == spotting_config.DATASET_PRESETS[dataset]


def test_make_spotter_gives_the_flow_spotter():
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.learned import FlowSpotter
    from mmnet.spotting.spotters import make_spotter

    spotter = make_spotter(spot_config("casme2"), seed=3, device="cpu")
    assert isinstance(spotter, FlowSpotter) and spotter.fold_independent and spotter.fit([]) == {}


@pytest.mark.slow
def test_train_spots_and_recognises_every_fold_and_resumes(tmp_path, capsys, monkeypatch):
    root, out = tmp_path / "long", tmp_path / "run"
    # seed 7: two subjects with a micro-expression of three classes (training needs two classes or more)
    assert main(["synth", str(root), "--long", "--subjects", "3", "--minutes", "0.25", "--size", "160", "128",
                 "--seed", "7"]) == 0
    args = ["train", "--dataset", "casme-sq", "--root", str(root), "--out", str(out), "--device", "cpu",
            "--no-progress", "--set", "train.epochs=1", "--set", "data.image_size=32", "--set", "train.batch_size=4",
            "--set", f"data.cache_dir={tmp_path / 'cache'}", "--set", "spotting.overrides=[face.mode=none]"]

    # an interruption while the second fold's recordings are recognised
    from mmnet.infer.predictor import Predictor

    real, calls = Predictor.from_checkpoint.__func__, []

    def interrupted(cls, path, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(cls, path, **kwargs)

    monkeypatch.setattr(Predictor, "from_checkpoint", classmethod(interrupted))
    from mmnet.cli import EXIT_INTERRUPTED

    assert main(args) == EXIT_INTERRUPTED
    monkeypatch.undo()
    folds = sorted(out.glob("seed-0/fold-*"))
    assert len(folds) == 2 and all((f / "done.json").is_file() for f in folds)
    finished = [f for f in folds if (f / "spots.csv").is_file()]
    assert len(finished) == 1
    kept = (finished[0] / "spots.csv").stat().st_mtime_ns
    cached = {p.name: p.stat().st_mtime_ns for p in (out / "spotting").glob("*.json")}
    capsys.readouterr()

    assert main(args) == 0  # resumes: only the unspotted fold
    printed, err = capsys.readouterr()
    assert "2/2 folds trained; spotting and recognition of 1 fold(s) left" in err and "[spots 1/1]" in err
    assert "already finished" not in err and "rebuilding the report" not in err
    assert (finished[0] / "spots.csv").stat().st_mtime_ns == kept
    videos = _rows(out / "videos.csv")
    assert {v["video"] for v in videos} == {"15_0101", "16_0101", "19_0101"}
    assert {p.name: p.stat().st_mtime_ns for p in (out / "spotting").glob("*.json")
            if p.name in cached} == cached  # spotted once, reused
    assert len(list((out / "spotting").glob("*.json"))) == 3
    for fold in folds:
        rows = _rows(fold / "spots.csv")
        # one p_<class> column per class, as intervals.csv (the probabilities were packed in one text cell)
        assert list(rows[0]) == ["video", "subject", "onset", "apex", "offset", "type", "score", "label",
                                 "p_negative", "p_positive", "p_surprise"]
        mine = {v["video"] for v in videos if "fold-" + v["fold"].replace("/", "_") == fold.name}
        assert {r["video"] for r in rows} <= mine
        for r in rows:
            assert int(r["onset"]) <= int(r["apex"]) <= int(r["offset"])
            if r["type"] == "micro" and r["onset"] != r["apex"]:
                assert r["label"] in ("negative", "positive", "surprise")
                total = sum(float(r[f"p_{c}"]) for c in ("negative", "positive", "surprise"))
                assert total == pytest.approx(1, abs=1e-5)  # 6 decimals each
            else:  # a macro interval, or a micro one whose onset is its apex (zero motion): not classified
                assert r["label"] == "" and r["p_negative"] == r["p_positive"] == r["p_surprise"] == ""

    md = (out / "report.md").read_text()
    for heading in ("# MMNet LOSO report", "## Spot then recognise", "### Spotting", "### STR", "### Timelines"):
        assert heading in md
    assert "| 0 | micro |" in md and "| 0 | overall |" in md
    for v in videos:
        assert (out / "timelines" / f"{v['video']}.png").is_file() and f"timelines/{v['video']}.png" in md
    for name in ("megc2020_log.txt", "spotting.csv", "str.csv"):
        assert (out / "megc" / "seed-0" / name).is_file()
    # MEGC2023's spotting layout and the scores, which order the matching (score-spots then gives the report's table)
    assert (out / "megc" / "seed-0" / "spotting.csv").read_text().splitlines()[0] == "vid,onset,offset,type,score"
    import json

    section = json.loads((out / "report.json").read_text())["spot_then_recognise"]
    assert section["complete"] and section["per_seed"][0]["recordings"] == 3
    truth = _rows(out / "truth.csv")
    counts = section["per_seed"][0]["spotting"]
    assert counts["micro"]["tp"] + counts["micro"]["fn"] == sum(t["type"] == "micro" for t in truth)
    spotted = sum(len(_rows(f / "spots.csv")) for f in folds)
    assert counts["overall"]["tp"] + counts["overall"]["fp"] == spotted
    # the terminal gives the run's spotting and STR scores too, not only the table of annotated clips
    strs = section["per_seed"][0]["str"]["strs"]
    assert f"seed 0: spotting F1 micro {counts['micro']['f1']:.4f}" in printed
    assert f"STRS {strs:.4f}" in printed and "'Spot then recognise'" in printed

    assert main(args) == 0  # a rerun: nothing to do
    err = capsys.readouterr().err
    assert "2/2 folds already finished" in err and "[spots" not in err
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").read_text() == md


def test_a_run_from_before_the_spotting_section_still_resumes(tmp_path):
    import yaml

    from mmnet import synth
    from mmnet.config import load_config
    from mmnet.errors import ConfigError
    from mmnet.train.prepare import prepare_run

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    base = [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", "data.image_size=32"]
    out = tmp_path / "run"
    prepare_run(load_config(None, base), out, progress=False)
    saved = yaml.safe_load((out / "config.yaml").read_text())
    del saved["spotting"]  # as written before the section existed
    (out / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    (out / "seed-0" / "fold-x").mkdir(parents=True)
    (out / "seed-0" / "fold-x" / "history.csv").write_text("epoch\n1\n")  # an epoch has finished
    prepare_run(load_config(None, base), out, progress=False)  # the same run: resumes
    with pytest.raises(ConfigError, match="spotting.preset"):
        prepare_run(load_config(None, [*base, "spotting.preset=samm"]), out, progress=False)


def test_str_section_scores_a_crafted_run_folder(tmp_path):
    from mmnet import run_folder as rf
    from mmnet.report.str_report import str_section

    run = tmp_path / "run"
    rf.write_csv(run / rf.TRUTH, rf.TRUTH_COLUMNS, [
        ["A", "s1", 10, 15, 20, "micro", "positive", "positive"],
        ["A", "s1", 40, 45, 50, "micro", "negative", "negative"],
        ["A", "s1", 100, 120, 150, "macro", "negative", ""],
        ["B", "s2", 5, 8, 12, "micro", "others", ""],
    ])
    rf.write_csv(run / rf.VIDEOS, rf.VIDEOS_COLUMNS, [["A", "s1", "d/s1", 30, 1, 200, 200],
                                                      ["B", "s2", "d/s2", 30, 1, 100, 100],
                                                      ["C", "s3", "d/s2", 30, 1, 100, 100]])
    fold = rf.fold_path(run, 0, "d/s1")
    rf.write_csv(fold / rf.SPOTS, rf.spots_columns(["negative", "positive", "surprise"]), [
        ["A", "s1", 10, 15, 20, "micro", 3.0, "positive", 0.1, 0.8, 0.1],  # TP, right
        ["A", "s1", 41, 45, 50, "micro", 2.0, "positive", 0.2, 0.7, 0.1],  # TP, wrong
        ["A", "s1", 70, 72, 75, "micro", 1.0, "surprise", 0.2, 0.2, 0.6],  # FP
    ])
    config = {"data": {"dataset": "casme-sq", "classes": ["negative", "positive", "surprise"]}, "seeds": [0],
              "spotting": {"preset": None, "overrides": []}}
    section = str_section(run, {"config": config})
    s = section.summary
    assert not s["complete"] and s["unspotted_folds"] == ["seed 0 fold d/s2"]  # fold d/s2 has no spots.csv yet
    (e,) = s["per_seed"]
    assert e["recordings"] == 1 and e["truth"] == {"micro": 2, "macro": 1}  # only the spotted fold's recordings
    assert {k: (c["tp"], c["fp"], c["fn"]) for k, c in e["spotting"].items()} == {
        "micro": (2, 1, 0), "macro": (0, 0, 1), "overall": (2, 1, 1)}
    r = e["str"]
    assert r["spotting_f1"] == pytest.approx(0.8) and r["pairs"] == 2 and r["accuracy"] == 0.5
    # positive: P 1/2, R 1; negative: P 0, R 0; surprise: no pair (left out). P 1/4, R 1/2 -> F1 1/3
    assert r["analysis_f1"] == pytest.approx(1 / 3) and r["uf1"] == pytest.approx(1 / 3)
    assert r["strs"] == pytest.approx(0.8 / 3) and r["classes_left_out"] == ["surprise"]
    # the means' classes are printed, and STRS-Metric's rule beside: surprise as P = R = 0, P 1/6, R 1/3 -> 2/9
    assert r["classes_averaged"] == ["negative", "positive"]
    z = r["strs_metric"]
    assert z["analysis_f1"] == pytest.approx(2 / 9) and z["strs"] == pytest.approx(1.6 / 9)
    assert z["classes_zeroed"] == ["surprise"]
    md = section.markdown
    assert "analysis F1 over classes with pairs (MEGC evaluator)" in md and "over every class (STRS-Metric)" in md
    assert "| 0.3333 | 0.2667 | 0.2222 | 0.1778 |" in md
    assert "Seed 0: analysis over negative, positive; left out (no pair): surprise; STRS-Metric counts as P = R = 0: " \
           "surprise." in md
    assert "PARTIAL" in section.markdown and "| 0 | micro | 2 | 2 | 1 | 0 |" in section.markdown
    assert set(section.images) == {"timelines/A.png"}
    assert section.images["timelines/A.png"][:4] == b"\x89PNG"
    log = section.texts["megc/seed-0/megc2020_log.txt"]
    assert log.splitlines()[0].strip() == "2" and log.count("TP") == 2
    assert section.texts["megc/seed-0/str.csv"].splitlines()[1] == "s1,A,10,20,positive"

    # a fold spotted by an earlier version (a run resumed after an upgrade): the probabilities packed in one cell
    rf.write_csv(rf.fold_path(run, 0, "d/s2") / rf.SPOTS, rf.SPOTS_PACKED_COLUMNS, [
        ["B", "s2", 5, 8, 12, "micro", 1.0, "negative", "negative=0.9;positive=0.05;surprise=0.05"]])
    s = str_section(run, {"config": config}).summary
    assert s["complete"] and s["per_seed"][0]["recordings"] == 3
    assert s["per_seed"][0]["str"]["pairs"] == 2  # B's match has truth 'others': not a scored class


def test_console_notes_say_which_classes_the_str_means_are_over():
    from mmnet.report.render import _str_notes

    r = {"strs": 0.8 / 3, "classes_averaged": ["negative", "positive"], "classes_left_out": ["surprise"],
         "strs_metric": {"strs": 1.6 / 9, "classes_zeroed": ["surprise"]}}
    notes = "\n".join(_str_notes({"per_seed": [{"seed": 0, "spotting": {"micro": {"f1": 0.8}}, "str": r}]}))
    assert "STRS 0.2667 (MEGC evaluator, STRS-Metric 0.1778)" in notes
    assert "analysis over negative, positive; left out (no pair): surprise" in notes
    old = {"strs": 0.5, "classes_left_out": ["surprise"]}  # a report.json written before the STRS-Metric figures
    notes = "\n".join(_str_notes({"per_seed": [{"seed": 0, "spotting": {}, "str": old}]}))
    assert "STRS 0.5000 (MEGC evaluator)" in notes and "left out (no pair): surprise" in notes


def test_spots_csv_has_a_p_column_per_class_and_reads_back_in_either_layout(tmp_path):
    # spots.csv packed the probabilities into one text cell ("negative=0.000003;positive=0.048071;..."), while
    # intervals.csv of `mmnet spot` has a p_<class> column per class: an analyst had to split the cell
    from mmnet import run_folder as rf
    from mmnet.errors import DataError
    from mmnet.report.str_report import _spots
    from mmnet.spotting.intervals import Interval
    from mmnet.train.spot_recognise import _spots_rows

    classes = ["negative", "positive", "surprise"]
    video = SimpleNamespace(video="15_0101", subject="s15")
    spotted = [Interval(10, 14, 20, "micro", "positive", 0.5066041929854287,
                        probabilities={"negative": 0.000003, "positive": 0.948071, "surprise": 0.051926}),
               Interval(30, 30, 34, "micro", None, 0.25), Interval(50, None, 90, "macro", None, 1.0)]
    path = tmp_path / "spots.csv"
    rf.write_csv(path, rf.spots_columns(classes), _spots_rows(video, spotted, classes))
    assert path.read_text().splitlines() == [
        "video,subject,onset,apex,offset,type,score,label,p_negative,p_positive,p_surprise",
        "15_0101,s15,10,14,20,micro,0.506604,positive,0.000003,0.948071,0.051926",
        "15_0101,s15,30,30,34,micro,0.250000,,,,",  # not classified: empty label and p_ cells
        "15_0101,s15,50,,90,macro,1.000000,,,,"]
    back = _spots(path)["15_0101"]
    assert back[0].probabilities == {"negative": 0.000003, "positive": 0.948071, "surprise": 0.051926}
    assert back[1].probabilities is None and back[2].probabilities is None and back[0].label == "positive"
    # a fold spotted by an earlier version, read back the same
    rf.write_csv(path, rf.SPOTS_PACKED_COLUMNS, [["15_0101", "s15", 10, 14, 20, "micro", "0.506604", "positive",
                                                  "negative=0.000003;positive=0.948071;surprise=0.051926"]])
    assert _spots(path)["15_0101"][0].probabilities == back[0].probabilities
    rf.write_csv(path, (*rf.SPOTS_COLUMNS, "probability"), [])
    with pytest.raises(DataError, match="p_<class> column per class"):
        _spots(path)


def test_micro_only_annotation_scores_micro_only(tmp_path):
    """A run whose annotation covers micro-expressions only (truth_types.txt) scores no spotted macro interval."""
    from mmnet import run_folder as rf
    from mmnet.report.str_report import str_section

    run = tmp_path / "run"
    rf.write_csv(run / rf.TRUTH, rf.TRUTH_COLUMNS, [["A", "s1", 10, 15, 20, "micro", "happy", "positive"]])
    rf.write_csv(run / rf.VIDEOS, rf.VIDEOS_COLUMNS, [["A", "s1", "d/s1", 30, 1, 200, 200]])
    rf.write_csv(rf.fold_path(run, 0, "d/s1") / rf.SPOTS, rf.spots_columns(["negative", "positive", "surprise"]), [
        ["A", "s1", 10, 15, 20, "micro", 3.0, "positive", 0.1, 0.8, 0.1],
        ["A", "s1", 100, 120, 150, "macro", 2.0, "", "", "", ""],  # spotted; the annotation has no macro-expressions
    ])
    config = {"data": {"dataset": "casme3-long", "classes": ["negative", "positive", "surprise"]}, "seeds": [0],
              "spotting": {"preset": None, "overrides": []}}
    both = str_section(run, {"config": config}).summary["per_seed"][0]  # no truth_types.txt: both types scored
    assert both["spotting"]["macro"]["fp"] == 1 and both["spotting"]["overall"]["fp"] == 1
    (run / rf.TRUTH_TYPES).write_text("micro\n")
    section = str_section(run, {"config": config})
    s = section.summary
    assert s["types"] == ["micro"]
    (e,) = s["per_seed"]
    assert e["truth"] == {"micro": 1}
    assert {k: (c["tp"], c["fp"], c["fn"]) for k, c in e["spotting"].items()} == {"micro": (1, 0, 0),
                                                                                   "overall": (1, 0, 0)}
    assert "| 0 | macro |" not in section.markdown and "no macro-expressions" in section.markdown
    assert "mae" not in section.texts["megc/seed-0/spotting.csv"]
    # the MEGC2020 log: MEGC numbers only SAMM-LV (1) and CAS(ME)^2 (2); CAS(ME)^3 gets mmnet's 3, read back as such
    from mmnet.spotting.megc_files import DATASET_NUMBERS, read_megc2020_log

    known = {"samm-long": 1, "casme-sq": 2, "casme2-long": 2, "casme3-long": 3}  # MEGC's (and mmnet's 3)
    assert {name: DATASET_NUMBERS[name] for name in known} == known
    log = section.texts["megc/seed-0/megc2020_log.txt"]
    assert log.splitlines()[0].strip() == "3"
    (tmp_path / "log.txt").write_text(log)
    (line,) = read_megc2020_log(tmp_path / "log.txt")
    assert (line.dataset, line.video, line.truth_onset, line.pred_onset, line.outcome) == (3, "A", 10, 10, "TP")
    (run / rf.TRUTH_TYPES).write_text("micro\nmega\n")
    from mmnet.errors import DataError

    with pytest.raises(DataError, match="truth_types.txt"):
        str_section(run, {"config": config})


def test_casme3_long_run_files_say_micro_only(tmp_path):
    from mmnet.config import load_config
    from mmnet.data import get_scheme, load_dataset
    from mmnet.train.spot_recognise import spot_settings, write_long_files

    from .fakes_long import write_casme3_long

    assert spot_settings(load_config(None, ["data.dataset=casme3-long"])).preset == "casme3"
    load = load_dataset("casme3-long", write_casme3_long(tmp_path / "c3", long=None))  # the label file alone
    assert load.types == ("micro",)
    folds = [("casme3-long/spNO.1", None, None), ("casme3-long/spNO.216", None, None)]
    write_long_files(tmp_path / "run", load, get_scheme("casme3-4class"), folds)
    assert (tmp_path / "run" / "truth_types.txt").read_text() == "micro\n"
    full = load_dataset("casme3-long", write_casme3_long(tmp_path / "c3full"))
    write_long_files(tmp_path / "run2", full, get_scheme("casme3-4class"), folds)
    assert (tmp_path / "run2" / "truth_types.txt").read_text() == "micro\nmacro\n"


def test_loso_scores_only_the_annotated_types(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from mmnet.data import load_dataset
    from mmnet.spotting import loso
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.intervals import Interval

    from .fakes_long import write_casme3_long

    load = load_dataset("casme3-long", write_casme3_long(tmp_path / "c3", long=None))

    class Stub:  # spots one micro and one macro interval in every recording
        _aligner = None
        fold_independent = True  # nothing to fit: LOSO fits only a spotter that learns

        def spot(self, video, progress=False):
            return SimpleNamespace(intervals=[Interval(1, 2, 3, "micro", score=1.0),
                                              Interval(4, 8, 9, "macro", score=1.0)])

    monkeypatch.setattr(loso, "make_spotter", lambda *a, **k: Stub())
    out = loso.loso_spotting(load, spot_config("casme3"))
    assert out["types"] == ["micro"] and set(out["counts"]) == {"micro", "overall"}
    assert out["counts"]["overall"]["fp"] == out["counts"]["micro"]["fp"]  # no macro false positive
    from mmnet.commands.train_spotter import format_loso

    assert "macro" not in format_loso(out)


def test_a_micro_expression_without_apex_is_a_problem_for_recognition_only(tmp_path, capsys):
    """Spotting uses an interval with no apex (onset and offset suffice); recognition cannot: an error on its clip,
    counted by check-data, named (every one) before training, left out with a plain reason under skip."""
    from mmnet.config import load_config
    from mmnet.data import get_scheme, load_dataset
    from mmnet.data.long_clips import long_video_clips
    from mmnet.data.usage import plan_usage
    from mmnet.errors import DataError
    from mmnet.train.prepare import prepare_run

    rows = list(CASME_SQ_ROWS) + [(1, "anger1_4", 40, 0, 48, 4, "negative", "micro-expression", "anger"),
                                  (2, "happy1_3", 15, 0, 22, 12, "positive", "micro-expression", "happiness")]
    root = write_casme_sq(tmp_path / "sq", rows)
    no_apex = ["casme-sq/s15/15_0401_40-48", "casme-sq/s16/16_0502_15-22"]
    long = load_dataset("casme-sq", root)
    assert {i.severity for i in long.issues if i.check == "apex_unknown"} == {"warning"}  # fine for spotting
    assert sum(iv.apex is None for v in long.videos for iv in v.of_type("micro")) == 2  # spotting keeps them
    clips = long_video_clips(long)
    assert sorted(i.sample_id for i in clips.errors if i.check == "apex_unknown") == no_apex
    problems = dict(plan_usage(clips, get_scheme("casme-sq-str"), "nearest").problems)
    assert set(no_apex) <= set(problems) and "recognition needs the apex" in problems[no_apex[0]]

    assert main(["check-data", "casme-sq", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "recognise   2 micro-expressions usable" in out and "micro-expression(s) not usable" in out
    assert all(sid in out for sid in no_apex)

    base = [f"data.root={root}", "data.dataset=casme-sq", f"data.cache_dir={tmp_path / 'cache'}",
            "data.image_size=32"]
    for choice in ("error", "nearest"):
        with pytest.raises(DataError, match="cannot be used as annotated") as info:
            prepare_run(load_config(None, [*base, f"data.on_bad_sample={choice}"]), tmp_path / choice, progress=False)
        assert all(sid in str(info.value) for sid in no_apex)
    prepare_run(load_config(None, [*base, "data.on_bad_sample=skip"]), tmp_path / "skip", progress=False)
    skipped = {r["sample_id"]: r["reason"] for r in _rows(tmp_path / "skip" / "skipped.csv")}
    assert set(no_apex) <= set(skipped)
    assert all("apex" in skipped[sid] and "on_bad_sample" not in skipped[sid] for sid in no_apex)
    # a sample frame_windows refuses: skipped.csv takes the problem, the error adds the advice
    from mmnet.data.cache import UnusableSample, frame_windows

    (clip,) = [s for s in clips.samples if s.sample_id == no_apex[0]]
    with pytest.raises(UnusableSample, match="on_bad_sample=skip") as info:
        frame_windows(clip, 0.15, clamp=True)
    assert "no apex" in info.value.problem and "on_bad_sample" not in info.value.problem


def test_str_leaves_a_spotted_micro_expression_on_its_apex_unclassified(tmp_path):
    """As `mmnet spot --checkpoint`: a spotted micro interval whose onset is its apex has no class (zero motion);
    STR writes it with no label, scores it on a TP as a wrong class, and the report says how many and why."""
    import numpy as np

    from mmnet import run_folder as rf
    from mmnet.data import load_dataset
    from mmnet.report.str_report import str_section
    from mmnet.spotting.intervals import Interval
    from mmnet.spotting.megc_files import read_str_csv, write_str_csv
    from mmnet.train.spot_recognise import _recognise

    class Predictor:
        class_names = ("negative", "positive", "surprise")
        pairs = 0

        def predict_frames(self, onsets, apexes):
            Predictor.pairs += len(onsets)
            return np.tile([0.1, 0.8, 0.1], (len(onsets), 1))

    (video,) = [v for v in load_dataset("casme-sq", write_casme_sq(tmp_path / "sq")).videos if v.video == "15_0401"]
    spotted = [Interval(30, 30, 38, "micro", score=2.0), Interval(40, 44, 48, "micro", score=1.0),
               Interval(5, 10, 20, "macro", score=1.0)]
    out = _recognise(Predictor(), video, spotted)
    assert [i.label for i in out] == [None, "positive", None] and Predictor.pairs == 1
    assert out[0].probabilities is None and "gap" not in out[0].note
    assert out[0].note.startswith("the motion peaks at the interval's first frame")

    run = tmp_path / "run"
    rf.write_csv(run / rf.TRUTH, rf.TRUTH_COLUMNS, [["A", "s1", 10, 15, 20, "micro", "positive", "positive"],
                                                    ["A", "s1", 40, 45, 50, "micro", "negative", "negative"]])
    rf.write_csv(run / rf.VIDEOS, rf.VIDEOS_COLUMNS, [["A", "s1", "d/s1", 30, 1, 200, 200]])
    rf.write_csv(rf.fold_path(run, 0, "d/s1") / rf.SPOTS, rf.spots_columns(["negative", "positive", "surprise"]), [
        ["A", "s1", 10, 15, 20, "micro", 3.0, "positive", 0.1, 0.8, 0.1],  # TP, right
        ["A", "s1", 41, 41, 50, "micro", 2.0, "", "", "", ""],  # TP, onset on its apex: not classified
    ])
    config = {"data": {"dataset": "casme-sq", "classes": ["negative", "positive", "surprise"]}, "seeds": [0],
              "spotting": {"preset": None, "overrides": []}}
    section = str_section(run, {"config": config})
    r = section.summary["per_seed"][0]["str"]
    assert r["pairs"] == 2 and r["accuracy"] == 0.5  # the unclassified TP is a wrong class for 'negative'
    assert (r["unclassified"], r["unclassified_tp"]) == (1, 1)
    assert "1 spotted micro-expression(s) not classified: their onset is their apex" in section.markdown
    assert section.texts["megc/seed-0/str.csv"].splitlines()[2] == "s1,A,41,50,"
    back = read_str_csv(write_str_csv(tmp_path / "str.csv", {("s1", "A"): [Interval(41, 41, 50, "micro")]}))
    assert back == {("s1", "A"): [Interval(41, None, 50, "micro")]}


def test_a_spotted_recording_is_reused_only_for_the_same_recording(tmp_path):
    # a resume may point data.root at other recordings under the same names: their spots are not reused
    from dataclasses import dataclass
    from types import SimpleNamespace

    from mmnet.train.spot_recognise import _cached_spot

    @dataclass
    class Settings:
        threshold: float = 0.5

    class CountingSpotter:
        config, calls = Settings(), 0

        def spot(self, video):
            self.calls += 1
            interval = {"onset": 1, "apex": 2, "offset": 3, "type": "micro", "score": 0.9}
            return SimpleNamespace(to_dict=lambda: {"config": {"threshold": 0.5}, "intervals": [interval]})

    video, folder = _three_frame_recording(tmp_path)
    spotter, run_dir = CountingSpotter(), tmp_path / "run"
    first = _cached_spot(run_dir, spotter, video)
    assert _cached_spot(run_dir, spotter, video) == first and spotter.calls == 1
    (folder / "img2.jpg").write_bytes(b"y" * 12)  # another recording of the same name
    assert _cached_spot(run_dir, spotter, video) == first and spotter.calls == 2


def test_a_learned_spotter_fold_without_an_annotated_type_is_refused_before_any_video_is_read(tmp_path, monkeypatch):
    # a fold that could not be trained was found only after every video was read and a fold trained
    from dataclasses import replace

    from mmnet.data import load_dataset
    from mmnet.errors import DataError
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.learned import LearnedSpotter, check_learned_folds
    from mmnet.spotting.loso import loso_spotting

    from .fakes_long import write_casme3_long

    def no_reading(self, video, types=("micro", "macro"), progress=False):
        raise AssertionError(f"{video.video} was read")

    monkeypatch.setattr(LearnedSpotter, "collect", no_reading)
    # casme3-long from its label file annotates micro-expressions only: no fold is refused for lacking macro
    load = load_dataset("casme3-long", write_casme3_long(tmp_path / "c3", long=None))
    assert load.types == ("micro",)
    folds = {v.video: v.subject for v in load.videos}
    check_learned_folds(load.videos, folds, types=load.types)
    # but a micro-expression is annotated there: a fold whose other subjects hold none is refused
    first, last = sorted(set(folds.values()))
    load.videos = [replace(v, intervals=()) if v.subject == last else v for v in load.videos]
    with pytest.raises(DataError) as caught:
        loso_spotting(load, spot_config("casme3", ["method=learned"]))
    text = str(caught.value)
    assert f"fold {first}: its training videos hold no micro interval" in text and "macro" not in text
    assert "--set method=flow" in text
    # a dataset with both types, where one fold's other subjects hold no macro-expression
    videos = [SimpleNamespace(video="a", intervals=[SimpleNamespace(type="micro")]),
              SimpleNamespace(video="b", intervals=[SimpleNamespace(type="micro"), SimpleNamespace(type="macro")])]
    check_learned_folds(videos, {"a": "s1", "b": "s2"}, folds=["s1"])  # s1 trains on b: both types
    with pytest.raises(DataError, match=r"fold s2: its training videos hold no macro interval \(fold s2 trains"):
        check_learned_folds(videos, {"a": "s1", "b": "s2"}, instead="x")


def test_a_recording_spotted_before_the_landmark_setting_existed_is_reused_by_a_default_run(tmp_path):
    # the cache key held every setting: a file written before face.landmarks existed never matched again
    import dataclasses
    import json
    from types import SimpleNamespace

    from mmnet.spotting.config import spot_config
    from mmnet.spotting.loso_records import recording_fingerprint
    from mmnet.train.spot_recognise import _cached_spot

    class CountingSpotter:
        def __init__(self, config):
            self.config, self.calls = config, 0

        def spot(self, video):
            self.calls += 1
            interval = {"onset": 4, "apex": 5, "offset": 6, "type": "micro", "score": 0.5}
            return SimpleNamespace(to_dict=lambda: {"config": {}, "intervals": [interval]})

    video, folder = _three_frame_recording(tmp_path)
    run_dir = tmp_path / "run"
    cache = run_dir / "spotting" / "15_0101.json"
    cache.parent.mkdir(parents=True)
    saved = json.loads(json.dumps(dataclasses.asdict(spot_config("casme2"))))
    assert saved["face"]["landmarks"] == 68

    def write(config):
        interval = {"onset": 1, "apex": 2, "offset": 3, "type": "micro", "score": 0.9}
        cache.write_text(json.dumps({"config": config, "intervals": [interval],
                                     "recording": recording_fingerprint(video)}), encoding="utf-8")

    write(saved)  # written by this version (68 saved)
    spotter = CountingSpotter(spot_config("casme2"))
    assert [i.onset for i in _cached_spot(run_dir, spotter, video)] == [1] and spotter.calls == 0
    del saved["face"]["landmarks"]  # written by the version before the setting
    write(saved)
    assert [i.onset for i in _cached_spot(run_dir, spotter, video)] == [1] and spotter.calls == 0
    five = spot_config("casme2", ["face.landmarks=5"])  # a 5-point run does not take the 68-point spots
    assert [i.onset for i in _cached_spot(run_dir, CountingSpotter(five), video)] == [4]
    write({**saved, "face": {**saved["face"], "landmarks": 5}})  # and a default run does not take 5-point ones
    spotter = CountingSpotter(spot_config("casme2"))
    assert [i.onset for i in _cached_spot(run_dir, spotter, video)] == [4] and spotter.calls == 1


def _three_frame_recording(tmp_path):
    """A stand-in recording '15_0101' of three frame files (what the spotting cache fingerprints), and its folder."""
    folder = tmp_path / "rec"
    folder.mkdir()
    for n in (1, 2, 3):
        (folder / f"img{n}.jpg").write_bytes(b"x" * 10)
    return SimpleNamespace(video="15_0101", fps=30.0, path=str(folder),
                           frames=[(n, f"img{n}.jpg") for n in (1, 2, 3)]), folder


def test_check_data_says_training_stops_on_one_class(tmp_path, capsys):
    # seed 0's quarter-minute recordings hold two micro-expressions, both positive: `mmnet train` refuses one class
    root = tmp_path / "long"
    assert main(["synth", str(root), "--long", "--subjects", "3", "--minutes", "0.25", "--size", "160", "128",
                 "--seed", "0", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["check-data", "casme-sq", "--root", str(root)]) == 1  # as the clip form's refusals
    out, err = capsys.readouterr()
    assert "negative 0, positive 2, surprise 0" in out
    assert "only positive has usable samples left: MMNet needs two classes or more" in " ".join(err.split())
