"""Values reach the config as the user gave them: plain flags exactly, a --print-config file edited and
overridden, train.seed on the command line, mistyped keys named as written, bad values before any data."""

import argparse
import re
from pathlib import Path

import pytest
import yaml

from mmnet.cli import main
from mmnet.config import load_config
from mmnet.errors import ConfigError


def _train_config(*argv):
    from mmnet.commands import train

    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    return train.experiment_config(parser.parse_args(list(argv)))


@pytest.mark.parametrize("root", ["/data/CASME2 # copy", "0701", "#x", "a: b", "1_2", "[x]"])
def test_a_plain_flag_sets_its_value_exactly(root):
    # --root went through YAML: a comment cut the folder, 0701 became 449, "#x" null, "a: b" a mapping
    assert _train_config("--root", root).data.root == root
    cfg = _train_config("--root", "/d", "--annotation", "[x].csv", "--device", "cuda:0",
                        "--scheme", "casme2-3class-megc")
    assert (cfg.data.annotation, cfg.train.device, cfg.data.scheme) == ("[x].csv", "cuda:0", "casme2-3class-megc")
    with pytest.raises(ConfigError, match="train.device=0 is not a device"):  # kept as text, then refused
        _train_config("--device", "0")


def test_set_keeps_the_text_of_a_text_key_and_yaml_elsewhere():
    cfg = load_config(None, ["data.root=1_2", "data.annotation=0701", "data.cache_dir=2024-01-01",
                             "train.epochs=3", "spotting.overrides=[micro.p=0.1]", "data.scheme=null"])
    texts = (cfg.data.root, cfg.data.annotation, cfg.data.cache_dir)
    assert texts == ("1_2", "0701", "2024-01-01")
    assert (cfg.train.epochs, cfg.spotting.overrides, cfg.data.scheme) == (3, ["micro.p=0.1"], None)
    with pytest.raises(ConfigError, match=r"data.root must be of type str, got \['a'\]"):
        load_config(None, ["data.root=[a]"])


def test_the_demo_out_folder_is_not_read_as_yaml(tmp_path, monkeypatch):
    import mmnet.synth
    import mmnet.train
    from mmnet.commands import demo

    seen = []

    def fake_run(cfg, out, **kwargs):
        seen.append(cfg)
        raise KeyboardInterrupt

    monkeypatch.setattr(mmnet.synth, "write_dataset", lambda *a, **k: None)
    monkeypatch.setattr(mmnet.train, "train_experiment", fake_run)
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    out = tmp_path / "runs # 2"
    with pytest.raises(KeyboardInterrupt):
        demo.run(parser.parse_args(["--out", str(out)]))
    assert (seen[0].data.root, seen[0].data.cache_dir) == (str(out / "data"), str(out / "cache"))


def _printed(tmp_path, capsys, *argv) -> Path:
    assert main(["train", *argv, "--print-config"]) == 0
    path = tmp_path / "mine.yaml"
    path.write_text(capsys.readouterr().out)
    return path


def test_a_printed_config_follows_overrides_of_its_sources(tmp_path, capsys):
    # the filled-in model.image_size, data.classes, data.scheme and seeds blocked the keys they follow
    mine = _printed(tmp_path, capsys, "--config", "casme2_3class")
    cfg = load_config(mine, ["data.image_size=64"])
    assert (cfg.data.image_size, cfg.model.image_size) == (64, 64)
    assert main(["train", "--config", str(mine), "--scheme", "casme2-5class", "--print-config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert (len(printed["data"]["classes"]), printed["model"]["num_classes"]) == (5, 5)
    assert load_config(mine) == load_config("casme2_3class")
    default = _printed(tmp_path, capsys)
    assert load_config(default, [("data.dataset", "samm")]).data.scheme is None  # samm's default, not casme2's


@pytest.mark.parametrize("edit, message", [
    (lambda v: v["model"].update(image_size=64), r"model.image_size \(64\) differs from data.image_size \(224\)"),
    (lambda v: v["data"].update(classes=["a", "b", "c"]), r"data.classes \['a', 'b', 'c'\] cannot be set"),
])
def test_a_file_that_sets_an_inconsistent_value_is_still_refused(tmp_path, capsys, edit, message):
    mine = _printed(tmp_path, capsys, "--config", "casme2_3class")
    values = yaml.safe_load(mine.read_text())
    edit(values)
    mine.write_text(yaml.safe_dump(values))
    assert main(["train", "--config", str(mine), "--print-config"]) == 3
    assert re.search(message, capsys.readouterr().err)


def test_train_seed_given_on_the_command_line_is_the_runs_seed(tmp_path, capsys):
    # a printed file lists seeds: [0], and --set train.seed=5 ran seed 0 while config.yaml said 5
    mine = _printed(tmp_path, capsys)
    assert load_config(mine, ["train.seed=5"]).seeds == [5]
    values = yaml.safe_load(mine.read_text())
    values["seeds"] = [0, 1, 2]
    mine.write_text(yaml.safe_dump(values))
    with pytest.raises(ConfigError, match=r"train.seed=5 is given, but the config file lists seeds \[0, 1, 2\].*"
                                          r"--set 'seeds=\[5\]'"):
        load_config(mine, ["train.seed=5"])
    assert load_config(mine, ["train.seed=0"]).seeds == [0, 1, 2]
    assert load_config(mine, ["train.seed=5", "seeds=[5, 6]"]).seeds == [5, 6]


def test_a_mistyped_key_is_named_as_written_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"Unknown config key\(s\) train.epoch\. Did you mean train.epochs\?"):
        load_config(None, ["train.epoch=3"])
    with pytest.raises(ConfigError, match=r"Unknown config key\(s\) train.image_size\. Did you mean "
                                          r"(model|data).image_size or (model|data).image_size\?"):
        load_config(None, ["train.image_size=64"])
    from mmnet.spotting.config import spot_config

    with pytest.raises(ConfigError, match=r"^Unknown config key\(s\) pp\. Did you mean micro.p") as info:
        spot_config("casme2", ["pp=0.1"])
    assert "spot." not in str(info.value)


def test_flow_method_and_spotting_are_checked_before_any_data(tmp_path, capsys):
    from mmnet.config import FLOW_METHODS
    from mmnet.preprocess.flow import FLOW_METHODS as COMPUTED

    assert FLOW_METHODS == COMPUTED
    out = tmp_path / "run"
    assert main(["train", "--root", str(tmp_path / "nothing"), "--out", str(out), "--set", "model.main_input=flow",
                 "--set", "data.flow_method=foo"]) == 3
    assert "Unknown data.flow_method 'foo'" in capsys.readouterr().err and not out.exists()
    for bad, message in (("spotting.preset=foo", "Unknown spotting preset 'foo'"),
                         ("spotting.overrides=[micro.pp=0.1]", "Unknown config key(s) micro.pp")):
        assert main(["train", "--dataset", "casme-sq", "--set", bad, "--print-config"]) == 3
        assert message in capsys.readouterr().err


def test_config_yaml_keeps_absolute_data_paths(tmp_path, monkeypatch):
    # relative ones in a run's config.yaml named other folders when it was rerun from elsewhere
    from mmnet import synth
    from mmnet.train.prepare import prepare_run

    synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=3, seed=0)
    monkeypatch.chdir(tmp_path)
    annotation = next(p for p in Path("data").iterdir() if p.is_file() and "coding" in p.name.lower())
    cfg = load_config(None, ["data.root=data", f"data.annotation={annotation}", "data.cache_dir=cache",
                             "data.image_size=32", "train.epochs=1"])
    prepare_run(cfg, Path("run"), progress=False)
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]
    assert (saved["root"], saved["annotation"], saved["cache_dir"]) == (
        str(tmp_path / "data"), str(tmp_path / annotation), str(tmp_path / "cache"))
    monkeypatch.chdir("/")
    assert load_config(tmp_path / "run" / "config.yaml").data.root == str(tmp_path / "data")


def test_a_key_without_its_section_is_offered_the_full_key():
    from mmnet.errors import ConfigError

    with pytest.raises(ConfigError, match=r"got 'seed'\. Did you mean train\.seed\?"):
        load_config(None, ["seed=3"])
