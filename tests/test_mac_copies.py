"""Datasets and files copied from a Mac: an AppleDouble '._NAME' file beside every file and folder, '.DS_Store' in
every folder, names in Unicode NFD (decomposed accents); a classic Mac CSV (Mac OS Roman, lines ending in CR) is in
test_csv_text.py."""

from __future__ import annotations

import argparse
import json
import os
import unicodedata
from pathlib import Path

from mmnet.cli import main
from mmnet.data import load_dataset

from .fakes import write_frames

NFD = "S\u0065\u0301ance 1"  # 'Séance 1' as macOS writes a file name
NFC = unicodedata.normalize("NFC", NFD)


def _mac_metadata(root: Path) -> int:
    """What a Mac leaves on a drive it copies to: '._NAME' beside each file and folder, '.DS_Store' in each folder;
    the number of files written."""
    written = 0
    for folder, folders, files in os.walk(root):
        for name in [*folders, *files]:
            if not name.startswith("."):
                (Path(folder) / f"._{name}").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 40)
                written += 1
        (Path(folder) / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + b"\x00" * 20)
        written += 1
    return written


def _checks(load) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for i in load.issues:
        out.setdefault(i.check, []).append(i.message)
    return out


def _table_root(root: Path, folder: str = "P01/c1", cell: str = "P01/c1") -> Path:
    write_frames(root.joinpath(*folder.split("/")), range(1, 11), "frame_{:04d}.jpg".format)
    (root / "annotations.csv").write_text(f"subject,clip,onset,apex,offset,emotion\nP01,{cell},1,5,10,happy\n",
                                          encoding="utf-8")
    return root


def test_appledouble_files_beside_frames_are_not_frames_and_make_one_note(tmp_path):
    root = _table_root(tmp_path / "tbl")
    write_frames(root / "P01" / "c2", range(1, 11), "frame_{:04d}.jpg".format)
    (root / "annotations.csv").write_text("subject,clip,onset,apex,offset,emotion\nP01,P01/c1,1,5,10,happy\n"
                                          "P01,P01/c2,1,5,10,happy\n", encoding="utf-8")
    (root / "P01" / "c2" / "notes.txt").write_text("a note")  # other stray files are still warned of per clip
    assert _mac_metadata(root) == 3 + 3 + 23  # root, P01, then the clip folders c1 (11) and c2 (12)
    load = load_dataset("table", root)
    checks = _checks(load)
    assert not load.errors and len(load.samples) == 2 and "frame_number_twice" not in checks
    (note,) = checks["desktop_files"]
    assert note.startswith("23 hidden or macOS/Windows metadata file(s) ignored") and "in 2 folder(s)" in note
    assert checks["junk_files"] == ["1 non-frame file(s) ignored: 'notes.txt'"]


def test_appledouble_files_in_a_long_recording_make_one_note(tmp_path):
    write_frames(tmp_path / "P01" / "rec1", range(1, 61), "frame_{:04d}.jpg".format)
    (tmp_path / "intervals.csv").write_text("subject,video,onset,offset,type,fps\nP01,P01/rec1,5,12,micro,30\n",
                                            encoding="utf-8")
    _mac_metadata(tmp_path)
    checks = _checks(load_dataset("table-long", tmp_path))
    assert "junk_files" not in checks and "frame_copy" not in checks
    (note,) = checks["desktop_files"]
    assert note.startswith("61 hidden or macOS/Windows metadata file(s) ignored")


def test_an_appledouble_workbook_is_not_read_as_the_annotation(tmp_path):
    from mmnet.data.casme3 import ANNOTATION_GLOB
    from mmnet.data.root_files import root_files

    from .fakes import write_casme3
    from .fakes_long import write_casme_sq

    sq = write_casme_sq(tmp_path / "sq")
    (sq / "._CAS(ME)^2code_final.xlsx").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 40)
    load = load_dataset("casme-sq", sq)
    assert load.annotation.name == "CAS(ME)^2code_final.xlsx" and "annotation_choice" not in _checks(load)
    c3 = write_casme3(tmp_path / "c3")
    (c3 / "._cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 40)
    assert [p.name for p in root_files(c3, [ANNOTATION_GLOB])] == ["cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"]
    assert load_dataset("casme3", c3).annotation.name == "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"


def test_a_clip_folder_named_in_nfd_is_found_from_a_table_typed_in_nfc(tmp_path):
    root = _table_root(tmp_path / "tbl", folder=f"clips/{NFD}/EP05_01", cell=f"clips/{NFC}/EP05_01")
    load = load_dataset("table", root)
    assert not load.errors and not load.warnings, [i.message for i in load.issues]
    (sample,) = load.samples
    assert sample.sample_id == f"table/P01/clips/{NFC}/EP05_01" and len(sample.frames) == 10


def test_a_table_written_in_nfd_gives_nfc_ids(tmp_path):
    root = _table_root(tmp_path / "tbl", folder=f"{NFD}/c1", cell=f"{NFD}/c1")
    (root / "annotations.csv").write_text(f"subject,clip,onset,apex,offset,emotion\n{NFD},{NFD}/c1,1,5,10,happy\n",
                                          encoding="utf-8")
    (sample,) = load_dataset("table", root).samples
    assert sample.sample_id == f"table/{NFC}/{NFC}/c1"


def test_a_long_recording_folder_named_in_nfd_is_found_from_a_table_in_nfc(tmp_path):
    write_frames(tmp_path / "P01" / NFD, range(1, 61), "frame_{:04d}.jpg".format)
    (tmp_path / "intervals.csv").write_text(f"subject,video,onset,offset,type,fps\nP01,P01/{NFC},5,12,micro,30\n",
                                            encoding="utf-8")
    load = load_dataset("table-long", tmp_path)
    assert "video_missing" not in _checks(load) and [v.video for v in load.videos] == [f"P01/{NFC}"]


def _micro_counts(capsys, truth, spots) -> tuple[int, int, int]:
    """score-spots' (TP, FP, FN) of micro-expressions."""
    assert main(["score-spots", str(truth), str(spots), "--json"]) == 0
    counts = {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in json.loads(capsys.readouterr().out)["counts"]}
    return counts["micro"]


def test_score_spots_and_agree_match_an_nfd_video_id_with_an_nfc_one(tmp_path, capsys):
    truth, spots = tmp_path / "truth.csv", tmp_path / "spots.csv"
    truth.write_text(f"vid,onset,offset,type\n{NFC},25,36,me\n", encoding="utf-8")
    spots.write_text(f"vid,onset,offset,type\n{NFD},25,36,me\n", encoding="utf-8")
    assert _micro_counts(capsys, truth, spots) == (1, 0, 0)
    assert main(["agree", str(truth), str(spots), "--json", "--frames", f"{NFD}=100"]) == 0
    frames = json.loads(capsys.readouterr().out)["frames"]["videos"]
    assert frames == {NFC: {"frames": 100, "from": "--frames", "first_frame": 1, "last_frame": 100}}


def test_one_video_id_in_both_forms_in_one_file_keeps_every_interval(tmp_path, capsys):
    truth, spots = tmp_path / "truth.csv", tmp_path / "spots.csv"
    truth.write_text(f"vid,onset,offset,type\n{NFC},10,20,me\n{NFC},100,110,me\n", encoding="utf-8")
    spots.write_text(f"vid,onset,offset,type\n{NFC},10,20,me\n{NFD},100,110,me\n", encoding="utf-8")
    assert _micro_counts(capsys, truth, spots) == (2, 0, 0)


def test_nfc_keys_joins_the_lists_of_one_id_in_two_forms():
    from mmnet.unicode_names import nfc_keys

    first, second = [(1, 2)], [(5, 6)]
    assert nfc_keys({NFC: first, NFD: second, "v": []}) == {NFC: [(1, 2), (5, 6)], "v": []}
    assert first == [(1, 2)]  # the reader's list is not changed in place
    assert nfc_keys({NFD: [], NFC: [(3, 4)]}) == {NFC: [(3, 4)]}  # no expression beside one: the one is kept
    assert nfc_keys({(NFD, "a"): 7, (NFC, "a"): 9}) == {(NFC, "a"): 7}


def test_a_clip_list_row_in_nfc_finds_a_folder_named_in_nfd(tmp_path):
    from mmnet.infer import read_clip_list

    write_frames(tmp_path / NFD, range(1, 6), "img{}.jpg".format)
    (tmp_path / "list.csv").write_text(f"source,onset\n{NFC},1\n", encoding="utf-8")
    (request,) = read_clip_list(tmp_path / "list.csv")
    assert request.source.is_dir()


def test_spots_video_id_from_an_nfd_file_name_is_nfc(tmp_path):
    from mmnet.commands.spot_ids import default_video_id, megc_ids

    (tmp_path / f"{NFD}.mp4").write_bytes(b"")
    assert default_video_id(tmp_path / f"{NFD}.mp4") == NFC
    one_word = NFD.replace(" ", "")  # an MEGC id holds no space
    given = argparse.Namespace(video_id=one_word, subject=one_word, checkpoint=object(), source=tmp_path / "x.mp4")
    assert megc_ids(given) == (NFC.replace(" ", ""),) * 2  # as the shell completes them from a Mac's name


def test_an_mmew_clip_folder_named_in_nfd_gives_no_case_warning(tmp_path):
    from .fakes import MMEW_ROWS, write_mmew

    clip = MMEW_ROWS[0][1]
    root = write_mmew(tmp_path / "mmew", rows=[(MMEW_ROWS[0][0], f"{clip}_{NFC}", *MMEW_ROWS[0][2:])])
    (folder,) = [p for p in root.rglob(f"{clip}_{NFC}") if p.is_dir()]
    folder.rename(folder.with_name(f"{clip}_{NFD}"))
    load = load_dataset("mmew", root)
    assert len(load.samples) == 1 and "clip_name_case" not in _checks(load)


def test_an_appledouble_workbook_alone_does_not_name_the_dataset_of_a_path(tmp_path):
    from mmnet.data.dataset_of_path import dataset_of

    (tmp_path / "clips").mkdir()
    (tmp_path / "._CAS(ME)^2code_final.xlsx").write_bytes(b"\x00\x05\x16\x07")  # its workbook left behind
    assert dataset_of(tmp_path / "clips") is None
    (tmp_path / "CAS(ME)^2code_final.xlsx").write_bytes(b"PK")
    assert dataset_of(tmp_path / "clips") == "casme-sq"
