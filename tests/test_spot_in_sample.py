"""In-sample spotting scores are said: a saved spotter records the videos it learnt from, `mmnet spot` copies that
(and the recogniser's training subjects) into spot.json, and `score-spots` warns when it scores them; the LOSO table
of `train-spotter --loso` says what its baseline is and what it was made with."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mmnet.cli import main
from mmnet.data.long_video import LongVideo, LongVideoLoad
from mmnet.infer.training_subjects import classifier_trained_on
from mmnet.spotting.config import spot_config
from mmnet.spotting.in_sample import in_sample_warnings, preset_leak_note, trained_on
from mmnet.spotting.intervals import Interval

from .test_spot_str_csv import faked  # noqa: F401  (a fixture)

pytest.importorskip("torch")


def _videos(tmp_path: Path) -> list[LongVideo]:
    return [LongVideo("casme-sq", subject, video, 30.0, tmp_path / video, ((1, "img1.jpg"),),
                      (Interval(5, 8, 12, "micro"), Interval(20, 30, 40, "macro")))
            for subject, video in (("s15", "15_0101"), ("s16", "16_0101"), ("s19", "19_0101"))]


def _learned(fitted_on=None):
    import torch

    from mmnet.spotting.learned import LearnedSpotter
    from mmnet.spotting.learned_net import make_net

    spotter = LearnedSpotter(spot_config("casme2", ["method=learned", "face.mode=none"]))
    torch.manual_seed(0)
    spotter.nets = {s: (make_net(32).eval(), np.ones(3, np.float32)) for s in ("micro", "macro")}
    spotter.fitted_on = fitted_on
    return spotter


def _fake_fit(self, videos, *, types=("micro", "macro"), progress=False):
    """A fit that trains nothing (random networks): the command's record is under test, not the training."""
    self.nets = _learned().nets
    return {}


def test_train_spotter_saves_the_videos_it_trained_on_and_says_scores_on_them_are_in_sample(
        tmp_path, monkeypatch, capsys):
    import torch

    import mmnet.data
    from mmnet.spotting.base import load_spotter
    from mmnet.spotting.learned import LearnedSpotter

    load = LongVideoLoad(_videos(tmp_path), [])
    monkeypatch.setattr(mmnet.data, "load_dataset", lambda name, root, annotation=None: load)
    monkeypatch.setattr(LearnedSpotter, "fit", _fake_fit)
    model = tmp_path / "sp.pt"
    assert main(["train-spotter", "casme-sq", "--root", str(tmp_path), "--out", str(model), "--no-progress"]) == 0
    assert "are in-sample; the honest figure is the --loso table" in capsys.readouterr().out
    expected = {"dataset": "casme-sq", "videos": ["15_0101", "16_0101", "19_0101"], "subjects": ["s15", "s16", "s19"],
                "videos_of": {"s15": ["15_0101"], "s16": ["16_0101"], "s19": ["19_0101"]}}
    assert load_spotter(model).fitted_on == expected
    # a spotter saved before the record existed still loads: what it was trained on is unknown
    data = torch.load(model, weights_only=True)
    del data["fitted_on"]
    torch.save(data, tmp_path / "old.pt")
    assert load_spotter(tmp_path / "old.pt").fitted_on is None


def _noise(folder: Path, n: int = 40) -> Path:
    from PIL import Image

    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(np.random.default_rng(i // 7).integers(0, 255, (96, 80, 3), np.uint8)).save(
            folder / f"img{i}.png")
    return folder


def test_spot_copies_the_spotters_training_record_into_spot_json(tmp_path, capsys):
    record = trained_on("casme-sq", _videos(tmp_path))
    _learned(record).save(tmp_path / "sp.pt")
    frames = _noise(tmp_path / "frames")
    assert main(["spot", str(frames), "--fps", "30", "--spotter-model", str(tmp_path / "sp.pt"), "--json",
                 "--no-progress"]) == 0
    spotter = json.loads(capsys.readouterr().out)["provenance"]["models"]["spotter"]
    assert spotter["trained_on"] == record and len(spotter["sha256"]) == 64


def _spot_folder(root: Path, video: str, spotter: dict | None, *, classifier: dict | None = None,
                 name: str = "spotting.csv", rows: str = "") -> Path:
    folder = root / video
    folder.mkdir(parents=True)
    models = {role: entry for role, entry in (("spotter", spotter), ("classifier", classifier)) if entry is not None}
    (folder / "spot.json").write_text(json.dumps({"video": video, "provenance": {"models": models}}))
    (folder / name).write_text(rows or f"vid,onset,offset,type\n{video},5,12,me\n")
    return folder / name


def test_score_spots_warns_when_the_scored_videos_trained_the_spotter(tmp_path, capsys):
    truth = tmp_path / "truth.csv"
    truth.write_text("vid,onset,offset,type\n15_0101,5,12,me\n16_0101,5,12,me\n19_0101,5,12,me\n")
    model = {"path": "learned/sp.pt", "trained_on": {"dataset": "casme-sq", "videos": ["15_0101", "16_0101"],
                                                     "subjects": ["s15", "s16"]}}
    files = [_spot_folder(tmp_path / "spots", v, model) for v in ("15_0101", "16_0101")]
    files.append(_spot_folder(tmp_path / "spots", "19_0101", {"path": "old.pt", "trained_on": None}))
    assert main(["score-spots", str(truth), *map(str, files), "--json"]) == 0
    captured = capsys.readouterr()
    warning = ("2 of 3 scored videos were used to train the spotter learned/sp.pt: these scores are in-sample; the "
               "honest figure is train-spotter --loso")
    assert json.loads(captured.out)["warnings"] == [warning]
    assert "the spotter old.pt of 1 scored video(s) does not record the videos it was trained on" in captured.err
    assert main(["score-spots", str(truth), *map(str, files)]) == 0
    assert f"warning: {warning}" in capsys.readouterr().out
    # held-out videos (none among its training videos): nothing said
    assert main(["score-spots", str(truth), str(files[2].parent.parent / "19_0101" / "spotting.csv"), "--json"]) == 0
    assert "warnings" not in json.loads(capsys.readouterr().out)


def test_score_spots_warns_when_the_recogniser_was_trained_on_the_scored_subjects(tmp_path, capsys):
    truth = tmp_path / "truth.csv"
    truth.write_text("subject,video,onset,offset,emotion\ns15,15_0101,5,12,positive\ns16,16_0101,5,12,negative\n")
    recogniser = {"path": "ckpt/final/model", "trained_on": {"dataset": "casme-sq", "subjects": {"casme-sq": ["s15"]}}}
    files = [_spot_folder(tmp_path / "spots", video, None, classifier=recogniser, name="str.csv",
                          rows=f"subject,video,onset,offset,emotion\n{subject},{video},5,12,positive\n")
             for subject, video in (("s15", "15_0101"), ("s16", "16_0101"))]
    assert main(["score-spots", str(truth), *map(str, files), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "analysis" in out and out["warnings"] == [
        "1 of 2 scored videos are of subjects the recogniser ckpt/final/model was trained on (s15): its classes (the "
        "STR analysis) are in-sample; the honest figure is spot then recognise leave-one-subject-out (`mmnet train` "
        "on the long-video dataset)"]


def _casme3_str_spots(root: Path, spotter: dict) -> list[Path]:
    """STR CSVs of spNO.1's and spNO.2's recording 'a' (CAS(ME)^3's STR CSVs name every subject's recordings by
    task letter), each beside the spot.json of ``spotter``."""
    return [_spot_folder(root / subject, "a", spotter, name="str.csv",
                         rows=f"subject,video,onset,offset,emotion\n{subject},a,5,12,negative\n")
            for subject in ("spNO.1", "spNO.2")]


def test_score_spots_compares_subject_and_video_for_casme3_str_csvs(tmp_path, capsys):
    # the spotter learnt from spNO.1's recordings, which the loader names spNO.1_a, spNO.1_b: its STR CSV rows
    # (spNO.1, a) were not found among them, and the in-sample score went without a warning
    truth = tmp_path / "truth.csv"
    truth.write_text("subject,video,onset,offset,emotion\nspNO.1,a,5,12,negative\nspNO.2,a,5,12,negative\n")
    videos = [LongVideo("casme3-long", "spNO.1", f"spNO.1_{task}", 30.0, tmp_path, ((1, "img1.jpg"),), ())
              for task in ("a", "b")]
    model = {"path": "sp.pt", "trained_on": trained_on(None, videos)}
    files = _casme3_str_spots(tmp_path / "spots", model)
    assert main(["score-spots", str(truth), *map(str, files), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == [
        "1 of 2 scored videos were used to train the spotter sp.pt: these scores are in-sample; the honest figure is "
        "train-spotter --loso"]  # spNO.1's; spNO.2's 'a' is held out
    assert model["trained_on"]["videos_of"] == {"spNO.1": ["spNO.1_a", "spNO.1_b"]}  # the pairs, recorded
    # a record of an earlier mmnet (no videos_of): its subjects and videos, compared alike
    old = {"path": "old.pt", "trained_on": {"dataset": "casme3-long", "videos": ["spNO.1_a"], "subjects": ["spNO.1"]}}
    scored = dict(zip([("spNO.1", "a"), ("spNO.2", "a")], _casme3_str_spots(tmp_path / "old", old)))
    said, _ = in_sample_warnings(scored, dataset=None, subject_of=lambda k: k[0], classes=False)
    assert said == ["1 of 2 scored videos were used to train the spotter old.pt: these scores are in-sample; the "
                    "honest figure is train-spotter --loso"]
    # a video id that one subject's recordings share with another's: the pair decides, not the id alone
    lab = {"path": "lab.pt", "trained_on": {"dataset": "table-long", "videos": ["a"], "subjects": ["P01"],
                                            "videos_of": {"P01": ["a"]}}}
    scored = dict(zip([("P01", "a"), ("P02", "a")], _casme3_str_spots(tmp_path / "lab", lab)))
    said, _ = in_sample_warnings(scored, dataset=None, subject_of=lambda k: k[0], classes=False)
    assert said == ["1 of 2 scored videos were used to train the spotter lab.pt: these scores are in-sample; the "
                    "honest figure is train-spotter --loso"]  # P01's 'a' only


def test_a_recogniser_of_other_people_or_a_spotter_of_another_dataset_is_not_in_sample(tmp_path):
    spotter = {"path": "sp.pt", "trained_on": {"dataset": "samm-long", "videos": ["15_0101"], "subjects": ["s15"]}}
    recogniser = {"path": "m", "trained_on": {"dataset": "casme2", "subjects": {"casme2": ["s15"]}}}
    path = _spot_folder(tmp_path, "15_0101", spotter, classifier=recogniser)
    # CASME II's and SAMM Long Videos' people are not CAS(ME)^2's, whatever their ids
    scored = {"15_0101": path}
    assert in_sample_warnings(scored, dataset="casme-sq", subject_of=lambda v: "s15", classes=True) == ([], [])
    said, _ = in_sample_warnings(scored, dataset=None, subject_of=lambda v: "s15", classes=True)
    assert len(said) == 2  # a truth CSV does not say whose faces: the ids are compared


def test_the_recognisers_training_subjects_are_read_from_its_checkpoint_or_its_fold(tmp_path):
    import torch
    from safetensors.torch import save_file

    subjects = {"casme3": {"samples": 2, "subjects": ["spNO.2", "spNO.1"]}}
    header = {"training": {"dataset": "casme3", "datasets": subjects}}
    save_file({"w": torch.zeros(1)}, str(tmp_path / "a.safetensors"), metadata={"mmnet": json.dumps(header)})
    assert classifier_trained_on(tmp_path / "a.safetensors") == {"dataset": "casme3",
                                                                "subjects": {"casme3": ["spNO.1", "spNO.2"]}}
    model = tmp_path / "final" / "model"
    model.mkdir(parents=True)
    save_file({"w": torch.zeros(1)}, str(model / "model.safetensors"))
    assert classifier_trained_on(model) is None
    (tmp_path / "final" / "done.json").write_text(json.dumps({"train_subjects": ["s16", "s15"]}))
    assert classifier_trained_on(model)["subjects"] == {"unknown": ["s15", "s16"]}


def _fake_loso(load, config, **kwargs):
    counts = {t: {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
              for t in ("micro", "macro", "overall")}
    return {"method": config.method, "subjects": 3, "videos": 3, "types": ["micro", "macro"], "counts": counts,
            "baseline": counts, "folds": [], "predictions": {}, "notes": {},
            "evaluation": SimpleNamespace(pairs=[]), "time_s": {"total": 1.0}}


def test_the_loso_table_explains_its_baseline_and_its_file_records_its_settings(tmp_path, monkeypatch, capsys):
    import mmnet.data
    import mmnet.spotting.loso
    from mmnet.spotting.demo import BASELINE
    from mmnet.spotting.learned import LearnedSpotter

    monkeypatch.setattr(mmnet.data, "load_dataset", lambda name, root, annotation=None: LongVideoLoad(
        _videos(tmp_path), []))
    monkeypatch.setattr(mmnet.spotting.loso, "loso_spotting", _fake_loso)
    monkeypatch.setattr(LearnedSpotter, "fit", _fake_fit)
    model = tmp_path / "sp.pt"
    assert main(["train-spotter", "casme-sq", "--root", str(tmp_path), "--out", str(model), "--loso", "--seed", "3",
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"baseline: {BASELINE}" in printed
    assert "note: the casme2 preset's k values (6 / 18" in printed and "a small leak, standard in the field" in printed
    out = json.loads(model.with_name("sp.pt.loso.json").read_text())
    assert out["baseline_method"] == BASELINE
    settings = out["settings"]
    assert settings["preset"] == "casme2" and settings["seed"] == 3 and settings["dataset"] == "casme-sq"
    assert settings["spotter"]["method"] == "learned" and settings["spotter"]["micro"]["k"] == 6
    assert "none is fitted on the held-out subject" in settings["parameters"] and "preset_note" in settings


def test_the_preset_note_is_for_the_dataset_whose_statistics_the_preset_holds():
    assert preset_leak_note("samm-long", spot_config("samm")) is not None
    assert preset_leak_note("table-long", spot_config("casme2")) is None  # a lab's own people: not its statistics
    assert preset_leak_note("casme-sq", spot_config("casme2", ["micro.k=8"])) is None  # k set by hand
    assert preset_leak_note("casme-sq", spot_config("casme2"), synthetic=True) is None  # drawn faces: not theirs


@pytest.mark.usefixtures("faked")  # the spotting and classifying faked: no face extra, no decoding
def test_spot_records_the_recognisers_training_subjects_and_score_spots_warns_on_its_classes(tmp_path, capsys):
    import torch
    from safetensors.torch import save_file

    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    header = {"training": {"dataset": "samm", "datasets": {"samm": {"samples": 4, "subjects": ["006", "007"]}}}}
    save_file({"w": torch.zeros(1)}, str(checkpoint / "model.safetensors"), metadata={"mmnet": json.dumps(header)})
    video = tmp_path / "006_1.mp4"
    video.write_bytes(b"a recording")
    out = tmp_path / "spots" / "006_1"
    assert main(["spot", str(video), "--no-progress", "--out", str(out), "--checkpoint", str(checkpoint)]) == 0
    classifier = json.loads((out / "spot.json").read_text())["provenance"]["models"]["classifier"]
    assert classifier["trained_on"] == {"dataset": "samm", "subjects": {"samm": ["006", "007"]}}
    capsys.readouterr()
    truth = tmp_path / "truth.csv"
    truth.write_text("subject,video,onset,offset,emotion\n006,006_1,11,21,negative\n")
    assert main(["score-spots", str(truth), str(out / "str.csv"), "--json"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith(
        f"1 of 1 scored videos are of subjects the recogniser {checkpoint} was trained on (006)")


def test_a_video_id_of_one_subject_warns_whatever_the_scored_key_calls_its_subject(tmp_path):
    # the STR CSV names subject s15 '15': its video id 15_0101 is the spotter's own, the in-sample warning is due
    model = {"path": "sp.pt", "trained_on": trained_on(None, _videos(tmp_path)[:2])}
    files = [_spot_folder(tmp_path / "spots", video, model, name="str.csv",
                          rows=f"subject,video,onset,offset,emotion\n{subject},{video},5,12,positive\n")
             for subject, video in (("15", "15_0101"), ("19", "19_0101"))]
    scored = dict(zip([("15", "15_0101"), ("19", "19_0101")], files))
    said, _ = in_sample_warnings(scored, dataset=None, subject_of=lambda k: k[0], classes=False)
    assert said == ["1 of 2 scored videos were used to train the spotter sp.pt: these scores are in-sample; the "
                    "honest figure is train-spotter --loso"]  # 15_0101's; 19_0101 is held out
    # an id the record gives to two subjects is compared by the pair: a renamed subject is not matched on it
    shared = {"path": "lab.pt", "trained_on": {"dataset": "table-long", "videos": ["a"], "subjects": ["P01", "P02"],
                                               "videos_of": {"P01": ["a"], "P02": ["a"]}}}
    scored = {("P03", "a"): _spot_folder(tmp_path / "lab", "a", shared, name="str.csv",
                                         rows="subject,video,onset,offset,emotion\nP03,a,5,12,positive\n")}
    assert in_sample_warnings(scored, dataset=None, subject_of=lambda k: k[0], classes=False)[0] == []
