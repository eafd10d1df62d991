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


@pytest.mark.parametrize("value, told", [
    ("scheme", "is the LabelScheme 'mylab-3' itself, not its name: set mmnet.data.DEFAULT_SCHEME['mylab'] = 'mylab-3'"),
    (3, "is of type int (3), not a scheme's name: set it to the name of a LabelScheme in mmnet.data.SCHEMES"),
    ("mylab-typo", "is 'mylab-typo', which names no label scheme: set it to the name of a LabelScheme"),
])
def test_a_default_that_is_no_schemes_name_says_what_to_set(value, told, monkeypatch):
    # DEFAULT_SCHEME["NAME"] = the LabelScheme itself (as the contributing guide once read) failed with a TypeError
    # from is_label_map, far from the line to fix
    from mmnet.config import load_config
    from mmnet.data import DATASETS, DEFAULT_SCHEME, SCHEMES, LabelScheme
    from mmnet.errors import ConfigError
    from mmnet.train.resolve import resolve_config

    scheme = LabelScheme("mylab-3", ("negative", "positive"), {"sad": "negative", "happy": "positive"},
                         datasets=("mylab",))
    monkeypatch.setitem(DATASETS, "mylab", lambda root, **kw: None)
    monkeypatch.setitem(SCHEMES, scheme.name, scheme)
    monkeypatch.setitem(DEFAULT_SCHEME, "mylab", scheme if value == "scheme" else value)
    with pytest.raises(ConfigError) as raised:
        resolve_config(load_config(None, ["data.dataset=mylab"]))
    assert str(raised.value).startswith(f"mmnet.data.DEFAULT_SCHEME['mylab'] {told}"), str(raised.value)
    monkeypatch.setitem(DEFAULT_SCHEME, "mylab", scheme.name)
    assert resolve_config(load_config(None, ["data.dataset=mylab"])).data.classes == ["negative", "positive"]


def test_resolving_a_scheme_object_instead_of_its_name_says_so():
    from mmnet.data import SCHEMES, resolve_scheme
    from mmnet.errors import ConfigError

    with pytest.raises(ConfigError, match="data.scheme is the LabelScheme 'casme2-5class' itself for dataset "
                                          "'casme2', not its name: set data.scheme = 'casme2-5class'"):
        resolve_scheme(SCHEMES["casme2-5class"], None, "casme2")


def test_the_contributing_guides_example_messages_are_the_real_ones():
    # the guide quoted "add it to DEFAULT_SCHEME in src/mmnet/data/schemes.py", which no code said
    import re
    from pathlib import Path

    from mmnet.data import default_scheme
    from mmnet.data.common import check_sample
    from mmnet.data.sample import Sample
    from mmnet.errors import ConfigError

    text = (Path(__file__).resolve().parents[1] / "docs" / "contributing.md").read_text(encoding="utf-8")
    section = text[text.index("## Error messages"):text.index("## Fixtures without licensed data")]
    quoted = re.search(r"```\n(.*?)```", section, re.S).group(1).splitlines()
    with pytest.raises(ConfigError) as raised:
        default_scheme("toy")
    sample = Sample("casme2", "04", "EP12_01f", onset=40, apex=35, offset=50, label="happiness")
    assert quoted == [next(i.message for i in check_sample(sample)), str(raised.value)]
