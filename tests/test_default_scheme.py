"""A clip dataset registered without a default label scheme is a ConfigError that says where to add it, wherever
the default is looked up (it was a KeyError: 'mmew'), and how to go on without editing mmnet's source."""

from __future__ import annotations

import pytest

from mmnet.cli import main

MESSAGE = "dataset 'mmew' has no default label scheme: choose one with data.scheme / --scheme, e.g. a label map"


@pytest.fixture
def unregistered(monkeypatch):
    from mmnet.data import schemes

    monkeypatch.delitem(schemes.DEFAULT_SCHEME, "mmew")


def test_default_scheme_names_the_dataset_and_the_dict(unregistered):
    from mmnet.data import default_scheme
    from mmnet.errors import ConfigError

    assert default_scheme("casme2") == "casme2-5class"
    with pytest.raises(ConfigError, match=MESSAGE) as raised:
        default_scheme("mmew")
    # no source edit: a registration from Python, or the table dataset for one's own clips
    assert "mmnet.data.DEFAULT_SCHEME['mmew'] = NAME" in str(raised.value) and "dataset 'table'" in str(raised.value)
    assert "src/mmnet" not in str(raised.value)


def test_resolving_a_run_config_says_so(unregistered):
    from mmnet.config import load_config
    from mmnet.errors import ConfigError
    from mmnet.train.resolve import resolve_config

    with pytest.raises(ConfigError, match=MESSAGE):
        resolve_config(load_config(None, ["data.dataset=mmew"]))
    # a scheme given needs no default
    assert resolve_config(load_config(None, ["data.dataset=mmew", "data.scheme=mmew-4class"])).data.classes


def test_preparing_a_run_says_so_before_reading_data(unregistered, tmp_path):
    from mmnet.config import load_config
    from mmnet.errors import ConfigError
    from mmnet.train.prepare import prepare_run

    with pytest.raises(ConfigError, match=MESSAGE):
        prepare_run(load_config(None, ["data.dataset=mmew", f"data.root={tmp_path}"]), tmp_path / "run")


def test_check_data_says_so(unregistered, tmp_path, capsys):
    assert main(["check-data", "mmew", "--root", str(tmp_path)]) == 3
    assert MESSAGE in capsys.readouterr().err
