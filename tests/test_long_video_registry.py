"""A long-video dataset is registered in several hand-kept places; these tests keep them together and check that a
dataset missing from one is refused before any work starts (not after a LOSO has run)."""

from __future__ import annotations

import pytest

from mmnet.cli import main


def test_every_long_video_table_names_the_registered_datasets():
    from mmnet import choices, data
    from mmnet.spotting.config import DATASET_PRESETS
    from mmnet.spotting.megc_files import DATASET_NUMBERS

    registered = set(data.LONG_VIDEO_DATASETS)
    assert set(choices.LONG_VIDEO_DATASETS) == registered
    assert set(DATASET_PRESETS) == registered, "add the dataset to DATASET_PRESETS in spotting/config.py"
    assert set(DATASET_NUMBERS) == registered, "add the dataset to DATASET_NUMBERS in spotting/megc_files.py"


@pytest.mark.parametrize("table, module", [("DATASET_NUMBERS", "megc_files"), ("DATASET_PRESETS", "config")])
def test_train_spotter_refuses_a_half_registered_dataset_before_any_work(table, module, tmp_path, monkeypatch,
                                                                         capsys):
    import importlib

    from mmnet import data

    monkeypatch.delitem(getattr(importlib.import_module(f"mmnet.spotting.{module}"), table), "casme-sq")

    def no_reading(*args, **kwargs):
        raise AssertionError("the dataset was read before the registration was checked")

    monkeypatch.setattr(data, "load_dataset", no_reading)
    code = main(["train-spotter", "casme-sq", "--root", str(tmp_path), "--out", str(tmp_path / "s.pt"), "--loso",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 3 and f"add it to {table} in src/mmnet/spotting/{module}.py" in err and "'casme-sq'" in err


@pytest.mark.parametrize("table, module", [("DATASET_NUMBERS", "megc_files"), ("DATASET_PRESETS", "config")])
def test_a_run_on_a_half_registered_dataset_is_refused_when_its_config_is_checked(table, module, monkeypatch):
    # spot_settings is called before any data is read; it took the casme2 preset in silence, and the report wrote
    # MEGC dataset number 0
    import importlib

    from mmnet.config import load_config
    from mmnet.errors import ConfigError
    from mmnet.train.spot_recognise import spot_settings

    monkeypatch.delitem(getattr(importlib.import_module(f"mmnet.spotting.{module}"), table), "samm-long")
    with pytest.raises(ConfigError, match=f"'samm-long' .*add it to {table} in src/mmnet/spotting/{module}.py"):
        spot_settings(load_config(None, ["data.dataset=samm-long"]))


def test_a_clip_dataset_still_has_its_spotting_section_checked():
    from mmnet.config import load_config
    from mmnet.errors import ConfigError
    from mmnet.train.spot_recognise import spot_settings

    assert spot_settings(load_config(None, ["data.dataset=casme2"])).preset == "casme2"
    with pytest.raises(ConfigError, match="micro.nope"):
        spot_settings(load_config(None, ["data.dataset=casme2", "spotting.overrides=[micro.nope=1]"]))
