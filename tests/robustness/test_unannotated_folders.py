"""Clip folders with frames that no annotation names are listed (warning not_annotated) by every clip loader."""

from __future__ import annotations

import shutil

import pytest

from mmnet.data import load_dataset

from ..fakes import (
    CASME2_ROWS,
    CASME3_ROWS,
    MMEW_ROWS,
    SAMM_ROWS,
    SMIC_CLIPS,
    write_casme2,
    write_casme3,
    write_mmew,
    write_samm,
    write_smic,
)
from .helpers import cli


def _samm(tmp_path):
    root = write_samm(tmp_path / "samm", SAMM_ROWS[:3])
    return root, root / "SAMM" / "006" / "006_1_2", root / "SAMM" / "006" / "006_9_9", "samm/006/006_9_9"


def _casme2(tmp_path):
    root = write_casme2(tmp_path / "c2", CASME2_ROWS[:3], junk=False)
    sub = root / "Cropped" / "sub01"
    return root, sub / CASME2_ROWS[0][1], sub / "EP99_01", "casme2/01/EP99_01"


def _mmew(tmp_path):
    root = write_mmew(tmp_path / "mmew", MMEW_ROWS[:3])
    happy = root / "Micro_Expression" / "happiness"
    return root, happy / "S01-01-001", happy / "S01-01-009", "mmew/S01/S01-01-009"


def _smic(tmp_path):
    root = write_smic(tmp_path / "smic", SMIC_CLIPS[:2])
    s1 = root / "HS" / "s1"
    return root, s1 / "micro" / "negative" / "s1_ne_01", s1 / "s1_ne_02", "smic/s1/s1_ne_02"  # no emotion folder


def _casme3(tmp_path):
    root = write_casme3(tmp_path / "c3", CASME3_ROWS[:3])
    return root, root / "spNO.1" / "a", root / "spNO.1" / "f", "casme3/spNO.1/f"


LAYOUTS = {"samm": _samm, "casme2": _casme2, "mmew": _mmew, "smic": _smic, "casme3": _casme3}


def _notes(name, root, tmp_path):
    options = {"cache_dir": False} if name == "smic" else {}
    return {i.sample_id: i for i in load_dataset(name, root, **options).issues if i.check == "not_annotated"}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_a_copied_clip_folder_without_a_row_is_listed(tmp_path, capsys, name):
    # SAMM 006/006_1_2 copied to 006_9_9: check-data said nothing, training used one clip fewer than on disk
    root, clip, copy, sid = LAYOUTS[name](tmp_path)
    assert _notes(name, root, tmp_path) == {}  # the fixtures as written: every folder has its row
    shutil.copytree(clip, copy)
    notes = _notes(name, root, tmp_path)
    assert list(notes) == [sid], notes
    note = notes[sid]
    shown = copy / "color" if name == "casme3" else copy  # a CAS(ME)^3 task's frames are in its color/
    assert note.severity == "warning" and f"clip folder '{shown}' has frames but" in note.message
    assert "it is not used" in note.message
    (copy.parent / "empty").mkdir()  # no frames: not a clip, nothing to say
    assert list(_notes(name, root, tmp_path)) == [sid]
    code, out, err = cli(capsys, "check-data", name, "--root", root, *(["--cache-dir", tmp_path / "cache"]
                                                                       if name == "smic" else []))
    assert code == 0 and "not_annotated" in out and copy.name in out, err


def test_the_messages_say_what_to_do(tmp_path):
    root, clip, copy, sid = _samm(tmp_path)
    shutil.copytree(clip, copy)
    assert "no row in 'SAMM_Micro_FACS_Codes_v2.xlsx'" in _notes("samm", root, tmp_path)[sid].message
    assert "add its row" in _notes("samm", root, tmp_path)[sid].message
    root, clip, copy, sid = _smic(tmp_path)
    shutil.copytree(clip, copy)
    message = _notes("smic", root, tmp_path)[sid].message
    assert "HS/s<N>/micro/<emotion>/<clip>/" in message and "move it" in message


@pytest.mark.parametrize("name", ["samm", "casme3"])
def test_the_folder_of_a_refused_row_is_not_listed_twice(tmp_path, name):
    rows = [list(r) for r in (SAMM_ROWS[:3] if name == "samm" else CASME3_ROWS[:3])]
    write = write_samm if name == "samm" else write_casme3
    root = write(tmp_path / name, [tuple(r) for r in rows])
    col = 3 if name == "samm" else 2
    rows[0][col] = "x"  # onset not a number: the row is refused with an error naming it
    write(tmp_path / "t", [tuple(r) for r in rows], frames=False)
    table = next(p for p in (tmp_path / "t").iterdir() if p.suffix == ".xlsx")
    table.replace(next(p for p in root.iterdir() if p.suffix == ".xlsx"))
    load = load_dataset(name, root)
    sid = f"{name}/{rows[0][0]}/{rows[0][1]}"
    assert [i.check for i in load.issues if i.sample_id == sid and i.severity == "error"]
    assert not [i for i in load.issues if i.check == "not_annotated"]


def test_attach_frames_returns_every_folder_it_found(tmp_path):
    # a folder found for a sample is used even when none of its frames fall in the sample's span: it must not
    # then be listed as a clip folder without a row
    import re

    from mmnet.data.common import attach_frames
    from mmnet.data.sample import Sample

    from ..fakes import write_frames

    write_frames(tmp_path / "a", range(1, 11), "img{}.jpg".format)
    write_frames(tmp_path / "late", range(50, 60), "img{}.jpg".format)

    def locate(s):
        folder = tmp_path / s.clip
        return (folder if folder.is_dir() else None), True, folder

    samples = [Sample("x", "1", clip, 2, 5, 8, "happiness") for clip in ("a", "late", "missing")]
    out, found = attach_frames(samples, locate, re.compile(r"img(\d+)\.jpg"), [], window=True)
    assert found == {tmp_path / "a", tmp_path / "late"}
    assert [s.frame_numbers for s in out] == [list(range(2, 9)), [], []]


def test_a_refused_rows_folder_named_in_nfd_is_not_listed_twice(tmp_path):
    # the row typed in NFC is refused (its own error); its folder, copied from a Mac, is named in NFD
    import re
    import unicodedata

    from mmnet.data.sample import Issue
    from mmnet.data.unannotated import report_unannotated

    nfd = "S\u0065\u0301ance1"
    folder = tmp_path / nfd
    folder.mkdir()
    (folder / "img1.jpg").write_bytes(b"")
    issues = [Issue(f"casme2/01/{unicodedata.normalize('NFC', nfd).upper()}", "bad_value", "onset 'x'", "error")]
    report_unannotated([(f"casme2/01/{nfd}", folder)], set(), re.compile(r"img\d+\.jpg"), issues, why="no row",
                       advice="add its row")
    assert [i.check for i in issues] == ["bad_value"]
