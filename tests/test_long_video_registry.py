"""A long-video dataset is registered in several hand-kept places; these tests keep them together and check that a
dataset missing from one is refused before any work starts (not after a LOSO has run)."""

from __future__ import annotations

import pytest

from mmnet.cli import main
from mmnet.data import LONG_VIDEO_DATASETS


def test_every_long_video_table_names_the_registered_datasets():
    from mmnet import choices, data
    from mmnet.spotting.config import DATASET_PRESETS
    from mmnet.spotting.megc_files import DATASET_NUMBERS

    registered = set(data.LONG_VIDEO_DATASETS)
    assert set(choices.LONG_VIDEO_DATASETS) == registered
    assert set(DATASET_PRESETS) == registered, "add the dataset to DATASET_PRESETS in spotting/config.py"
    assert set(DATASET_NUMBERS) == registered, "add the dataset to DATASET_NUMBERS in spotting/megc_files.py"


def sample_key(name: str) -> str:
    """The dataset key the records of long-video dataset ``name`` carry: ``DATASET`` of its loader's module (the
    model card, the citations and the report read it; casme2-long's records are casme-sq's)."""
    import functools
    import sys

    from mmnet import data

    load = data.LONG_VIDEO_DATASETS[name]
    load = load.func if isinstance(load, functools.partial) else load
    key = getattr(sys.modules[load.__module__], "DATASET", None)
    assert isinstance(key, str), (
        f"{load.__module__}, the module of the loader of long-video dataset {name!r}, has no DATASET: define "
        f"DATASET = {name!r} at its top, the dataset key its LongVideo records and samples carry "
        "(docs/contributing.md, \"Registering a long-video dataset\")")
    return key


@pytest.mark.parametrize("name", sorted(LONG_VIDEO_DATASETS))
def test_every_long_video_loader_module_names_its_dataset_key(name):
    from mmnet.data.releases import RELEASES

    key = sample_key(name)
    assert key in LONG_VIDEO_DATASETS and (key in RELEASES or key == "table-long"), (
        f"long-video dataset {name!r}: its loader's DATASET is {key!r}, which is no registered long-video dataset "
        "with a Release in RELEASES in src/mmnet/data/releases.py")


def test_a_loader_module_without_its_dataset_key_is_named(monkeypatch):
    # test_final_fit failed with "AttributeError: module 'mmnet.data.mylong' has no attribute 'DATASET'"
    from mmnet import data

    def load_mylong(root, **options):
        return None

    monkeypatch.setitem(data.LONG_VIDEO_DATASETS, "mylong", load_mylong)
    with pytest.raises(AssertionError, match=rf"{__name__}, the module of the loader of long-video dataset "
                                             r"'mylong', has no DATASET: define DATASET = 'mylong' at its top"):
        sample_key("mylong")


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
