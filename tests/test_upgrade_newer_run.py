"""A run folder a newer mmnet trained, met by this one: refused with the mmnet that can resume it, never with a
``--set`` this mmnet would refuse."""

from __future__ import annotations

import json

import pytest
import yaml

from mmnet import __version__, synth
from mmnet.config import load_config
from mmnet.errors import ConfigError
from mmnet.train.prepare import prepare_run

from .fake_runs import mark_started


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("newer")
    root = synth.write_dataset(tmp / "data", subjects=2, clips_per_subject=2, seed=0)
    return [f"data.root={root}", f"data.cache_dir={tmp / 'cache'}", "data.image_size=32", "model.image_size=32"]


def _started(base, out, *, version=None, key=None, fold_version=None):
    prepare_run(load_config(None, base), out, progress=False)
    mark_started(out)
    if version:
        env = json.loads((out / "env.json").read_text())
        (out / "env.json").write_text(json.dumps({**env, "mmnet_version": version}))
    if key:
        saved = yaml.safe_load((out / "config.yaml").read_text())
        saved["train"][key] = 1
        (out / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    if fold_version:
        (out / "seed-0" / "fold-x" / "done.json").write_text(json.dumps({"mmnet_version": fold_version}))


def test_a_run_started_by_a_newer_mmnet_names_it_and_never_suggests_set(base, tmp_path, monkeypatch):
    out = tmp_path / "run"
    _started(base, out, version="99.3.0", key="future_key")

    def no_data(*args, **kwargs):
        raise AssertionError("the data was read before the run was refused")

    monkeypatch.setattr("mmnet.train.prepare.load_dataset", no_data)
    with pytest.raises(ConfigError) as caught:
        prepare_run(load_config(None, base), out, progress=False)
    message = str(caught.value)
    assert f"started by mmnet 99.3.0 (newer than this mmnet {__version__})" in message
    assert "does not know: train.future_key" in message
    assert "Resume it with mmnet >= 99.3.0" in message and "--restart" in message
    assert "--set" not in message
    # mmnet installs from a checkout, not from a package index: the upgrade it names is one that works
    assert "in your mmnet checkout: `git pull`, then `pip install -e .`" in message


def test_a_fold_a_newer_mmnet_trained_is_refused_too(base, tmp_path):
    out = tmp_path / "run"
    _started(base, out, fold_version="99.0.1")
    with pytest.raises(ConfigError, match=r"started by mmnet 99\.0\.1 \(newer than this"):
        prepare_run(load_config(None, base), out, progress=False)


def test_unknown_keys_of_the_same_version_say_a_newer_mmnet_wrote_them(base, tmp_path):
    out = tmp_path / "run"
    _started(base, out, key="future_key")
    with pytest.raises(ConfigError, match=r"written by a newer mmnet than this one .*does not know: "
                                          r"train\.future_key\. Resume it with the mmnet that trained it"):
        prepare_run(load_config(None, base), out, progress=False)


def test_a_run_of_an_earlier_or_the_same_mmnet_resumes(base, tmp_path):
    out = tmp_path / "run"
    _started(base, out, version="0.1.0", fold_version=__version__)
    prepare_run(load_config(None, base), out, progress=False)
    out = tmp_path / "untrained"  # nothing trained yet: the run is prepared again by this mmnet
    prepare_run(load_config(None, base), out, progress=False)
    env = json.loads((out / "env.json").read_text())
    (out / "env.json").write_text(json.dumps({**env, "mmnet_version": "99.0.0"}))
    prepare_run(load_config(None, base), out, progress=False)
