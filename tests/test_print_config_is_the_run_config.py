"""`mmnet train --print-config` prints the configuration that a run writes to its config.yaml (one rule)."""

import yaml

from mmnet.cli import main
from mmnet.config import load_config
from mmnet.train.prepare import prepare_run

from .fakes_long import write_casme_sq


def test_print_config_equals_the_config_yaml_of_a_long_video_run(tmp_path, capsys, monkeypatch):
    # a long-video run saves each fold's model (its spotted intervals are recognised by it): --print-config said
    # save_models: false while the run wrote true
    monkeypatch.chdir(tmp_path)
    write_casme_sq(tmp_path / "sq")
    overrides = ["data.cache_dir=cache", "data.image_size=32", "data.on_bad_sample=skip"]
    argv = ["train", "--dataset", "casme-sq", "--root", "sq"]
    assert main([*argv, *(a for o in overrides for a in ("--set", o)), "--print-config"]) == 0
    printed = capsys.readouterr().out
    prepare_run(load_config(None, ["data.dataset=casme-sq", "data.root=sq", *overrides]), tmp_path / "run",
                progress=False)
    written = (tmp_path / "run" / "config.yaml").read_text()
    assert yaml.safe_load(printed)["train"]["save_models"] is True
    assert printed == written  # relative data paths included: both absolute
