"""A resume refused for a changed configuration names the --set options that restore the run's values: the run
resumes with them, whatever keys differ (a renamed key of an earlier mmnet among them)."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from mmnet import synth
from mmnet.config import load_config
from mmnet.errors import ConfigError
from mmnet.train.prepare import prepare_run


def _base(tmp_path):
    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    return [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", "data.image_size=32", "model.image_size=32"]


def _started(out):
    (out / "seed-0" / "fold-x").mkdir(parents=True)
    (out / "seed-0" / "fold-x" / "history.csv").write_text("epoch\n1\n")  # an epoch has finished


def test_the_refusal_names_the_sets_that_resume_the_run(tmp_path):
    base = _base(tmp_path)
    out = tmp_path / "run"
    prepare_run(load_config(None, base + ["train.lr=0.002", "train.epochs=7"]), out, progress=False)
    saved = yaml.safe_load((out / "config.yaml").read_text())
    del saved["train"]["memory_format"]  # written by an mmnet of before train.memory_format
    saved["train"]["channels_last"] = True
    (out / "config.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    _started(out)
    with pytest.raises(ConfigError) as caught:
        prepare_run(load_config(None, base), out, progress=False)
    message = str(caught.value)
    sets = [shlex.split(s)[0] for s in re.findall(r"--set ('[^']*'|\S+)", message)]
    assert sorted(sets) == ["train.epochs=7", "train.lr=0.002", "train.memory_format=channels_last"], message
    assert f"--config '{out / 'config.yaml'}'" in message
    prepare_run(load_config(None, base + sets), out, progress=False)  # resumes: nothing refused
