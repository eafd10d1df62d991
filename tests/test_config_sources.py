"""Where a value comes from: a plain flag and --set may not disagree, a derived key is not overwritten without a word,
a sweep's settings are distinct experiments, and docs/configuration.md lists what a resume may change."""

import argparse
import re
from pathlib import Path

import pytest
import yaml

from mmnet.cli import main
from mmnet.config import load_config
from mmnet.errors import ConfigError
from mmnet.train.resolve import resolve_config
from mmnet.train.sweep import load_sweep

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _train_config(*argv: str):
    from mmnet.commands import train

    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    return train.experiment_config(parser.parse_args(list(argv)))


@pytest.mark.parametrize("flag, setting", [
    (["--device", "cpu"], "train.device=cuda:0"),
    (["--precision", "fp32"], "train.precision=bf16"),
    (["--dataset", "samm"], "data.dataset=casme2"),
    (["--root", "/data/a"], "data.root=/data/b"),
    (["--seeds", "0", "4"], "seeds=[0, 5]"),
    (["--selection", "paper"], "eval.selection=last"),
    (["--final-fit"], "train.final_fit=false"),
    (["--tensorboard"], "train.tensorboard=false"),
])
def test_a_flag_and_a_differing_set_are_refused_naming_both(flag, setting):
    # --set won silently: --device cpu --set train.device=cuda:0 trained on cuda:0
    with pytest.raises(ConfigError, match=f"{re.escape(flag[0])} .*and --set {re.escape(setting)} give "
                                          f"{setting.split('=')[0]} different values"):
        _train_config(*flag, "--set", setting)


def test_a_flag_and_the_same_set_value_agree():
    cfg = _train_config("--device", "cpu", "--set", "train.device=cpu", "--seeds", "2", "--set", "seeds=2",
                        "--final-fit", "--set", "train.final_fit=true", "--root", "/d", "--set", "data.root=/d")
    assert (cfg.train.device, cfg.seeds, cfg.train.final_fit, cfg.data.root) == ("cpu", [0, 1], True, "/d")


def test_two_spellings_of_one_folder_agree(tmp_path, monkeypatch):
    # --root data --set data.root=./data was refused as two values
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for root, setting in (("data", "./data"), ("data", str(tmp_path / "data")), ("~/x", str(tmp_path / "x") + "/"),
                          ("casme2=/a,samm=/b", "samm=/b/,casme2=/a")):
        assert _train_config("--root", root, "--set", f"data.root={setting}").data.root == setting
    for flag, setting in ((["--root", "data"], "data.root=./other"),
                          (["--annotation", "a.xlsx"], "data.annotation=b.xlsx"),
                          (["--root", "casme2=/a,samm=/b"], "data.root=casme2=/a,samm=/c")):
        with pytest.raises(ConfigError, match="different values"):
            _train_config(*flag, "--set", setting)
    assert _train_config("--annotation", "a.xlsx", "--set", f"data.annotation={tmp_path / 'a.xlsx'}")


def _sweep(tmp_path: Path, settings: dict, **doc) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**doc, "settings": settings}))
    return path


def test_sweep_flags_and_set_may_not_disagree(tmp_path, capsys):
    path = _sweep(tmp_path, {"a": {}})
    for argv, named in ((["--root", "/a", "--set", "data.root=/b"], "--root /a and --set data.root=/b"),
                        (["--seeds", "2", "--set", "seeds=3"], "--seeds 2 and --set seeds=3")):
        assert main(["sweep", str(path), "--out", str(tmp_path / "o"), *argv]) == 3
        assert named in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_sweep_takes_its_seeds_from_set_and_names_the_option_at_fault(tmp_path):
    path = _sweep(tmp_path, {"a": {}}, seeds=2)
    assert load_sweep(path, ["seeds=[4, 6]"]).seeds == [4, 6]  # was ignored: the file's seeds ran
    with pytest.raises(ConfigError, match=r"^--seeds: a count of seeds must be >= 1"):  # blamed the sweep file
        load_sweep(path, seeds=0)


def test_the_demo_refuses_a_set_that_its_flags_decide(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "d"), "--seed", "2", "--set", "train.seed=3"]) == 3
    assert "--seed 2 and --set train.seed=3 give train.seed different values" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()  # before any data is drawn


def test_a_num_classes_other_than_the_scheme_s_is_refused(tmp_path):
    # it was replaced by the scheme's count without a word
    with pytest.raises(ConfigError, match=r"model.num_classes=3 cannot be set: .*scheme 'casme2-5class' has 5"):
        resolve_config(load_config(None, ["model.num_classes=3"]))
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  num_classes: 3\n")
    with pytest.raises(ConfigError, match=r"model.num_classes=3 cannot be set"):
        resolve_config(load_config(path))
    # the scheme's own count, and the default (which follows the scheme), are fine
    assert resolve_config(load_config(path, ["data.scheme=casme2-3class-megc"])).model.num_classes == 3
    assert resolve_config(load_config(None, ["data.scheme=casme2-3class-megc"])).model.num_classes == 3


def test_sweep_settings_that_train_the_same_experiment_are_refused(tmp_path):
    path = _sweep(tmp_path, {"a": {}, "c": {"model": {"use_ca": False}}, "d": {"model.use_ca": False}})
    with pytest.raises(ConfigError, match=r"settings 'c' and 'd' give the same configuration"):
        load_sweep(path)
    path = _sweep(tmp_path, {"a": {}, "b": {"eval.selection": "paper", "train.state_every_s": 5}})
    with pytest.raises(ConfigError, match=r"'a' and 'b' differ only in train.state_every_s, eval.selection, .*"
                                          r"mmnet report RUN --selection paper"):
        load_sweep(path)
    path = _sweep(tmp_path, {"a": {}, "b": {"data.annotation": "other.csv"}, "c": {"model.use_ca": False}})
    assert [s.name for s in load_sweep(path).settings] == ["a", "b", "c"]  # other labels: another experiment


def test_the_docs_list_what_a_resume_may_change():
    from mmnet.train.resume_rules import _NOT_EXPERIMENT

    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    section = text.split("## Resuming a run", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^- `([a-z_]+\.[a-z_]+)`", section, re.M))
    assert listed == {key.rstrip(":") for key in _NOT_EXPERIMENT}
