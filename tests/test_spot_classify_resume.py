"""`mmnet spot --out DIR --checkpoint MODEL` keeps its classification too: a run interrupted while classifying is
resumed by the same command, which classifies only the intervals not yet done and writes exactly the files of an
uninterrupted run."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from mmnet.cli import main
from mmnet.infer import Predictor, recordings
from mmnet.spotting.partial_state import PARTIAL_NAME

pytest.importorskip("torch")
pytest.importorskip("av")

RESULTS = ("spot.json", "intervals.csv", "spotting.csv")
BATCH = 2  # intervals per forward pass here (16 in use): several batches on a short recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A 10 s frame folder of face crops with micro intervals (four classified, the others of zero motion), the
    same as a video, and two untrained classifiers."""
    from .serve_helpers import make_checkpoint, mp4_bytes, synth_frames

    base = tmp_path_factory.mktemp("classify-resume")
    frames = np.concatenate([synth_frames(n=40, apex=15 + (s % 3) * 5, seed=s + 1) for s in range(8)])
    folder = base / "frames"
    folder.mkdir()
    for n, image in enumerate(frames, start=1):
        Image.fromarray(image).save(folder / f"img{n}.png")
    video = base / "rec.mp4"
    video.write_bytes(mp4_bytes(frames))
    return {"folder": folder, "video": video, "model": make_checkpoint(base / "model"),
            "other": make_checkpoint(base / "other", seed=1)}


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(recordings, "_BATCH", BATCH)


def _spot(source, out, model, *extra) -> int:
    fps = ["--fps", "30"] if source.is_dir() else []
    where = ["--out", str(out)] if out is not None else ["--json"]
    return main(["spot", str(source), *where, "--no-progress", "--no-align", "--checkpoint", str(model), *fps,
                 *extra])


def _results(out) -> dict[str, str]:
    return {name: (out / name).read_text() for name in RESULTS}


def _stop_classifying_at(monkeypatch, frames: int) -> None:
    """Ctrl-C once ``frames`` frames of the classifying pass are read."""
    from mmnet.progress import FrameProgress

    count = FrameProgress.__call__

    def call(self, n):
        count(self, n)
        if self.doing == "classifying" and self.done == frames:
            raise KeyboardInterrupt

    monkeypatch.setattr(FrameProgress, "__call__", call)


def _interrupt(*args):
    raise KeyboardInterrupt


def _counting_pairs(monkeypatch) -> list[int]:
    """The size of every batch classified from now on."""
    batches, predict = [], Predictor.predict_frames
    monkeypatch.setattr(Predictor, "predict_frames",
                        lambda self, onsets, apexes: batches.append(len(onsets)) or predict(self, onsets, apexes))
    return batches


@pytest.fixture(scope="module")
def reference(recording, tmp_path_factory):
    """Each recording's files from an uninterrupted run (classified 2 at a time), checked against the classes of
    the path that keeps nothing (no --out)."""
    out, mp = {}, pytest.MonkeyPatch()
    mp.setattr(recordings, "_BATCH", BATCH)
    try:
        for kind in ("folder", "video"):
            folder = tmp_path_factory.mktemp(f"reference-{kind}")
            assert _spot(recording[kind], folder, recording["model"]) == 0
            assert not (folder / PARTIAL_NAME).exists()
            out[kind] = _results(folder)
            capture = io.StringIO()
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr("sys.stdout", capture)
                assert _spot(recording[kind], None, recording["model"]) == 0
            unkept = json.loads(capture.getvalue())["intervals"]
            assert json.loads(out[kind]["spot.json"])["intervals"] == unkept
    finally:
        mp.undo()
    intervals = json.loads(out["folder"]["spot.json"])["intervals"]
    micro = [i for i in intervals if i["type"] == "micro"]
    # what the tests cut through: four classified micro intervals, two batches (their count follows the flow: the
    # frames' seeds (1-8) give four with the head-motion fit, which gave three from seeds 0-7)
    assert sum(i.get("label") is not None for i in micro) == 4, micro
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "at", "done", "batches"), [
    ("folder", 1, 0, [2, 2]),  # on the first frame read: nothing classified yet, all again
    ("folder", 7, 3, [2]),  # the first batch (and the zero-motion interval in it) kept
    ("folder", None, 7, []),  # all classified, stopped while the files are written
    ("video", 130, 3, [2]),  # a video's frames are decoded again up to the rest's
])
def test_an_interrupted_classification_resumes_with_the_rest_only(recording, reference, kind, at, done, batches,
                                                                  tmp_path, monkeypatch, capsys):
    """Of the frames read for the classifying (a folder's onset and apex files, a video decoded up to the last
    apex) the run stops at frame ``at``; the rerun classifies what was not done, in the same batches."""
    from mmnet.spotting import timeline

    source, out = recording[kind], tmp_path / "out"
    with monkeypatch.context() as patch:
        if at is None:
            patch.setattr(timeline, "timeline_png", _interrupt)
        else:
            _stop_classifying_at(patch, at)
        assert _spot(source, out, recording["model"]) == 130
    err = capsys.readouterr().err
    state = out / PARTIAL_NAME
    if done:
        assert (f"interrupted: the motion of the whole recording and the classification of {done} of its 7 "
                f"micro-expressions is kept in {state}; rerun the same command to continue from there") in err
    else:
        assert f"interrupted: the motion of the whole recording is kept in {state};" in err
    assert not (out / "spot.json").exists()
    classified = _counting_pairs(monkeypatch)
    assert _spot(source, out, recording["model"]) == 0
    err = capsys.readouterr().err
    assert f"resuming {source}: its motion was measured to the end" in err
    if done:
        assert f"resuming the classification: {done} of 7 micro-expression(s) done before" in err
    assert classified == batches  # only the intervals not done are classified
    assert _results(out) == reference[kind]
    assert not state.exists()


@pytest.mark.slow
def test_another_classifier_or_damaged_classes_start_the_classification_again(recording, reference, tmp_path,
                                                                             monkeypatch, capsys):
    """The motion curves are kept whatever the model, but classes kept are another model's: they are not taken over
    (the line names what differs); nor are entries that are not what a run writes."""
    source, out = recording["folder"], tmp_path / "out"
    with monkeypatch.context() as patch:
        _stop_classifying_at(patch, 6)
        assert _spot(source, out, recording["model"]) == 130
    state = out / PARTIAL_NAME
    classified = _counting_pairs(monkeypatch)
    other = tmp_path / "other"
    shutil.copytree(out, other)
    assert _spot(source, other, recording["other"]) == 0
    err = capsys.readouterr().err
    assert f"note: the classification kept in {other / PARTIAL_NAME} was made by another classifier or setup " \
           "(weights_sha256 differ); the micro-expressions are classified from the first" in err
    assert classified == [2, 2] and "resuming the classification" not in err

    with np.load(state, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    document = json.loads(arrays.pop("meta").tobytes())
    document["classified"]["entries"][1][3] = "joy"  # a class this model does not have
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(json.dumps(document).encode(), np.uint8), **arrays)
    state.write_bytes(buffer.getvalue())
    classified.clear()
    assert _spot(source, out, recording["model"]) == 0
    err = capsys.readouterr().err
    assert f"note: the classification kept in {state} cannot be read (ValueError: entry 1's class 'joy'" in err
    assert "it is damaged; the micro-expressions are classified from the first" in err
    assert classified == [2, 2] and _results(out) == reference["folder"]


@pytest.mark.slow
def test_the_classification_is_saved_as_it_goes_not_only_when_stopped(recording, reference, tmp_path, monkeypatch,
                                                                       capsys):
    """A kill -9 saves nothing then: the rerun continues from the last periodic save (here after every frame)."""
    from mmnet.spotting import partial_state

    source, out = recording["folder"], tmp_path / "out"
    monkeypatch.setattr(partial_state, "SAVE_EVERY_S", 0.0)
    with monkeypatch.context() as patch:
        _stop_classifying_at(patch, 9)
        patch.setattr(partial_state.PartialSpot, "save_classified", _saved_but_not_on_a_stop(patch))
        assert _spot(source, out, recording["model"]) == 130
    classified = _counting_pairs(monkeypatch)
    capsys.readouterr()
    assert _spot(source, out, recording["model"]) == 0
    assert "resuming the classification: 3 of 7 micro-expression(s) done before" in capsys.readouterr().err
    assert classified == [2] and _results(out) == reference["folder"]


def _saved_but_not_on_a_stop(patch):
    """``save_classified`` that does nothing once a KeyboardInterrupt is on its way (as a kill -9)."""
    import sys

    from mmnet.spotting.partial_state import PartialSpot

    save = PartialSpot.save_classified

    def saving(self, *args):
        if not isinstance(sys.exc_info()[1], KeyboardInterrupt):
            save(self, *args)

    return saving
