"""The learned spotter (SoftNet-like, pseudo-labels) beside the flow spotter: one interface, config, LOSO, CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mmnet.cli import main
from mmnet.data.long_video import LongVideo
from mmnet.errors import CheckpointError, ConfigError, DataError, PreprocessError
from mmnet.spotting.config import spot_config
from mmnet.spotting.intervals import Interval
from mmnet.spotting.learned import FlowSpotter, LearnedSpotter, load_spotter
from mmnet.spotting.learned_net import coverage, pair_label
from mmnet.spotting.spotters import make_spotter

from .fakes_long import tiny_recordings

pytest.importorskip("cv2")
pytest.importorskip("torch")
face_extra = pytest.mark.skipif(
    __import__("importlib").util.find_spec("dlib") is None, reason="needs the face extra (dlib)")

# Frames that are the face crop (face.mode=none), small so that rendering and flow stay fast; at an 80 px face the
# expressions get the amplitudes (in crop pixels) that the default ones have at the demo's 140 px face and above.
TINY_SPOT = ["method=learned", "face.mode=none", "face.width=80", "face.height=96", "learned.epochs=10"]


def test_make_spotter_chooses_by_config_and_learned_overrides_are_checked():
    assert isinstance(make_spotter(spot_config()), FlowSpotter)
    assert spot_config().method == "flow"
    learned = make_spotter(spot_config("samm", ["method=learned", "learned.epochs=3"]), seed=4)
    assert isinstance(learned, LearnedSpotter) and learned.config.learned.epochs == 3 and learned.seed == 4
    assert learned.config.macro.k == 174  # the preset still applies
    with pytest.raises(ConfigError, match="method"):
        spot_config("casme2", ["method=deep"])
    with pytest.raises(ConfigError, match="learned.depth"):
        spot_config("casme2", ["learned.depth=3"])
    with pytest.raises(ConfigError, match="learned.size"):
        spot_config("casme2", ["learned.size=7"])
    assert FlowSpotter(spot_config()).fit([]) == {}


def test_threads_sharing_a_spotter_build_one_face_aligner(monkeypatch):
    # the lazy creation had no lock: threads of `mmnet serve --workers` on one spotter each loaded the landmark model
    import threading
    import time

    import mmnet.preprocess

    built = []

    class SlowAligner:  # as slow to build as a landmark model, so that every thread reaches the creation at once
        def __init__(self, *args, **kwargs):
            built.append(self)
            time.sleep(0.2)

    monkeypatch.setattr(mmnet.preprocess, "FaceAligner", SlowAligner)
    spotter = make_spotter(spot_config("casme2", ["method=learned"]))
    assert isinstance(spotter, LearnedSpotter) and spotter.config.face.mode == "align"
    start, got = threading.Barrier(8), []

    def first_use():
        start.wait()
        got.append(spotter.aligner())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and len(got) == 8 and all(a is built[0] for a in got)


def test_pseudo_label_is_the_overlap_fraction():
    ivs = [Interval(10, 12, 14, "macro"), Interval(20, 21, 22, "micro")]
    cum = coverage(ivs, "macro", 30)
    assert pair_label(cum, 0, 9) == 0.0
    assert pair_label(cum, 10, 14) == 1.0
    assert pair_label(cum, 12, 19) == pytest.approx(3 / 8)
    assert pair_label(coverage(ivs, "micro", 30), 10, 14) == 0.0


def _video(path: Path, intervals, subject="s15", video="15_0101", frames=()) -> LongVideo:
    return LongVideo("casme-sq", subject, video, 30.0, path, tuple(frames), tuple(intervals))


def test_bad_inputs_give_clear_errors(tmp_path):
    spotter = LearnedSpotter(spot_config("casme2", ["face.mode=none"]))
    only_macro = _video(tmp_path, [Interval(5, 8, 20, "macro")])
    with pytest.raises(DataError, match="no micro interval to learn from"):
        spotter.fit([only_macro])
    with pytest.raises(DataError, match="no training videos"):
        spotter.fit([])
    with pytest.raises(ConfigError, match="not trained"):
        spotter.spot(tmp_path, fps=30.0)
    with pytest.raises(ConfigError, match="not trained"):
        spotter.save(tmp_path / "m.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="not a spotter saved by mmnet"):
        load_spotter(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_spotter(tmp_path / "absent.pt")


def test_a_damaged_spotter_file_or_a_folder_is_called_what_it_is(tmp_path):
    # a folder was said not to exist; an empty or cut spotter.pt "is not a spotter saved by mmnet"
    path = tmp_path / "spotter.pt"
    FlowSpotter(spot_config()).save(path)
    assert isinstance(load_spotter(path), FlowSpotter)
    assert [p.name for p in tmp_path.iterdir()] == ["spotter.pt"]
    data = path.read_bytes()
    for cut, words in [(len(data) // 2, "is damaged or cut short"), (0, "is empty")]:
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=rf"spotter\.pt' {words} .*retrain it with `mmnet train-spotter`"):
            load_spotter(path)
    with pytest.raises(CheckpointError, match="is a folder; give the file"):
        load_spotter(tmp_path)


@face_extra
def test_video_without_a_face_is_an_error_naming_it(tmp_path):
    from PIL import Image

    folder = tmp_path / "rawpic" / "s15" / "15_0101blank"
    folder.mkdir(parents=True)
    for n in range(1, 41):
        Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(folder / f"img{n}.jpg")
    video = _video(folder, [Interval(5, 8, 20, "macro"), Interval(25, 27, 30, "micro")])
    with pytest.raises(PreprocessError, match="15_0101.*no face found"):
        LearnedSpotter(spot_config("casme2")).fit([video])


def test_a_learned_spotter_is_trained_for_the_types_it_is_given_and_no_other_is_guessed(tmp_path):
    spotter = LearnedSpotter(spot_config("casme2", ["face.mode=none"]))
    only_micro = _video(tmp_path, [Interval(5, 8, 12, "micro")])
    # a dataset that annotates macro-expressions too: training videos without one are a mistake, said
    with pytest.raises(DataError, match=r"no macro interval to learn from.*types=\('micro',\) for micro"):
        spotter.fit([only_micro])
    with pytest.raises(DataError, match="no micro interval to learn from"):
        spotter.fit([_video(tmp_path, [Interval(5, 8, 20, "macro")])], types=("micro",))
    for bad in ((), ("micro", "blink")):
        with pytest.raises(ConfigError, match="types are some of micro, macro"):
            spotter.fit([only_micro], types=bad)


def _random_frames(folder: Path, n: int = 50, held: int = 1) -> Path:
    """``n`` frames of noise, each image held for ``held`` frames (a jump every ``held`` frames)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        image = np.random.default_rng(i // held).integers(0, 255, (96, 80, 3), np.uint8)
        Image.fromarray(image).save(folder / f"img{i}.png")
    return folder


def test_a_micro_only_learned_spotter_spots_saves_and_loads_micro_only(tmp_path, capsys):
    # a spotter trained on a dataset of micro-expressions alone (CAS(ME)^3's label file) has no macro network
    import torch

    from mmnet.commands.spot import format_text
    from mmnet.spotting.learned_net import make_net
    from mmnet.spotting.timeline import timeline_png

    # jumps every 7 frames: an untrained net's curve has peaks whatever the OpenCV version's flow (plain noise gave
    # an interval with OpenCV 4 and none with OpenCV 5)
    frames = _random_frames(tmp_path / "frames", held=7)
    spotter = LearnedSpotter(spot_config("casme2", ["method=learned", "face.mode=none", "learned.p=0.05"]))
    torch.manual_seed(1)
    spotter.nets = {"micro": (make_net(32).eval(), np.ones(3, np.float32))}
    assert spotter.types == ("micro",)
    result = spotter.spot(frames, fps=30.0)
    assert set(result.details) == {"micro"} and result.intervals and {i.type for i in result.intervals} == {"micro"}
    assert list(result.to_dict()["thresholds"]) == ["micro"] and timeline_png(result)[:4] == b"\x89PNG"
    assert "lr" in result.to_dict()["config"]["learned"]  # the learned spotter's own settings stay
    assert "interval(s) (this spotter spots micro-expressions only)" in format_text(result).splitlines()[0]
    spotter.save(tmp_path / "micro.pt")
    saved = torch.load(tmp_path / "micro.pt", weights_only=True)
    assert saved["types"] == ["micro"] and set(saved["nets"]) == {"micro"} and saved["version"] == 2
    again = load_spotter(tmp_path / "micro.pt")
    seen = []  # a caller (the server) follows every frame
    assert again.types == ("micro",) and again.spot(frames, fps=30.0, on_frame=lambda *a: seen.append(a)).intervals \
        == result.intervals
    assert seen == [(n, len(seen)) for n in range(1, len(seen) + 1)] and len(seen) == len(result.curves.numbers)
    assert main(["spot", str(frames), "--fps", "30", "--spotter-model", str(tmp_path / "micro.pt"), "--json",
                 "--no-progress"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["thresholds"]) == ["micro"] and {i["type"] for i in data["intervals"]} == {"micro"}
    with pytest.MonkeyPatch.context() as patch:  # interrupted without --out: nothing kept, as the flow spotter
        patch.setattr(LearnedSpotter, "spot_kept", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
        assert main(["spot", str(frames), "--fps", "30", "--spotter-model", str(tmp_path / "micro.pt"),
                     "--no-progress"]) == 130
    assert "interrupted: nothing was written or kept (give --out DIR to keep partial progress); a rerun spots the " \
        "recording from its start\n" in capsys.readouterr().err  # with --out: tests/test_spot_learned_resume.py
    # a spotter of both types is still written as version 1 (an older mmnet reads it) and loads both
    spotter.nets["macro"] = (make_net(32).eval(), np.ones(3, np.float32))
    spotter.save(tmp_path / "both.pt")
    assert torch.load(tmp_path / "both.pt", weights_only=True)["version"] == 1
    assert load_spotter(tmp_path / "both.pt").types == ("micro", "macro")


@pytest.mark.parametrize("n", [2, 6])
def test_a_learned_spotter_says_why_a_recording_shorter_than_its_windows_has_no_intervals(tmp_path, n):
    # 2 and 5-8 frames at 30 fps crashed placing the scores at their pairs' middles
    import torch

    from mmnet.spotting.learned_net import make_net

    spotter = LearnedSpotter(spot_config("casme2", ["method=learned", "face.mode=none"]))
    torch.manual_seed(0)
    spotter.nets = {s: (make_net(32).eval(), np.ones(3, np.float32)) for s in ("micro", "macro")}
    result = spotter.spot(_random_frames(tmp_path / "frames", n), fps=30.0)
    assert result.intervals == []
    for scale in ("micro", "macro"):
        assert result.details[scale]["note"].startswith(f"the recording ({n} frames) is shorter than the {scale}")


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    return tiny_recordings(tmp_path_factory.mktemp("learned") / "set", subjects=3, minutes=0.5, seed=5)


@pytest.mark.slow
def test_fit_spot_save_load_round_trip_and_loso_above_baseline(tiny_set, tmp_path):
    from mmnet.spotting.loso import loso_spotting

    root, load = tiny_set
    config = spot_config("casme2", TINY_SPOT)
    out = loso_spotting(load, config, seed=0)
    learned, baseline = out["counts"]["macro"], out["baseline"]["macro"]
    # The baseline makes as many guesses per video as the spotter, evenly spaced, of the true mean length.
    assert learned["tp"] >= 3 and learned["f1"] >= baseline["f1"] + 0.25, (learned, baseline)
    assert [f["subject"] for f in out["folds"]] == sorted({v.subject for v in load.videos})

    spotter = make_spotter(config, seed=1)
    stats = spotter.fit(load.videos[:2])
    assert stats["macro"]["positives"] > 0 and len(stats["micro"]["loss"]) == 10
    result = spotter.spot(load.videos[2])
    spotter.save(tmp_path / "spotter.pt")
    again = LearnedSpotter.load(tmp_path / "spotter.pt")
    assert again.config == spotter.config and again.seed == 1
    # what it learnt from is saved with it (score-spots then says when scores on those videos are in-sample)
    assert again.fitted_on == {"dataset": load.videos[0].dataset, "videos": sorted(v.video for v in load.videos[:2]),
                               "subjects": sorted({v.subject for v in load.videos[:2]}),
                               "videos_of": {v.subject: [v.video] for v in load.videos[:2]}}
    assert again.spot(load.videos[2]).intervals == result.intervals
    assert again.spot(load.videos[2].path, fps=30.0).intervals == result.intervals  # a frame folder works too
    with pytest.raises(CheckpointError, match="learned spotter, not a flow"):
        FlowSpotter.load(tmp_path / "spotter.pt")


@pytest.mark.slow
def test_cli_train_spotter_then_spot_with_it(tiny_set, tmp_path, capsys):
    root, load = tiny_set
    model = tmp_path / "spotter.pt"
    sets = [a for o in TINY_SPOT[1:] if not o.startswith("learned.epochs") for a in ("--set", o)]
    assert main(["train-spotter", "casme-sq", "--root", str(root), "--out", str(model), "--set", "learned.epochs=1",
                 *sets, "--no-progress"]) == 0
    assert "wrote" in capsys.readouterr().out and model.is_file()
    video = load.videos[0].path
    assert main(["spot", str(video), "--fps", "30", "--spotter-model", str(model), "--json", "--no-progress"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["config"]["method"] == "learned" and data["frames"] == load.videos[0].n_frames
    assert main(["spot", str(video), "--fps", "30", "--spotter-model", str(model), "--set", "macro.p=0.1"]) == 3
    assert "carries its own parameters" in capsys.readouterr().err


@pytest.mark.slow
def test_a_dataset_of_micro_expressions_alone_trains_and_loso_scores_a_micro_only_learned_spotter(
        tiny_set, tmp_path, monkeypatch, capsys):
    # such a dataset (CAS(ME)^3 from its label file) was refused: the learned spotter wanted a macro network too
    from dataclasses import replace

    import mmnet.data

    root, load = tiny_set
    micro = replace(load, types=("micro",), videos=[replace(v, intervals=tuple(v.of_type("micro")))
                                                   for v in load.videos])
    assert all(v.of_type("micro") for v in micro.videos) and not any(v.of_type("macro") for v in micro.videos)
    monkeypatch.setattr(mmnet.data, "load_dataset", lambda name, root, annotation=None: micro)
    model = tmp_path / "spotter.pt"
    sets = [a for o in TINY_SPOT[1:] if not o.startswith("learned.epochs") for a in ("--set", o)]
    assert main(["train-spotter", "casme-sq", "--root", str(root), "--out", str(model), "--set", "learned.epochs=2",
                 *sets, "--loso", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "micro    spotter" in printed and "macro    spotter" not in printed
    out = json.loads(model.with_name("spotter.pt.loso.json").read_text())
    assert out["types"] == ["micro"] and set(out["counts"]) == {"micro", "overall"}
    assert all(set(f["fit"]) == {"videos", "micro"} for f in out["folds"]) and len(out["folds"]) == 3
    assert {i["type"] for ivs in out["predictions"].values() for i in ivs} == {"micro"}
    rows = model.with_name("spotter.pt.loso.spotting.csv").read_text().splitlines()[1:]
    assert rows and {r.split(",")[3] for r in rows} == {"me"}  # MEGC's name of a micro-expression
    spotter = load_spotter(model)
    assert spotter.types == ("micro",) and set(spotter.stats) == {"videos", "micro"}
    assert {i.type for i in spotter.spot(load.videos[0]).intervals} <= {"micro"}


def test_learned_threshold_p_is_a_config_value(tmp_path, monkeypatch):
    from PIL import Image

    from mmnet.config import load_config
    from mmnet.spotting import learned_spotting as learned_module
    from mmnet.spotting.learned_net import make_net
    from mmnet.train.spot_recognise import spot_settings

    assert spot_config().learned.p == 0.55  # SoftNet's, the default
    with pytest.raises(ConfigError, match="learned.p"):
        spot_config("casme2", ["learned.p=1.5"])
    cfg = load_config(None, ["data.dataset=casme-sq", "spotting.overrides=[method=learned, learned.p=0.3]"])
    assert spot_settings(cfg).learned.p == 0.3  # mmnet train's spotting section reaches it
    rng = np.random.default_rng(0)
    for n in range(50):
        Image.fromarray(rng.integers(0, 255, (96, 80, 3), np.uint8)).save(tmp_path / f"img{n}.png")
    seen, real = [], learned_module.spot_intervals

    def capture(curves, config, *types):
        seen.append((config.micro.p, config.macro.p))
        return real(curves, config, *types)

    monkeypatch.setattr(learned_module, "spot_intervals", capture)
    for p in (0.55, 0.2):
        spotter = LearnedSpotter(spot_config("casme2", ["method=learned", "face.mode=none", f"learned.p={p}"]))
        spotter.nets = {s: (make_net(32).eval(), np.ones(3, np.float32)) for s in ("micro", "macro")}
        result = spotter.spot(tmp_path, fps=30.0)
        assert result.config.learned.p == p
    assert seen == [(0.55, 0.55), (0.2, 0.2)]


def test_mirrored_features_are_the_features_of_the_mirrored_flow():
    """learned.flip mirrors feature maps: the same as mirroring the face's flow with u negated."""
    from mmnet.spotting.learned_net import FeatureMaker
    from mmnet.spotting.regions import Regions

    h, w = 64, 64
    boxes = {"brow_right": (10, 22, 8, 28), "brow_left": (10, 22, 36, 56), "mouth": (40, 56, 16, 48)}  # symmetric

    def flat(r0, r1, c0, c1):
        mask = np.zeros((h, w), bool)
        mask[r0:r1, c0:c1] = True
        return np.flatnonzero(mask)

    regions = Regions({k: flat(*b) for k, b in boxes.items()}, flat(0, 8, 28, 36), (h, w))
    rng = np.random.default_rng(1)
    flow = rng.normal(0, 1, (2, h, w)).astype(np.float32)
    mirrored = np.stack([-flow[0][:, ::-1], flow[1][:, ::-1]])  # the mirrored face: x reversed, u negated
    a = FeatureMaker(32)(flow, regions).astype(np.float32)
    b = FeatureMaker(32)(np.ascontiguousarray(mirrored), regions).astype(np.float32)
    np.testing.assert_allclose(b, a[:, :, ::-1], atol=2e-2 * float(np.abs(a).max()))
    assert not np.allclose(a, a[:, :, ::-1], atol=2e-2 * float(np.abs(a).max()))  # the check can fail


def test_flip_augmentation_is_configurable_and_on_by_default(monkeypatch):
    import torch

    from mmnet.spotting import learned as learned_module
    from mmnet.spotting.learned_net import mirror_half, train_net

    assert spot_config().learned.flip is True
    xb = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4).repeat(50, 1, 1, 1)
    out = mirror_half(xb, np.random.default_rng(0))
    flipped = [bool(torch.equal(o, x.flip(-1))) for o, x in zip(out, xb)]
    kept = [bool(torch.equal(o, x)) for o, x in zip(out, xb)]
    assert all(f != k for f, k in zip(flipped, kept)) and 30 <= sum(flipped) <= 70
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (64, 3, 12, 12)).astype(np.float16)
    y = (rng.random(64) < 0.3).astype(np.float32)

    def weights(flip):
        net, _, _ = train_net(x, y, size=12, epochs=2, batch=16, lr=1e-3, seed=0, flip=flip)
        return torch.cat([p.detach().flatten() for p in net.parameters()])

    assert torch.equal(weights(False), weights(False)) and torch.equal(weights(True), weights(True))
    assert not torch.equal(weights(False), weights(True))
    calls = []
    monkeypatch.setattr(learned_module, "train_net", lambda *a, **k: (calls.append(k["flip"]), None, None, {})[1:])
    parts = [{s: (x, y) for s in ("micro", "macro")}]
    LearnedSpotter(spot_config("casme2", ["learned.size=12"])).fit_collected(parts)
    LearnedSpotter(spot_config("casme2", ["learned.flip=false", "learned.size=12"])).fit_collected(parts)
    assert calls == [True, True, False, False]


@pytest.mark.slow
def test_the_spotting_docs_python_example_runs(tiny_set, tmp_path, monkeypatch):
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "spotting.md").read_text()
    snippet = re.search(r"<!-- snippet: spotters-python -->\s*```python\n(.*?)```", text, re.S).group(1)
    root, _ = tiny_set
    # the tiny recordings are face crops: the snippet's dataset and overrides swapped for theirs, one epoch
    for doc, ours in (('"/data/CASME_sq"', repr(str(root))),
                      ('["method=learned", "learned.epochs=10"]', repr(TINY_SPOT[:-1] + ["learned.epochs=1"]))):
        assert doc in snippet
        snippet = snippet.replace(doc, ours)
    monkeypatch.chdir(tmp_path)
    names: dict = {}
    exec(compile(snippet, "docs/spotting.md", "exec"), names)
    assert isinstance(names["spotter"], LearnedSpotter) and (tmp_path / "spotter.pt").is_file()
    assert set(names["scores"]["counts"]) == {"micro", "macro", "overall"}


@pytest.mark.slow
def test_train_spotter_keeps_its_state_in_model_status_json(tiny_set, tmp_path, monkeypatch):
    # MODEL.log had no status.json beside it: a program could not tell a fit still running from one that was killed
    root, _ = tiny_set
    model = tmp_path / "spotter.pt"
    status = tmp_path / "spotter.pt.status.json"
    real, seen = LearnedSpotter.fit, {}

    def fit_seen(self, *a, **k):  # the final fit, after the LOSO's folds
        seen.update(json.loads(status.read_text()))
        return real(self, *a, **k)

    monkeypatch.setattr(LearnedSpotter, "fit", fit_seen)
    from mmnet.run_status import Status

    real_write, epochs_seen = Status.write, []

    def write_seen(self, **k):  # every state handed to status.json (its writes on epochs are at most every 5 s)
        if self.path == status:
            epochs_seen.append((self.data["fold"], self.data["epoch"], self.data["epochs"]))
        return real_write(self, **k)

    monkeypatch.setattr(Status, "write", write_seen)
    sets = [a for o in TINY_SPOT[1:] if not o.startswith("learned.epochs") for a in ("--set", o)]
    assert main(["train-spotter", "casme-sq", "--root", str(root), "--out", str(model), "--set", "learned.epochs=1",
                 *sets, "--loso", "--no-progress"]) == 0
    assert (seen["state"], seen["pid"], seen["exit_code"], seen["ended_at"]) == ("running", os.getpid(), None, None)
    assert (seen["folds_finished"], seen["folds_total"], seen["fold"]) == (3, 4, "final fit (every video)")
    assert " train-spotter casme-sq " in seen["command"] and seen["started_at"]
    # the learned spotter's epochs (1 per type, the types one after another) in each fold, the final fit's too
    final = [(e, n) for f, e, n in epochs_seen if f == "final fit (every video)" and e]
    assert final and final[-1][0] == final[-1][1] == len(final) >= 1
    assert any(f.startswith("LOSO fold ") and e for f, e, _ in epochs_seen if f)
    ended = json.loads(status.read_text())
    assert (ended["state"], ended["exit_code"], ended["folds_finished"], ended["fold"]) == ("done", 0, 4, None)
    assert ended["ended_at"] >= ended["started_at"]
    assert model.with_name("spotter.pt.log").read_text().splitlines()[-1].endswith(" exited 0 (done)")
