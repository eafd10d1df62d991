"""`mmnet spot --spotter-model LEARNED --out DIR` keeps its progress as the flow spotter does: an interrupted run
(Ctrl-C while the networks score the recording, or while classifying) is resumed by the same command, which feeds the
networks only the pairs after it, and writes exactly the files of an uninterrupted run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from mmnet.cli import main
from mmnet.spotting import learned_outputs
from mmnet.spotting.config import spot_config
from mmnet.spotting.learned import LearnedSpotter
from mmnet.spotting.learned_outputs import NetOutputs
from mmnet.spotting.learned_spotting import spot_learned
from mmnet.spotting.partial_state import PARTIAL_NAME, PartialSpot

torch = pytest.importorskip("torch")
pytest.importorskip("cv2")

FRAMES = 90
RESULTS = ("spot.json", "intervals.csv", "spotting.csv")
BATCH = 4  # pairs per forward pass here (256 in use): a cut falls between batches, with pairs waiting for one


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(learned_outputs, "BATCH", BATCH)


def _spotter(seed: int = 0) -> LearnedSpotter:
    """An untrained learned spotter of both types (random networks), small face crops without alignment."""
    from mmnet.spotting.learned_net import make_net

    spotter = LearnedSpotter(spot_config("casme2", ["method=learned", "face.mode=none", "face.width=80",
                                                    "face.height=96", "learned.p=0.05"]))
    torch.manual_seed(seed)
    spotter.nets = {s: (make_net(32).eval(), np.ones(3, np.float32)) for s in ("micro", "macro")}
    return spotter


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A frame folder of 90 face crops (random, each held for 7 frames: a jump every 7 frames) and two saved
    spotters (other weights)."""
    base = tmp_path_factory.mktemp("learned-resume")
    folder = base / "frames"
    folder.mkdir()
    for n in range(1, FRAMES + 1):
        image = np.random.default_rng(n // 7).integers(0, 255, (96, 80, 3), np.uint8)
        Image.fromarray(image).save(folder / f"img{n}.png")
    # two micro intervals, each with an apex after its onset (OpenCV 5; their flows differ from OpenCV 4's: seed 1
    # gave two such with OpenCV 4, one with OpenCV 5; the head's roll removed from the flow, seed 53 gave none)
    _spotter(63).save(base / "spotter.pt")
    _spotter(0).save(base / "other.pt")
    return {"frames": folder, "model": base / "spotter.pt", "other": base / "other.pt"}


def _stopping_at(frames: int | None):
    """A progress callback that raises KeyboardInterrupt once ``frames`` frames are measured (never: None)."""
    done = [0]

    def progress(n):
        done[0] += n
        if done[0] == frames:
            raise KeyboardInterrupt

    return progress


def _scored(monkeypatch) -> list[int]:
    """The positions of the pairs fed to a network from now on."""
    fed, call = [], NetOutputs.__call__
    monkeypatch.setattr(NetOutputs, "__call__", lambda self, scale, pos, *a: fed.append(pos) or call(self, scale,
                                                                                                         pos, *a))
    return fed


@pytest.mark.parametrize("at", [1, 9, 23, 38, 61, 89])
def test_resumed_learned_curves_equal_an_uninterrupted_runs_wherever_it_stopped(recording, tmp_path, monkeypatch,
                                                                                  at):
    """Stopped after ``at`` frames, the networks' outputs so far and the pairs waiting for a batch are kept with the
    motion; the rerun scores only the pairs after it, and its curves and intervals are an uninterrupted run's."""
    spotter, source = _spotter(), recording["frames"]
    whole = spot_learned(spotter, source, fps=30.0)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(KeyboardInterrupt):
        spot_learned(spotter, source, fps=30.0, progress=_stopping_at(at), keep=PartialSpot(out, say=lambda _: None))
    said = []
    keep = PartialSpot(out, say=said.append)
    fed = _scored(monkeypatch)
    resumed = spot_learned(spotter, source, fps=30.0, keep=keep)
    assert said == [f"resuming {source}: {at} of {FRAMES} frames measured (saved {said[0].split('(saved ')[1]}"]
    assert fed and min(fed) >= at  # the pairs before the cut are not fed to the networks again
    assert set(resumed.curves.scores) == {"micro", "macro"}
    for s in ("micro", "macro"):
        np.testing.assert_array_equal(resumed.curves.scores[s], whole.curves.scores[s])
    assert resumed.to_dict() == whole.to_dict() and whole.intervals


def test_the_learned_curves_are_kept_once_measured_and_not_measured_again(recording, tmp_path, monkeypatch):
    """A run stopped after the whole recording is scored (while classifying) spots again from the kept curves."""
    from mmnet.spotting import flow_spotter

    spotter, source, out = _spotter(), recording["frames"], tmp_path / "out"
    out.mkdir()
    first = spot_learned(spotter, source, fps=30.0, keep=PartialSpot(out, say=lambda _: None))
    micro = _spotter()  # a spotter of micro-expressions alone keeps its one curve too
    del micro.nets["macro"]
    (tmp_path / "micro").mkdir()
    first_micro = spot_learned(micro, source, fps=30.0, keep=PartialSpot(tmp_path / "micro", say=lambda _: None))
    said = []
    monkeypatch.setattr(flow_spotter, "_measure", None)  # measuring a frame would fail
    again = spot_learned(spotter, source, fps=30.0, keep=PartialSpot(out, say=said.append))
    assert len(said) == 1 and said[0].startswith(f"resuming {source}: its motion was measured to the end (saved ")
    assert again.to_dict() == first.to_dict()
    again = spot_learned(micro, source, fps=30.0, keep=PartialSpot(tmp_path / "micro", say=said.append))
    assert set(again.curves.scores) == {"micro"} and again.to_dict() == first_micro.to_dict()


def test_other_networks_do_not_continue_the_kept_outputs(recording, tmp_path):
    """Outputs kept by one spotter's networks are not taken over by another's: it says why and scores from the
    start; the flow spotter's progress is not taken over either."""
    source, out = recording["frames"], tmp_path / "out"
    out.mkdir()
    with pytest.raises(KeyboardInterrupt):
        spot_learned(_spotter(0), source, fps=30.0, progress=_stopping_at(20), keep=PartialSpot(out, say=print))
    said = []
    other = spot_learned(_spotter(1), source, fps=30.0, keep=PartialSpot(out, say=said.append))
    assert said[0] == (f"note: {out / PARTIAL_NAME}: it was made by another spotter's networks or setup "
                       f"(weights_sha256 differ); it is kept until this run saves its own progress, and {source} is "
                       "spotted from its start")
    assert other.to_dict() == spot_learned(_spotter(1), source, fps=30.0).to_dict()
    flow = PartialSpot(out, say=said.append)  # the flow spotter with the learned spotter's parameters
    flow.begin(source, 30.0, _spotter(1).config, FRAMES)
    assert flow.curves is None and flow.resume is None and said[-1].endswith("is spotted from its start")


def _spot(recording, out, *extra, model="model") -> int:
    return main(["spot", str(recording["frames"]), "--fps", "30", "--spotter-model", str(recording[model]),
                 "--out", str(out), "--no-progress", *extra])


def _stop_after(monkeypatch, frames: int, doing: str = "spotting") -> None:
    """Ctrl-C once ``frames`` frames of the spotting (or the classifying) pass are done."""
    from mmnet.progress import FrameProgress

    count, stopped = FrameProgress.__call__, []

    def call(self, n):  # the classifying pass reports frames read in steps
        count(self, n)
        if self.doing == doing and self.done >= frames and not stopped:
            stopped.append(self.done)
            raise KeyboardInterrupt

    monkeypatch.setattr(FrameProgress, "__call__", call)


def _results(out) -> dict[str, str]:
    return {name: (out / name).read_text() for name in RESULTS}


@pytest.mark.parametrize("at", [13, 58])
def test_mmnet_spot_with_a_learned_spotter_resumes_to_an_uninterrupted_runs_files(recording, tmp_path, monkeypatch,
                                                                                   capsys, at):
    """Interrupted while the learned spotter ran, `mmnet spot --out` kept nothing and its rerun started from the first
    frame; now it keeps the progress, says so, and the rerun's files are those of one run."""
    assert _spot(recording, tmp_path / "whole") == 0
    with monkeypatch.context() as patch:
        _stop_after(patch, at)
        assert _spot(recording, tmp_path / "out") == 130
    err = capsys.readouterr().err
    assert f"interrupted: nothing was written, but the spotting ({at} of {FRAMES} frames measured) is kept in " \
           f"{tmp_path / 'out' / PARTIAL_NAME}; rerun the same command to resume from there" in err
    with np.load(tmp_path / "out" / PARTIAL_NAME, allow_pickle=False) as archive:
        assert json.loads(archive["meta"].tobytes())["frames"] == at
    fed = _scored(monkeypatch)
    assert _spot(recording, tmp_path / "out") == 0
    assert f"resuming {recording['frames']}: {at} of {FRAMES} frames measured" in capsys.readouterr().err
    assert fed and min(fed) >= at
    assert _results(tmp_path / "out") == _results(tmp_path / "whole")
    assert not (tmp_path / "out" / PARTIAL_NAME).exists()


def test_mmnet_spot_with_a_learned_spotter_resumes_its_classifying(recording, tmp_path, monkeypatch, capsys):
    """With --checkpoint, a run stopped while classifying keeps the learned curves and the classes done: the rerun
    scores no frame again and writes the files of one run."""
    from mmnet.infer import recordings

    from .serve_helpers import make_checkpoint

    monkeypatch.setattr(recordings, "_BATCH", 1)
    model = ["--checkpoint", str(make_checkpoint(tmp_path / "classifier"))]
    assert _spot(recording, tmp_path / "whole", *model) == 0
    micro = [i for i in json.loads((tmp_path / "whole" / "spot.json").read_text())["intervals"]
             if i["type"] == "micro" and i.get("label")]
    assert len(micro) >= 2  # classified ones, what the cut goes through (at the second's onset)
    with monkeypatch.context() as patch:  # a folder's onset and apex files alone are read: stop at the second onset
        _stop_after(patch, 3, doing="classifying")
        assert _spot(recording, tmp_path / "out", *model) == 130
    assert "the motion of the whole recording and the classification of 1 of its" in capsys.readouterr().err
    fed = _scored(monkeypatch)
    assert _spot(recording, tmp_path / "out", *model) == 0
    err = capsys.readouterr().err
    assert "its motion was measured to the end" in err and "resuming the classification: 1 of" in err
    assert fed == []
    assert _results(tmp_path / "out") == _results(tmp_path / "whole")


@pytest.mark.parametrize("damage", ["dtype", "order", "missing"])
def test_damaged_kept_outputs_are_named_and_the_recording_is_scored_from_its_start(recording, tmp_path, damage):
    """Outputs that are not what a run keeps (another type, positions out of order, an array gone) are called
    damaged; the run starts from the first frame and its result is an uninterrupted run's."""
    import io
    import zipfile

    spotter, source, out = _spotter(), recording["frames"], tmp_path / "out"
    out.mkdir()
    with pytest.raises(KeyboardInterrupt):
        spot_learned(spotter, source, fps=30.0, progress=_stopping_at(30), keep=PartialSpot(out, say=print))
    state = out / PARTIAL_NAME
    with np.load(state, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    if damage == "dtype":
        arrays["learned_micro_scores"] = arrays["learned_micro_scores"].astype(np.float32)
    elif damage == "order":
        arrays["learned_micro_positions"] = arrays["learned_micro_positions"][::-1].copy()
    else:
        del arrays["learned_macro_features"]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    state.write_bytes(buffer.getvalue())
    assert zipfile.is_zipfile(state)
    said = []
    resumed = spot_learned(spotter, source, fps=30.0, keep=PartialSpot(out, say=said.append))
    assert len(said) == 1 and "cannot be read (" in said[0] and "it is damaged" in said[0], said
    assert resumed.to_dict() == spot_learned(spotter, source, fps=30.0).to_dict()
