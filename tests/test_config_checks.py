"""A config is checked the same however it is built (Python, a YAML file, --set): types by key at construction,
numbers as plain decimals, a device name's syntax, train.seed as the run's seed when no seeds are given."""

import pytest
import yaml

from mmnet.config import (
    DataConfig,
    ExperimentConfig,
    TrainConfig,
    config_from_dict,
    config_to_dict,
    load_config,
    without_derived,
)
from mmnet.errors import ConfigError


def test_train_seed_is_the_run_seed_when_python_gives_no_seeds():
    # ExperimentConfig's seeds defaulted to [0]: train.seed=7 trained seed 0 beside "train.seed: 7" in config.yaml
    cfg = ExperimentConfig(data=DataConfig(root="data", image_size=32), train=TrainConfig(epochs=1, seed=7))
    assert cfg.seeds == [7]
    assert ExperimentConfig().seeds == [0] and ExperimentConfig(seeds=[3, 1]).seeds == [3, 1]
    assert ExperimentConfig(train=TrainConfig(seed=2), seeds=3).seeds == [2, 3, 4]  # a count, as in a file
    saved = yaml.safe_load(yaml.safe_dump(config_to_dict(cfg)))  # as config.yaml holds it
    assert saved["seeds"] == [7] and config_from_dict(saved) == cfg
    assert config_from_dict(without_derived(saved)) == cfg
    assert ExperimentConfig() == config_from_dict({}) == load_config(None)


@pytest.mark.parametrize("text, plain", [("010", "10"), ("0160", "160"), ("08", "8")])
def test_a_leading_zero_is_refused_not_read_as_octal(text, plain):
    # YAML 1.1: 010 was the octal 8, 0160 became 112, and 08 a string refused without a hint
    key = "data.image_size" if text == "0160" else "train.epochs"
    with pytest.raises(ConfigError, match=f"{key}={text}: .*write {plain}, not {text}"):
        load_config(None, [f"{key}={text}"])


@pytest.mark.parametrize("text, reading", [("1:10", "70"), ("0x10", "16"), ("1_000", "1000"), ("0b11", "3")])
def test_yaml_1_1_number_forms_are_refused_by_key(text, reading):
    with pytest.raises(ConfigError, match=f"train.epochs={text} is not a plain decimal number .*{reading}"):
        load_config(None, [f"train.epochs={text}"])
    with pytest.raises(ConfigError, match=f"train.lr={text} is not a plain decimal"):
        load_config(None, [f"train.lr={text}"])


def test_a_config_file_reads_numbers_as_plain_decimals_too(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 010\n")
    with pytest.raises(ConfigError, match="train.epochs=010: .*write 10"):
        load_config(path)
    path.write_text("train:\n  epochs: 12\n  lr: 1e-3\n  weight_decay: 0.5\ndata:\n  root: 0701\n")
    cfg = load_config(path)
    assert (cfg.train.epochs, cfg.train.lr, cfg.train.weight_decay, cfg.data.root) == (12, 0.001, 0.5, "0701")
    cfg = load_config(None, ["data.root=0701", "data.annotation=1:10", "train.lr=.5", "train.weight_decay=010.5"])
    assert (cfg.data.root, cfg.data.annotation, cfg.train.lr, cfg.train.weight_decay) == ("0701", "1:10", 0.5, 10.5)


@pytest.mark.parametrize("device", ["gpu", "0", "cuda0", "CPU", "cuda:x"])
def test_a_device_name_is_checked_when_the_config_is_built(device):
    # train.device=gpu passed: only a local run refused it, each Ray or SLURM worker failed
    with pytest.raises(ConfigError, match=f"train.device={device} is not a device; use auto, cpu, cuda or cuda:N"):
        load_config(None, [f"train.device={device}"])
    with pytest.raises(ConfigError, match="is not a device"):
        TrainConfig(device=device)


def test_a_device_of_another_machine_is_left_to_run_time():
    names = ["auto", "cpu", "cuda", "cuda:7"]  # cuda:7 on a machine without it: Ray and SLURM workers decide
    assert [TrainConfig(device=name).device for name in names] == names
    with pytest.raises(ConfigError, match="mmnet runs on cpu or cuda"):
        TrainConfig(device="mps")


@pytest.mark.parametrize("build, message", [
    (lambda: TrainConfig(epochs=3.5), r"train.epochs must be of type int, got 3.5"),
    (lambda: TrainConfig(save_models="no"), r"train.save_models must be of type bool, got 'no'"),
    (lambda: TrainConfig(epochs="ten"), r"train.epochs must be of type int, got 'ten'"),
    (lambda: DataConfig(image_size="64"), r"data.image_size must be of type int, got '64'"),
    (lambda: ExperimentConfig(seeds=[0, 0]), r"distinct"),
    (lambda: ExperimentConfig(train={"epochs": 1}), r"train must be a TrainConfig"),
])
def test_configs_built_in_python_are_checked_by_key(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


def test_python_values_are_coerced_as_a_file_s_are():
    assert TrainConfig(lr=1).lr == 1.0 and isinstance(TrainConfig(lr=1).lr, float)
    assert DataConfig(root=5).root == "5"


def test_the_range_messages_say_what_is_checked():
    with pytest.raises(ConfigError, match=r"train.lr_decay_epochs must be >= 0, got -1"):
        load_config(None, ["train.lr_decay_epochs=-1"])
    assert load_config(None, ["train.lr_decay_epochs=0"]).train.lr_decay_epochs == 0  # the rate is never decayed
    with pytest.raises(ConfigError, match=r"train.seed must be >= 0, got -5"):
        load_config(None, ["train.seed=-5"])


def test_a_bad_value_in_a_config_file_names_the_file(tmp_path):
    # the key and value were named, not the file they came from
    for text, said in [("train:\n  epochs: 010\n", "write 10, not 010"), ("train:\n  epochs: ten\n", "type int")]:
        path = tmp_path / "exp.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=r"Config file '.*exp\.yaml': train\.epochs") as err:
            load_config(path)
        assert said in str(err.value)
        assert load_config(path, overrides=["train.epochs=3"]).train.epochs == 3  # an override replaces it
    path.write_text("train:\n  epochs: 10\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:  # a bad override is the override's, not the file's
        load_config(path, overrides=["train.lr=abc"])
    assert "Config file" not in str(err.value) and "train.lr" in str(err.value)
