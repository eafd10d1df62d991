"""Named recipes shipped in the package: every one loads and is valid; a name or a path resolves."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mmnet.cli import main
from mmnet.config import load_config
from mmnet.errors import ConfigError
from mmnet.recipes import RECIPE_DIR, describe, list_recipes, locate, recipe_names, recipe_path

REPO = Path(__file__).resolve().parents[1]


def test_the_promised_recipes_ship():
    assert {"casme2_5class", "casme2_3class", "samm_5class", "smic_3class", "megc2019_composite",
            "casme3_4class", "synth_demo"} <= set(recipe_names())


@pytest.mark.parametrize("name", recipe_names())
def test_every_recipe_loads_validates_and_says_what_it_follows(name):
    from mmnet.data import DATASETS, DEFAULT_SCHEME, get_scheme

    cfg = load_config(name)  # unknown keys, wrong types and bad values raise here
    assert cfg.data.dataset in DATASETS
    scheme = get_scheme(cfg.data.scheme or DEFAULT_SCHEME[cfg.data.dataset])
    assert cfg.data.dataset.split("-")[0] in scheme.datasets, (name, scheme.name)
    text = (RECIPE_DIR / f"{name}.yaml").read_text()
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(list_recipes()[name]) > 20 and len(list_recipes()[name]) <= 100
    # beyond the one-line description, a comment names the paper or protocol the recipe follows
    assert len(comments) >= 3 and any(w in text for w in ("Paper", "Protocol", "paper", "protocol")), name
    values = yaml.safe_load(text)
    assert set(values) <= {"model", "data", "augment", "train", "eval", "seeds"}
    assert "root" not in values.get("data", {})  # a recipe never names a machine's folder


def test_paper_recipe_is_the_defaults():
    from mmnet.config import DataConfig, ExperimentConfig

    # every value written out is the built-in default; the scheme is named (None means the same one)
    assert load_config("casme2_5class") == ExperimentConfig(data=DataConfig(scheme="casme2-5class"))


def test_recipes_ship_in_the_wheel_and_configs_holds_no_copy():
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"mmnet.recipes" = ["*.yaml", "sweeps/*.yaml"]' in pyproject  # the recipes and the sweep files
    assert not list((REPO / "configs").rglob("*.yaml"))  # one source: the package's recipes and sweeps


def test_name_path_and_errors(tmp_path, monkeypatch):
    assert locate("casme2_3class") == RECIPE_DIR / "casme2_3class.yaml"
    assert locate("casme2_3class.yaml") == RECIPE_DIR / "casme2_3class.yaml"
    assert recipe_path("samm_5class").is_file()
    own = tmp_path / "mine.yaml"
    own.write_text("train: {epochs: 5}\n")
    assert load_config(own).train.epochs == 5
    # a file of the same name as a recipe wins over the recipe
    monkeypatch.chdir(tmp_path)
    (tmp_path / "casme2_3class.yaml").write_text("train: {epochs: 7}\n")
    assert load_config("casme2_3class.yaml").train.epochs == 7
    assert load_config("casme2_3class").train.epochs == 99
    with pytest.raises(ConfigError, match=r"not a recipe name.*Recipes .*casme2_5class.*smic_3class"):
        load_config("casme9_9class")
    with pytest.raises(ConfigError, match="use --config casme2_5class"):  # the old repository path
        load_config("configs/casme2_5class.yaml")
    with pytest.raises(ConfigError, match="No recipe named 'nope'"):
        recipe_path("nope")
    assert describe("casme2_3class").startswith("recipe casme2_3class")
    assert describe(own) == f"file {own}"


def test_list_recipes_and_a_bad_name_on_the_command_line(capsys):
    assert main(["train", "--list-recipes"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == recipe_names()
    assert all(len(line.split(None, 1)[1]) > 20 for line in out)
    assert main(["train", "--config", "nope", "--out", "x"]) == 3
    assert "casme2_5class" in capsys.readouterr().err
    assert main(["train", "--config", "smic_3class", "--print-config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["data"]["dataset"] == "smic-hs"
    assert printed["data"]["classes"] == ["negative", "positive", "surprise"]


@pytest.mark.parametrize("value, expected", [("true", True), ("false", False), ("only", "only")])
def test_final_fit_values(value, expected):
    assert load_config("casme2_5class", [f"train.final_fit={value}"]).train.final_fit == expected


def test_bad_final_fit_value():
    with pytest.raises(ConfigError, match="train.final_fit must be true, false or only"):
        load_config(None, ["train.final_fit=later"])


def test_a_sweep_does_not_final_fit(tmp_path):
    from mmnet.train.sweep import load_sweep

    path = tmp_path / "s.yaml"
    path.write_text("base: casme2_5class\nsettings: {a: {train.final_fit: true}}\n")
    with pytest.raises(ConfigError, match="final_fit is for one chosen setting"):
        load_sweep(path)
    path.write_text("base: casme9\nsettings: {a: {}}\n")
    with pytest.raises(ConfigError, match="not a recipe name"):
        load_sweep(path)


def test_a_recipe_scheme_for_another_dataset_is_refused(capsys):
    # casme2_3class with --dataset samm kept CASME II's scheme: SAMM's 'anger' was "unknown to scheme ..."
    assert main(["train", "--config", "casme2_3class", "--dataset", "samm", "--print-config"]) == 3
    err = capsys.readouterr().err
    assert "'casme2-3class-authors'" in err and "made for casme2, not for dataset 'samm'" in err
    assert "Schemes for samm: samm-5class, samm-3class-megc" in err and "--scheme" in err
    assert main(["train", "--config", "casme2_3class", "--dataset", "samm", "--scheme", "samm-3class-megc",
                 "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["data"]["scheme"] == "samm-3class-megc"


def test_training_refuses_a_scheme_of_another_dataset_even_with_skip(tmp_path):
    from mmnet.train.prepare import prepare_run

    from .fakes import write_samm

    root = write_samm(tmp_path / "SAMM")
    cfg = load_config("casme2_3class", ["data.dataset=samm", f"data.root={root}", "data.on_bad_sample=skip"])
    with pytest.raises(ConfigError, match="made for casme2, not for dataset 'samm'"):
        prepare_run(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
