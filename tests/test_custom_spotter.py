"""A spotter of one's own, without editing mmnet: a ``Spotter`` subclass named by its import path
(``method="package.module:Class"``), its score curve turned into intervals by ``spot_scores``, used by ``mmnet spot
--spotter-model``, ``train-spotter`` and LOSO; the timeline of a result without curves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmnet.cli import main
from mmnet.data.long_video import LongVideo, LongVideoLoad
from mmnet.errors import ConfigError
from mmnet.spotting import Spotter, load_spotter, spot_scores
from mmnet.spotting.base import open_recording, recording_source
from mmnet.spotting.config import spot_config
from mmnet.spotting.intervals import Interval
from mmnet.spotting.spotters import SPOTTERS, make_spotter

pytest.importorskip("torch")

FLASH = range(41, 51)  # the frames (numbered from 1) where the face lights up: one "micro-expression"


class BrightSpotter(Spotter):
    """Scores a frame by its mean brightness; it "learns" by counting its training videos (it must be fitted)."""

    def __init__(self, config, *, seed=0, device="cpu"):
        super().__init__(config, seed=seed, device=device)
        self.trained_on = 0

    def fit(self, videos, *, types=("micro", "macro"), progress=False):
        self.trained_on = len(list(videos))
        return {"videos": self.trained_on, "micro": {"videos": self.trained_on}}  # its own statistics

    def spot(self, video, *, fps=None, progress=False, on_frame=None):
        if not self.trained_on:
            raise ConfigError("BrightSpotter is not trained")
        path, fps, name = recording_source(video, fps)
        frames, rate, total = open_recording(path, fps)
        numbers, score = [], []
        for done, (number, frame) in enumerate(frames, 1):
            numbers.append(number)
            score.append(float(frame.mean()))
            if on_frame is not None:
                on_frame(done, total)
        return spot_scores({"micro": score}, fps=rate, config=self.config, numbers=numbers, source=str(path))

    def _payload(self):
        return {**super()._payload(), "trained_on": self.trained_on}

    def _restore(self, data):
        self.trained_on = int(data["trained_on"])


class Untrained(BrightSpotter):
    """The same, with nothing to learn: usable as it is."""

    fold_independent = True

    def __init__(self, config, *, seed=0, device="cpu"):
        super().__init__(config, seed=seed, device=device)
        self.trained_on = 1


class Declared(Spotter):
    """A spotter that names itself ``fixed``: saved under a name no mmnet knows."""

    method = "fixed"


class NotASpotter:
    pass


def _recording(folder: Path, frames: int = 90) -> Path:
    folder.mkdir(parents=True)
    for n in range(1, frames + 1):
        Image.new("RGB", (16, 16), (200, 200, 200) if n in FLASH else (60, 60, 60)).save(folder / f"img{n}.png")
    return folder


def _config(method: str):
    return spot_config("casme2", [f"method={method}", "face.mode=none"])


def test_a_spotter_of_ones_own_is_named_by_its_import_path():
    assert BrightSpotter.method == f"{__name__}:BrightSpotter"
    spotter = make_spotter(_config(BrightSpotter.method), seed=2)
    assert type(spotter) is BrightSpotter and spotter.config.method == BrightSpotter.method and spotter.seed == 2


@pytest.mark.parametrize("method, said", [
    ("nosuchmodule.spot:Mine", r"module 'nosuchmodule' is not found"),
    (f"{__name__}:Missing", r"has no attribute 'Missing'"),
    (f"{__name__}:NotASpotter", r"is a type, not a subclass of mmnet.spotting.base.Spotter"),
    ("fixed", r"Unknown method 'fixed'. Valid values are \{flow, learned\}, or a spotter of your own as "
              r"'package.module:Class'"),
])
def test_a_method_that_names_no_spotter_is_refused_when_the_config_is_made(method, said):
    with pytest.raises(ConfigError, match=said):
        spot_config("casme2", [f"method={method}"])


def test_a_class_that_names_itself_otherwise_is_refused_with_its_import_path():
    with pytest.raises(ConfigError, match=rf"Declared.method is 'fixed'.*leave `method` unset.*{__name__}:Declared"):
        Declared(spot_config())


@pytest.mark.parametrize("module, where", [("__main__", "in the script run as __main__"),
                                           (__name__, "inside a function")])
def test_a_spotter_no_process_can_import_by_name_is_refused(module, where):
    # one defined in a script run as __main__ was named '__main__:Mine' and saved a model nothing could load
    def local():
        class Mine(Spotter):
            def spot(self, video, **kwargs):
                return None

        return Mine

    cls = type("Mine", (Spotter,), {"__module__": "__main__"}) if module == "__main__" else local()
    assert cls.method == ""  # not named by a path no later process can import
    with pytest.raises(ConfigError, match=rf"Mine is defined {where}.*import path, 'package.module:Class'.*define it "
                                          r"at a module's top level"):
        cls(spot_config())


def test_spot_scores_turns_a_score_curve_into_intervals():
    curve = np.full(200, 1.0)
    curve[100:110] = 5.0  # 10 frames: within the CAS(ME)^2 micro gate (6-16 frames at 30 fps)
    result = spot_scores({"micro": curve}, fps=30.0)
    (found,) = result.intervals
    assert found.type == "micro" and 100 <= found.apex < 110 and 94 <= found.onset <= 100 and 109 <= found.offset
    assert set(result.details) == {"micro"} and result.frames == 200
    shifted = spot_scores({"micro": curve}, fps=30.0, numbers=np.arange(200) + 1)  # frame numbers are carried
    assert [(i.onset, i.offset) for i in shifted.intervals] == [(found.onset + 1, found.offset + 1)]
    longer = np.full(200, 1.0)
    longer[100:160] = 5.0  # 60 frames: past the micro gate, no micro-expression
    assert spot_scores({"micro": longer}, fps=30.0).intervals == []
    with pytest.raises(ConfigError, match="same length"):
        spot_scores({"micro": curve, "macro": curve[:10]}, fps=30.0)
    with pytest.raises(ConfigError, match="some of micro, macro"):
        spot_scores({"blink": curve}, fps=30.0)


@pytest.mark.parametrize("value", [0.0, 1.0, 0.1])
def test_a_flat_score_curve_spots_nothing_and_says_why(value):
    # its threshold (mean + p x (max - mean)) is its own value: every frame was "above" it, one macro-expression over
    # the whole recording
    flat = np.full(300, value)
    result = spot_scores({"micro": flat, "macro": flat}, fps=30.0)
    assert result.intervals == []
    for scale in ("micro", "macro"):
        assert result.details[scale]["threshold"] is None
        assert result.details[scale]["note"] == (f"the {scale}-expression score is the same ({value:.3g}) on all 300 "
                                                 f"frame(s) scored: no frame stands out, so no {scale}-expression is "
                                                 "spotted")
    curve = np.full(300, value)
    curve[100:110] = value + 4  # one frame range that stands out is still found
    assert [i.type for i in spot_scores({"micro": curve, "macro": flat}, fps=30.0).intervals] == ["micro"]


@pytest.mark.parametrize("numbers", [[0, 1, 1, 2], [3, 2, 1, 0]])
def test_spot_scores_refuses_frame_numbers_that_do_not_increase(numbers):
    with pytest.raises(ConfigError, match=r"numbers must strictly increase.*numbers\[1\] = "):
        spot_scores({"micro": [0.0, 1.0, 0.0, 0.0]}, fps=30.0, numbers=numbers)


def test_the_timeline_of_a_result_without_curves_is_drawn():
    from mmnet.spotting.flow_spotter import MotionCurves
    from mmnet.spotting.spotter import SpotResult
    from mmnet.spotting.timeline import timeline_png

    curves = MotionCurves(30.0, np.arange(300), {}, (), {})
    result = SpotResult("rec.mp4", 30.0, 300, [Interval(40, 45, 50, "micro")], [], spot_config(), curves)
    assert result.details == {} and timeline_png(result).startswith(b"\x89PNG")


def test_mmnet_spot_runs_a_saved_spotter_of_ones_own(tmp_path, capsys):
    recording = _recording(tmp_path / "rec")
    spotter = make_spotter(_config(BrightSpotter.method))
    spotter.fit([object()])
    spotter.save(tmp_path / "bright.pt")
    again = load_spotter(tmp_path / "bright.pt")
    assert type(again) is BrightSpotter and again.trained_on == 1
    out = tmp_path / "out"
    assert main(["spot", str(recording), "--fps", "30", "--spotter-model", str(tmp_path / "bright.pt"),
                 "--out", str(out), "--no-progress"]) == 0
    written = json.loads((out / "spot.json").read_text())
    expected = again.spot(recording, fps=30.0).intervals
    assert [(i["onset"], i["apex"], i["offset"], i["type"]) for i in written["intervals"]] == [
        (i.onset, i.apex, i.offset, i.type) for i in expected]
    (found,) = expected
    assert found.apex in FLASH and found.type == "micro"
    assert (out / "timeline.png").read_bytes().startswith(b"\x89PNG") and (out / "spotting.csv").is_file()


def test_mmnet_spot_runs_a_spotter_that_learns_nothing_by_its_method_alone(tmp_path, capsys):
    recording = _recording(tmp_path / "rec")
    assert main(["spot", str(recording), "--fps", "30", "--no-align", "--set", f"method={Untrained.method}",
                 "--json", "--no-progress"]) == 0
    (found,) = json.loads(capsys.readouterr().out)["intervals"]
    assert found["apex"] in FLASH
    # one that learns must be trained first
    assert main(["spot", str(recording), "--fps", "30", "--set", f"method={BrightSpotter.method}"]) != 0
    assert "must be trained first" in capsys.readouterr().err


def test_a_model_saved_under_an_unknown_name_says_the_file_and_how_to_make_it_importable(tmp_path, monkeypatch,
                                                                                          capsys):
    with monkeypatch.context() as patch:  # a registry edited by hand, as before there was another way
        patch.setitem(SPOTTERS, "fixed", f"{__name__}:Declared")
        Declared(spot_config()).save(tmp_path / "fixed.pt")
    recording = _recording(tmp_path / "rec")
    assert main(["spot", str(recording), "--fps", "30", "--spotter-model", str(tmp_path / "fixed.pt")]) != 0
    err = capsys.readouterr().err
    assert "fixed.pt" in err and "method 'fixed'" in err and "'package.module:Class'" in err and "PYTHONPATH" in err


def test_loso_fits_a_spotter_of_ones_own_on_each_fold(tmp_path):
    from mmnet.spotting.loso import loso_spotting

    videos = []
    for subject in ("s01", "s02", "s03"):
        folder = _recording(tmp_path / subject)
        frames = tuple((n, f"img{n}.png") for n in range(1, 91))
        videos.append(LongVideo("casme-sq", subject, f"{subject}_1", 30.0, folder, frames,
                                (Interval(FLASH[0], None, FLASH[-1], "micro"),)))
    out = loso_spotting(LongVideoLoad(videos, []), _config(BrightSpotter.method))
    # each fold fitted on the other subjects' videos
    assert [fold["fit"] for fold in out["folds"]] == [{"videos": 2, "micro": {"videos": 2}}] * 3
    assert out["counts"]["micro"]["tp"] == 3


def test_train_spotter_trains_and_saves_a_spotter_of_ones_own(tmp_path, capsys):
    from .fakes_long import CASME_SQ_ROWS, write_casme_sq

    rows = [r for r in CASME_SQ_ROWS if r[0] in (1, 2) and not r[1].startswith("sad")]
    root = write_casme_sq(tmp_path / "casme_sq", rows=rows)
    model = tmp_path / "bright.pt"
    assert main(["train-spotter", "casme-sq", "--root", str(root), "--out", str(model), "--no-align",
                 "--set", f"method={BrightSpotter.method}", "--no-progress"]) == 0
    assert f"({BrightSpotter.method} spotter, 4 videos)" in capsys.readouterr().out
    spotter = load_spotter(model)
    assert type(spotter) is BrightSpotter and spotter.trained_on == 4


def test_the_docs_spotter_runs_through_mmnet_spot_by_its_import_path(tmp_path, monkeypatch, capsys):
    import re
    import sys
    import types

    text = (Path(__file__).resolve().parents[1] / "docs" / "spotting.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- snippet: own-spotter -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/spotting.md lost its own-spotter snippet"
    module = types.ModuleType("own_spotter_doc")  # the module a user would install or put on PYTHONPATH
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(match.group(1), "docs/spotting.md", "exec"), module.__dict__)
    assert module.BrightnessSpotter.method == "own_spotter_doc:BrightnessSpotter"
    recording = _recording(tmp_path / "rec")
    assert main(["spot", str(recording), "--fps", "30", "--no-align", "--set",
                 "method=own_spotter_doc:BrightnessSpotter", "--json", "--no-progress"]) == 0
    (found,) = json.loads(capsys.readouterr().out)["intervals"]
    assert found["apex"] in FLASH
