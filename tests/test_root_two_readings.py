"""A composite --root that names an existing folder and reads as PART=DIR too ('casme2=CASME2' beside the folders
'casme2=CASME2' and 'CASME2') is refused, naming both readings and how to write each; one reading alone is kept."""

from pathlib import Path

import pytest

from mmnet.config import parse_root
from mmnet.errors import ConfigError


def test_a_root_that_is_a_folder_and_a_part_is_refused_naming_both(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "casme2=CASME2").mkdir()
    (tmp_path / "CASME2").mkdir()
    with pytest.raises(ConfigError) as exc:
        parse_root("composite", "casme2=CASME2")
    said = str(exc.value)
    assert "reads two ways: the folder 'casme2=CASME2'" in said and "part casme2 at the folder 'CASME2'" in said
    assert "'./casme2=CASME2' for the folder" in said and "('casme2=CASME2,') for the parts" in said
    # each way the error says picks its reading
    assert parse_root("composite", "./casme2=CASME2") == Path("casme2=CASME2")
    assert parse_root("composite", "casme2=CASME2,") == {"casme2": Path("CASME2")}
    assert parse_root("composite", ["casme2＝CASME2"]) == {"casme2": Path("CASME2")}  # no such folder: the part


@pytest.mark.parametrize("folders", [("casme2=CASME2",), ("lab=CASME2", "CASME2")])
def test_one_reading_alone_is_the_folder_as_before(tmp_path, monkeypatch, folders):
    # no folder of the part, or a part no dataset is called: the folder
    monkeypatch.chdir(tmp_path)
    for name in folders:
        (tmp_path / name).mkdir()
    assert parse_root("composite", folders[0]) == Path(folders[0])


def test_no_such_folder_is_the_parts_as_before(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "CASME2").mkdir()
    assert parse_root("composite", "casme2=CASME2,samm=S") == {"casme2": Path("CASME2"), "samm": Path("S")}
