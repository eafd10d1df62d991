"""Where the library takes a list (overrides, figure formats) or a mapping (spotted intervals per video), what a
notebook gives instead: one string, a dict, a list of intervals. A string is one item, never one per letter."""

import pytest

from mmnet.config import apply_overrides, load_config
from mmnet.errors import ConfigError
from mmnet.report import build_report
from mmnet.spotting.config import spot_config
from mmnet.spotting.intervals import Interval
from mmnet.spotting.megc import evaluate_spotting
from mmnet.spotting.spotter import spot_recording

from .fake_runs import make_samples, write_run
from .test_report import SUBJECTS, _predict


@pytest.mark.parametrize("overrides", ["train.epochs=2", {"train.epochs": 2}, ["train.epochs=2"],
                                       [("train.epochs", 2)]])
def test_load_config_takes_one_override_a_dict_or_a_list(overrides):
    assert load_config("casme2_5class", overrides).train.epochs == 2


def test_a_dict_of_overrides_sets_its_values_as_given():
    assert apply_overrides({}, {"data.root": "0701", "seeds": [3, 4]}) == {"data": {"root": "0701"}, "seeds": [3, 4]}


def test_overrides_of_another_kind_are_refused_naming_what_to_give():
    with pytest.raises(TypeError, match=r"'section.key=value' strings .* or a dict .*got a int"):
        load_config(None, 3)
    with pytest.raises(ConfigError, match=r"--set expects section.key=value, got 3 \(int\); in Python"):
        load_config(None, [3])


@pytest.mark.parametrize("overrides", ["macro.p=0.1", {"macro.p": 0.1}, ["macro.p=0.1"]])
def test_spot_config_takes_one_override_a_dict_or_a_list(overrides):
    assert spot_config("casme2", overrides).macro.p == 0.1


def test_spot_config_and_spot_recording_name_what_to_pass(tmp_path):
    with pytest.raises(TypeError, match=r"spot_config's preset is a preset name \(casme2.*got a dict"):
        spot_config({"macro.p": 0.1})
    with pytest.raises(TypeError, match=r"config is a SpotConfig, got a str \('casme2'\): pass spot_config"):
        spot_recording(tmp_path / "video.mp4", "casme2")


def test_evaluate_spotting_takes_a_mapping_video_to_intervals():
    truth = {"v": [Interval(5, 10, 8, type="micro")]}
    with pytest.raises(TypeError, match=r"predictions is a mapping video -> list of Intervals.*got a list"):
        evaluate_spotting(truth, [Interval(5, 10, 8, type="micro")])
    with pytest.raises(TypeError, match=r"truth is a mapping video -> list of Intervals.*got a list"):
        evaluate_spotting(list(truth.values()), {})
    result = evaluate_spotting(truth, {"v": [Interval(5, 10, 8, type="micro")]}, types="micro")
    assert "macro" not in result.counts and result.counts["micro"].tp == 1


def test_build_report_takes_one_figure_format(tmp_path):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, epochs=2)
    build_report(run, figure_formats="svg")
    assert (run / "confusion_matrix.svg").is_file() and not (run / "confusion_matrix.png").exists()
    with pytest.raises(ConfigError, match=r"\['gif'\] are not supported.*figure_formats=\['png', 'pdf'\] / --fig"):
        build_report(run, figure_formats="gif")
