"""`mmnet spot --checkpoint --out` writes str.csv (MEGC2024-2025 STR layout) beside spotting.csv, and a recording's
default video id follows the datasets' id rules."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mmnet.cli import main
from mmnet.spotting.intervals import Interval
from mmnet.spotting.spotter import SpotResult


@pytest.fixture
def faked(monkeypatch):
    """The spotter's and the classifier's work, faked: one classified micro interval (frames 10-20 from 0)."""
    import mmnet.commands.common as common
    import mmnet.infer.kept_classification as kept
    import mmnet.infer.provenance as provenance
    import mmnet.infer.recordings as recordings
    import mmnet.spotting.timeline as timeline

    def spotted(source, predictor, config, fps=None, **_):
        curves = SimpleNamespace(notes=[], numbers=None, strides={})
        label = "negative" if predictor is not None else None
        return SpotResult(str(source), 30.0, 100, [Interval(10, 14, 20, "micro", label, 0.3)], [], config=config,
                          curves=curves), None

    monkeypatch.setattr(recordings, "spot_and_classify", spotted)
    monkeypatch.setattr(kept, "spot_and_classify_kept", lambda source, predictor, config, partial, identity, fps=None,
                        **_: spotted(source, predictor, config))
    monkeypatch.setattr(kept, "classifier_identity", lambda *a: "fake")
    monkeypatch.setattr(common, "load_predictor", lambda *a, **k: SimpleNamespace(class_names=["negative"]))
    monkeypatch.setattr(provenance, "label_warning", lambda *a: None)
    monkeypatch.setattr(timeline, "timeline_png", lambda result: b"png")


def test_spot_checkpoint_out_writes_str_csv_with_the_megc_frames(tmp_path, faked, capsys):
    video = tmp_path / "006_1.mp4"
    video.write_bytes(b"a recording")
    out = tmp_path / "spots"
    assert main(["spot", str(video), "--no-progress", "--out", str(out), "--checkpoint", str(tmp_path)]) == 0
    assert "str.csv (STR layout, subject 006)" in capsys.readouterr().out
    # a video's frames 10-20 (from 0) are 11-21 in MEGC's numbering, as in spotting.csv
    assert (out / "str.csv").read_text().splitlines() == ["subject,video,onset,offset,emotion",
                                                          "006,006_1,11,21,negative"]
    assert (out / "spotting.csv").read_text().splitlines()[1] == "006_1,11,21,me,0.300000"
    assert main(["spot", str(video), "--no-progress", "--out", str(out), "--checkpoint", str(tmp_path),
                 "--subject", "dzw", "--video-id", "dzw_d1"]) == 0
    assert (out / "str.csv").read_text().splitlines()[1] == "dzw,dzw_d1,11,21,negative"
    assert main(["spot", str(video), "--no-progress", "--out", str(out)]) == 0  # not classified: no STR file
    assert not (out / "str.csv").exists()
    assert main(["spot", str(video), "--no-progress", "--out", str(out), "--checkpoint", str(tmp_path),
                 "--subject", "a,b"]) == 3
    assert "--subject cannot name the subject in str.csv" in capsys.readouterr().err
    assert main(["spot", str(video), "--no-progress", "--out", str(out), "--checkpoint", str(tmp_path),
                 "--subject", "dz w"]) == 3
    assert "--subject 'dz w' cannot name the subject in str.csv: it holds a space" in capsys.readouterr().err


def test_default_video_id_follows_the_datasets_id_rules(tmp_path):
    # a CAS(ME)^2 folder named the video 15_0101disgustingteeth, a CAS(ME)^3 one 'color'
    from mmnet.commands.spot_ids import default_video_id

    for folder, want in (("rawpic/s15/15_0101disgustingteeth", "15_0101"), ("spNO.1/a/color", "spNO.1_a"),
                         ("spNO.216/J/color", "spNO.216_j"), ("SAMM/006_1", "006_1"), ("15_0101", "15_0101")):
        (tmp_path / folder).mkdir(parents=True)
        assert default_video_id(tmp_path / folder) == want, folder
    video = tmp_path / "rawvideo" / "s15" / "15_0102eatingworms.avi"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"x")
    assert default_video_id(video) == "15_0102"
    assert default_video_id(tmp_path / "spNO.1" / "a" / "color" / ".." / "color") == "spNO.1_a"


def test_the_casme_sq_id_rule_is_kept_for_casme_sq_recordings(tmp_path):
    # any NN_NNNN+letters name was cut to NN_NNNN: 01_2023interview.mp4 and 01_2023debrief.mp4 shared the id 01_2023
    from mmnet.commands.spot_ids import default_video_id

    for name in ("01_2023interview.mp4", "01_2023debrief.mp4", "15_0101interview.mp4"):
        (tmp_path / name).write_bytes(b"x")
    assert default_video_id(tmp_path / "01_2023interview.mp4") == "01_2023interview"
    assert default_video_id(tmp_path / "01_2023debrief.mp4") == "01_2023debrief"
    # CAS(ME)^2's own subject number and stimulus code, outside its tree: still its id
    assert default_video_id(tmp_path / "15_0101interview.mp4") == "15_0101"
    (tmp_path / "16_0502cleaningtoilet").mkdir()
    assert default_video_id(tmp_path / "16_0502cleaningtoilet") == "16_0502"
    # under a CAS(ME)^2 tree (rawpic/sNN, rawvideo/sNN), its rule applies to any such name
    folder = tmp_path / "rawpic" / "s01" / "01_2023interview"
    folder.mkdir(parents=True)
    assert default_video_id(folder) == "01_2023"


def test_default_subject_is_the_dataset_loaders_so_spot_and_train_str_csvs_score_together(tmp_path, faked, capsys):
    # `mmnet spot` named CAS(ME)^2's subject '15' (the id's text before '_'), `mmnet train`'s str.csv 's15' (the
    # loader's): score-spots refused the pair, "Subject(s) '15' of the predictions are not in the truth at all"
    from mmnet import run_folder as rf
    from mmnet.data import load_dataset
    from mmnet.report.str_report import str_section
    from mmnet.spotting.megc import subject_of_key

    from .fakes_long import write_casme3_long, write_casme_sq, write_samm_long

    for dataset, root in (("casme-sq", write_casme_sq(tmp_path / "sq")), ("samm-long", write_samm_long(
            tmp_path / "samm")), ("casme3-long", write_casme3_long(tmp_path / "c3"))):
        videos = load_dataset(dataset, root).videos
        assert videos and all(subject_of_key(v.video) == v.subject for v in videos), dataset

    # the train side: a run folder's spots.csv of 15_0101 (subject s15, as the loader names it) -> megc/str.csv
    run = tmp_path / "run"
    rf.write_csv(run / rf.TRUTH, rf.TRUTH_COLUMNS, [["15_0101", "s15", 10, 14, 20, "micro", "negative", "negative"]])
    rf.write_csv(run / rf.VIDEOS, rf.VIDEOS_COLUMNS, [["15_0101", "s15", "d/s15", 30, 1, 100, 100]])
    rf.write_csv(rf.fold_path(run, 0, "d/s15") / rf.SPOTS, rf.spots_columns(["negative"]),
                 [["15_0101", "s15", 10, 14, 20, "micro", "0.3", "negative", "1.0"]])
    config = {"data": {"dataset": "casme-sq", "classes": ["negative"]}, "seeds": [0],
              "spotting": {"preset": None, "overrides": []}}
    trained = tmp_path / "train-str.csv"
    trained.write_text(str_section(run, {"config": config}).texts["megc/seed-0/str.csv"])
    assert trained.read_text().splitlines()[1].startswith("s15,15_0101,")

    folder = tmp_path / "rawpic" / "s15" / "15_0101disgustingteeth"
    folder.mkdir(parents=True)
    out = tmp_path / "spots"
    assert main(["spot", str(folder), "--fps", "30", "--no-progress", "--out", str(out), "--checkpoint",
                 str(tmp_path)]) == 0
    assert "str.csv (STR layout, subject s15)" in capsys.readouterr().out
    assert (out / "str.csv").read_text().splitlines()[1] == "s15,15_0101,10,20,negative"
    assert main(["score-spots", str(trained), str(out / "str.csv"), "--json"]) == 0, capsys.readouterr().err
