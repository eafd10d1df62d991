from pathlib import Path

import pytest

from mmnet.config import ExperimentConfig, load_config
from mmnet.errors import ConfigError

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def test_defaults_are_the_paper_recipe():
    cfg = ExperimentConfig()
    assert (cfg.train.epochs, cfg.train.batch_size, cfg.train.lr, cfg.train.weight_decay) == (74, 32, 8e-4, 0.6)
    assert (cfg.train.lr_gamma, cfg.train.lr_decay_epochs) == (0.987, 50)
    assert (cfg.augment.hflip, cfg.augment.rotate_degrees, cfg.augment.crop_padding) == (0.5, 3.0, 15)
    assert cfg.eval.selection == "last"


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_loads(path):
    load_config(path)


def test_three_class_recipe():
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "casme2_3class.yaml")
    assert (cfg.train.batch_size, cfg.train.weight_decay, cfg.train.epochs) == (24, 0.7, 99)
    assert (cfg.model.pc_depth, cfg.model.pc_mlp_ratio, cfg.model.pc_drop_path) == (3, 2.0, 0.3)


def test_overrides_are_typed():
    cfg = load_config(None, ["train.epochs=3", "model.use_ca=false", "train.lr=1e-3", "seeds=[1, 2]"])
    assert cfg.train.epochs == 3 and cfg.model.use_ca is False and cfg.train.lr == 1e-3 and cfg.seeds == [1, 2]


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.epoch=3", "Unknown config key"),
        ("trian.epochs=3", "Unknown config section"),
        ("train.epochs=three", "must be of type int"),
        ("train.epochs=0", "train.epochs must be >= 1"),
        ("eval.selection=best", "Valid values"),
        ("train.precision=fp16", "Valid values"),
        ("data.image_size=100", "multiple of 16"),
        ("noequals", "section.key=value"),
    ],
)
def test_bad_values_are_config_errors(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
