"""Errors the library raises name the Python form of their remedy beside the command line's: a notebook has no
--fps, --no-align or --set to pass."""

import logging
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from mmnet import media
from mmnet.data.common import finish
from mmnet.data.long_video import finish_long
from mmnet.data.sample import Issue
from mmnet.errors import CheckpointError, DataError, PreprocessError
from mmnet.infer import Clip, align_clip
from mmnet.spotting import peaks
from mmnet.spotting.config import spot_config
from mmnet.spotting.flow_spotter import MotionCurves, extract_motion, open_recording
from mmnet.spotting.learned import LearnedSpotter, load_spotter


class NoFace:
    def estimate(self, image):
        raise PreprocessError("no face found")

    def detect(self, image):
        return []


def test_a_missing_frame_rate_names_fps_and_the_option(tmp_path, monkeypatch):
    from tests.test_inference import write_video
    from tests.test_spotting import synthetic_clip

    for n in range(3):
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / f"img{n}.png")
    with pytest.raises(DataError, match=r"carries no frame rate: pass fps=\.\.\. / --fps"):
        open_recording(tmp_path)
    video = write_video(tmp_path / "clip.avi", synthetic_clip(4, 2))
    monkeypatch.setattr(media, "video_header", lambda path: (None, None))
    with pytest.raises(DataError, match=r"does not state its frame rate; pass fps=\.\.\. / --fps"):
        open_recording(video)


def test_no_face_names_the_override_beside_no_align():
    grey = [(n, np.zeros((32, 32), np.uint8)) for n in range(3)]
    with pytest.raises(PreprocessError, match=r"--no-align \(in Python: the override face.mode=none, e.g. "
                                              r"spot_config\('casme2', 'face.mode=none'\)\)"):
        extract_motion(iter(grey), 30.0, spot_config(), aligner=NoFace())
    curves = MotionCurves(30.0, np.arange(30), {}, (), {})
    assert "--no-align / face.mode=none" in peaks._unmeasured("micro", curves, 5, measured=False, aligned=True)
    curves = MotionCurves(30.0, np.arange(3), {}, (), {})
    assert "Predictor.predict_clip" in peaks._unmeasured("micro", curves, 5, measured=False, aligned=True)


def test_a_clip_without_a_face_names_the_arguments_beside_the_options():
    blank = np.zeros((16, 16, 3), np.uint8)
    pair = Clip(source="a + b", kind="pair", _images={0: blank, 1: blank}, _names=("a", "b"),
                face_check=lambda image: None)
    with pytest.raises(PreprocessError, match=r"choose --onset \(onset=\) at a frame"):
        align_clip(pair, aligner=NoFace())
    with pytest.raises(PreprocessError, match=r"Choose --onset/--apex \(onset=/apex=\) among frames"):
        pair.read([0, 1], ("Onset", "Apex"))


def test_the_learned_spotter_names_the_flow_override_beside_set(tmp_path):
    videos = [SimpleNamespace(intervals=[SimpleNamespace(type="micro")])]
    with pytest.raises(DataError, match=r"\(--set method=flow; in Python the override method=flow, e.g. "
                                        r"spot_config\('casme2', 'method=flow'\)\)"):
        LearnedSpotter(spot_config("casme2", "method=learned")).fit(videos)
    with pytest.raises(CheckpointError, match=r"\(its --out, e.g. spotter.pt\) or LearnedSpotter.save wrote"):
        load_spotter(tmp_path)


@pytest.mark.parametrize("finish_load", [finish, finish_long])
def test_a_load_with_issues_names_where_python_finds_them(finish_load, caplog):
    with caplog.at_level(logging.WARNING, logger="mmnet.data"):
        finish_load([], [Issue("s1", "frames", "missing")], None, False)
    assert "`mmnet check-data` lists them (load.issues)" in caplog.text
