"""Which CASME II frames folder a run trained on: chosen with data.layout, warned of when a root holds two of a kind,
and recorded in env.json (the report's protocol line and Methods summary)."""

from __future__ import annotations

import json
import shutil

import pytest

from mmnet import synth
from mmnet.choices import CASME2_LAYOUTS
from mmnet.config import load_config
from mmnet.data import load_dataset
from mmnet.data.casme2 import LAYOUTS
from mmnet.errors import ConfigError

from .fakes import write_casme2


def test_the_layout_names_are_the_loaders():
    assert tuple(LAYOUTS) == CASME2_LAYOUTS


def test_two_crops_in_a_root_are_warned_of_and_the_choice_is_the_users(tmp_path):
    root = write_casme2(tmp_path / "CASME2", junk=False)
    shutil.copytree(root / "Cropped", root / "Cropped-updated" / "Cropped")
    load = load_dataset("casme2", root)
    (warning,) = [i for i in load.issues if i.check == "frames_layout_choice"]
    assert warning.severity == "warning" and warning.sample_id == "casme2"
    assert "'Cropped/' (layout cropped) is used, 'Cropped-updated/Cropped/' (layout cropped-updated) not" in \
        warning.message and "data.layout" in warning.message
    assert load.frames_layouts == {"casme2": "cropped"}
    chosen = load_dataset("casme2", root, layout="cropped-updated")
    assert not [i for i in chosen.issues if i.check == "frames_layout_choice"]
    assert chosen.frames_layouts == {"casme2": "cropped-updated"}
    assert chosen.samples[0].frames[0][1].parents[2].name == "Cropped" and \
        chosen.samples[0].frames[0][1].parents[3].name == "Cropped-updated"


def test_raw_frames_beside_their_crops_are_no_choice(tmp_path):
    root = write_casme2(tmp_path / "CASME2", junk=False)
    write_casme2(tmp_path / "CASME2", junk=False, layout="raw-selected")
    load = load_dataset("casme2", root)
    assert load.frames_layouts == {"casme2": "cropped"}
    assert not [i for i in load.issues if i.check == "frames_layout_choice"]


def test_data_layout_is_checked():
    assert load_config(None, ["data.layout=cropped-updated"]).data.layout == "cropped-updated"
    with pytest.raises(ConfigError, match="data.layout"):
        load_config(None, ["data.layout=cropped_updated"])
    with pytest.raises(ConfigError, match="'samm' has no such choice"):
        load_config(None, ["data.dataset=samm", "data.layout=raw"])


def test_a_run_records_the_frames_folder_it_trained_on(tmp_path):
    from mmnet.train.prepare import prepare_run

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    shutil.copytree(root / "Cropped", root / "Cropped-updated" / "Cropped")
    base = [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", "data.image_size=32"]
    prepare_run(load_config(None, base), tmp_path / "first", progress=False)
    env = json.loads((tmp_path / "first" / "env.json").read_text())
    assert env["part_frames"] == {"casme2": {"folder": "Cropped", "uncropped": False, "layout": "cropped"}}
    assert "frames_layout_choice" in (tmp_path / "first" / "issues.csv").read_text()
    prepare_run(load_config(None, [*base, "data.layout=cropped-updated"]), tmp_path / "chosen", progress=False)
    env = json.loads((tmp_path / "chosen" / "env.json").read_text())
    assert env["part_frames"]["casme2"] == {"folder": "Cropped-updated/Cropped", "uncropped": False,
                                            "layout": "cropped-updated"}
