"""A high-speed camera's footage exported at a playback rate (200 fps frames in a file that declares 30 fps): `mmnet
spot --fps 200` records both rates in spot.json and says which the times are on; spots.eaf, which links the file,
keeps the file's own timeline (frame / 30), as ELAN plays it, and `mmnet score-spots --recording` reads it back as the
frames spotted (spotting.declared_rate)."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import numpy as np
import pytest

from mmnet.spotting.intervals import Interval

from .test_spot_elan import _result, check_eaf
from .video_helpers import vfr_video

INTERVALS = [Interval(40, 60, 80, "micro", score=0.4), Interval(100, 130, 190, "macro", score=1.5)]


def _video(tmp_path):
    """A 30 fps-declared video of 220 frames (its frames' content does not matter: the spotting is faked)."""
    images = [np.full((16, 16, 3), i % 200, np.uint8) for i in range(220)]
    return vfr_video(tmp_path / "highspeed.mkv", [round(i * 1000 / 30) for i in range(220)], images)


def _spot(tmp_path, monkeypatch, capsys, video, fps: str):
    import mmnet.infer.recordings as recordings
    import mmnet.spotting.timeline as timeline
    from mmnet.cli import main

    def spotted(source, predictor, config, fps=None, **_):  # the spotter's work, faked, at the rate given
        return _result(str(source), fps, INTERVALS, gaps=[(200, 209)], config=config), None

    monkeypatch.setattr(recordings, "spot_and_classify", spotted)
    monkeypatch.setattr(timeline, "timeline_png", lambda result: b"png")
    out = tmp_path / "out"
    assert main(["spot", str(video), "--fps", fps, "--no-progress", "--out", str(out)]) == 0
    return out, capsys.readouterr()


def test_a_capture_rate_given_is_recorded_with_the_files_own_and_spots_eaf_keeps_the_files_timeline(
        tmp_path, monkeypatch, capsys):
    from mmnet.cli import main

    video = _video(tmp_path)
    out, said = _spot(tmp_path, monkeypatch, capsys, video, "200")
    data = json.loads((out / "spot.json").read_text())
    assert (data["fps"], data["declared_fps"]) == (200.0, 30.0)
    assert list(data).index("declared_fps") == list(data).index("fps") + 1
    (note,) = [line for line in said.err.splitlines() if "declares 30 fps" in line]
    assert note.startswith("note: highspeed.mkv declares 30 fps; --fps 200 replaces it") and "frame / 200" in note
    assert any("--fps 200 replaces it" in n for n in data["notes"])
    # spot.json's seconds: capture time, frame / 200 (frame 40 starts at 0.2 s)
    assert data["intervals"][0]["onset_s"] == 0.2
    eaf = (out / "spots.eaf").read_bytes()
    tiers = check_eaf(eaf)
    # the file's timeline, as ELAN plays it: frame 40 at 40 / 30 s = 1334 ms, frame 80 ends at 81 / 30 s
    assert tiers["mmnet-micro"] == [(1334, 2700, "micro 0.400")]
    assert tiers["mmnet-macro"] == [(3334, 6367, "macro 1.500")] and tiers["mmnet-no-face"] == [(6667, 7000, "no face")]
    properties = {p.get("NAME"): p.text for p in ET.fromstring(eaf).findall("HEADER/PROPERTY")}
    assert (properties["mmnet-media-fps"], properties["mmnet-capture-fps"]) == ("30", "200")
    assert properties["mmnet-time-base"] == "frame_number_over_media_fps"
    # scored against itself at the rate of the file it links: every interval found
    assert main(["score-spots", str(out / "spotting.csv"), str(out / "spots.eaf"), "--recording", str(video),
                 "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in scores["counts"]}["overall"] == (2, 0, 0)
    # converted at the capture rate instead: told which rate its times are on
    main(["score-spots", str(out / "spotting.csv"), str(out / "spots.eaf"), "--fps", "200", "--json"])
    err = capsys.readouterr().err
    assert "times are on the video's own 30 fps timeline" in err and "give --fps 30, or --recording VIDEO" in err


@pytest.mark.parametrize("fps", ["30", "30.3"])
def test_a_rate_near_the_files_own_gets_no_note(tmp_path, monkeypatch, capsys, fps):
    out, said = _spot(tmp_path, monkeypatch, capsys, _video(tmp_path), fps)
    data = json.loads((out / "spot.json").read_text())
    assert "replaces it" not in said.err and not any("replaces it" in n for n in data["notes"])
    # the file's own rate: nothing to record; a rate close to it: recorded, spots.eaf on the file's timeline
    assert data.get("declared_fps") == (None if fps == "30" else 30.0)
    assert check_eaf((out / "spots.eaf").read_bytes())["mmnet-micro"] == [(1334, 2700, "micro 0.400")]


def test_score_spots_reads_a_spots_eaf_at_the_rate_its_header_records(tmp_path, monkeypatch, capsys):
    """Without --fps or --recording, spots.eaf's times are converted at its mmnet-media-fps (it was refused with
    "give --fps RATE"), said in a note; a spots.eaf that records no rate still needs one."""
    from mmnet.cli import main

    video = _video(tmp_path)
    out, _ = _spot(tmp_path, monkeypatch, capsys, video, "200")
    assert main(["score-spots", str(out / "spotting.csv"), str(out / "spots.eaf"), "--json"]) == 0
    said = capsys.readouterr()
    scores = json.loads(said.out)
    assert {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in scores["counts"]}["overall"] == (2, 0, 0)
    assert "converted at 30 fps, the rate its header records (mmnet-media-fps" in said.err
    assert "timeline" not in said.err  # no warning about another rate
    (tmp_path / "plain").mkdir()
    plain, _ = _spot(tmp_path / "plain", monkeypatch, capsys, _video(tmp_path / "plain"), "30")
    assert main(["score-spots", str(plain / "spotting.csv"), str(plain / "spots.eaf"), "--json"]) != 0
    assert "give --fps RATE" in capsys.readouterr().err
