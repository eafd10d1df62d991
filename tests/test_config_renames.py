"""A renamed config key (train.channels_last, now train.memory_format) is read under its new name wherever a key
can be given (a config file, --set, a sweep's base, config and settings), with one note naming the new key; a run's
own config.yaml is read so silently (a resume, a report)."""

from __future__ import annotations

import pytest

from mmnet import config_history
from mmnet.cli import main
from mmnet.config import load_config
from mmnet.config_history import fill_earlier_keys
from mmnet.errors import ConfigError
from mmnet.train.sweep import load_sweep

NOTE = "note: train.channels_last is now train.memory_format (true: channels_last, false: contiguous)"


@pytest.fixture(autouse=True)
def _fresh_notes(monkeypatch):
    monkeypatch.setattr(config_history, "_NOTED", set(), raising=False)


def test_set_of_the_old_key_is_read_as_the_new_one_with_a_note(capsys):
    assert load_config(None, ["train.channels_last=true"]).train.memory_format == "channels_last"
    assert load_config(None, ["train.channels_last=false"]).train.memory_format == "contiguous"
    assert capsys.readouterr().err.count(NOTE) == 1  # once per command, not once per config built


def test_a_config_file_with_the_old_key_is_noted_and_a_later_set_of_the_new_key_wins(tmp_path, capsys):
    old = tmp_path / "old.yaml"
    old.write_text("train: {channels_last: false}\n")
    assert load_config(old).train.memory_format == "contiguous"
    assert NOTE in capsys.readouterr().err
    assert load_config(old, ["train.memory_format=channels_last"]).train.memory_format == "channels_last"


def test_both_names_in_one_file_are_refused_naming_the_new_key(tmp_path):
    both = tmp_path / "both.yaml"
    both.write_text("train: {channels_last: false, memory_format: auto}\n")
    with pytest.raises(ConfigError, match="train.channels_last is now train.memory_format, which is given too: "
                                          "remove train.channels_last"):
        load_config(both)


def test_a_sweep_reads_the_old_key_in_its_base_config_and_settings(tmp_path, capsys):
    (tmp_path / "old.yaml").write_text("train: {channels_last: false}\n")
    (tmp_path / "sweep.yaml").write_text("base: old.yaml\nconfig: {train: {epochs: 2}}\n"
                                         "settings: {cl: {train.channels_last: true}, plain: {}}\n")
    sweep = load_sweep(tmp_path / "sweep.yaml")
    assert {s.name: s.config.train.memory_format for s in sweep.settings} == {"cl": "channels_last",
                                                                               "plain": "contiguous"}
    assert capsys.readouterr().err.count(NOTE) == 1
    (tmp_path / "sweep2.yaml").write_text("config: {train: {channels_last: true}}\nsettings: {a: {}}\n")
    assert load_sweep(tmp_path / "sweep2.yaml").settings[0].config.train.memory_format == "channels_last"


def test_print_config_with_the_old_key_on_the_command_line(capsys):
    assert main(["train", "--dataset", "casme2", "--root", ".", "--print-config",
                 "--set", "train.channels_last=false"]) == 0
    out, err = capsys.readouterr()
    assert "memory_format: contiguous" in out and "channels_last" not in out and NOTE in err


def test_a_runs_own_config_yaml_is_renamed_silently(capsys):
    saved = {"train": {"channels_last": True}}
    assert "train.memory_format (was train.channels_last)" in fill_earlier_keys(saved)
    assert saved["train"]["memory_format"] == "channels_last"
    assert capsys.readouterr().err == ""


def test_a_sweep_setting_of_the_old_key_clashes_with_a_set_of_the_new_one(tmp_path):
    (tmp_path / "sweep.yaml").write_text("settings: {cl: {train.channels_last: true}, plain: {}}\n")
    with pytest.raises(ConfigError, match="--set train.memory_format would overwrite what setting 'cl' varies"):
        load_sweep(tmp_path / "sweep.yaml", overrides=["train.memory_format=contiguous"])


@pytest.mark.parametrize("value", ["[1]", "{a: 1}"])
def test_an_old_key_value_that_is_no_bool_is_named_by_the_type_check(tmp_path, capsys, value):
    assert main(["train", "--dataset", "casme2", "--root", ".", "--print-config",
                 "--set", f"train.channels_last={value}"]) == 3  # a config error, not a traceback
    assert "train.memory_format must be of type str, got" in capsys.readouterr().err
    (tmp_path / "old.yaml").write_text(f"train: {{channels_last: {value}}}\n")
    with pytest.raises(ConfigError, match="train.memory_format must be of type str"):
        load_config(tmp_path / "old.yaml")


def test_an_old_key_value_of_1_is_not_read_as_true():
    with pytest.raises(ConfigError, match="Unknown train.memory_format '1'"):
        load_config(None, ["train.channels_last=1"])
