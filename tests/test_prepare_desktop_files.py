"""`mmnet prepare` on frames copied from a Mac: the AppleDouble '._NAME' beside every frame and '.DS_Store' in every
folder are counted in one note for the run (as the dataset loaders count them), not warned of in every clip."""

from __future__ import annotations

import numpy as np

from mmnet.preprocess.discover import desktop_note, discover

from .preprocess_helpers import NoFaceAligner, skip_without_face_extra


def _raw(tmp_path):
    """A CASME II raw layout of two clips of two frames, each with a Mac's metadata files and one stray note."""
    from PIL import Image

    raw = tmp_path / "CASME2" / "CASME2_RAW_selected" / "sub01"
    frame = Image.fromarray(np.zeros((8, 8, 3), np.uint8))
    for clip in ("EP01", "EP02"):
        (raw / clip).mkdir(parents=True)
        for n in (1, 2):
            frame.save(raw / clip / f"img{n}.jpg", format="JPEG")
            (raw / clip / f"._img{n}.jpg").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 40)
        (raw / clip / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (raw / "EP02" / "notes.txt").write_text("a note")  # other stray files: still warned of in their clip
    return tmp_path / "CASME2", raw


def test_desktop_files_make_one_note_with_their_count_and_one_path(tmp_path):
    root, raw = _raw(tmp_path)
    _, _, jobs = discover(root)
    assert [job.ignored for job in jobs] == [(), ("notes.txt",)]
    (note,) = desktop_note(jobs)
    assert note.startswith("desktop_files: 6 hidden or macOS/Windows metadata file(s) ignored")
    assert f"in 2 clip folder(s), e.g. '{raw / 'EP01' / '.DS_Store'}'" in note
    # every kind it counts is named: any hidden file, and a Windows download's mark
    assert "(hidden files such as '.DS_Store'" in note and "Zone.Identifier" in note
    assert desktop_note([job for job in jobs if not job.desktop]) == []


def test_a_prepare_run_notes_them_once_not_in_every_clip(tmp_path, monkeypatch):
    skip_without_face_extra()
    from mmnet.preprocess import pipeline

    root, _ = _raw(tmp_path)
    monkeypatch.setattr(pipeline, "_shared_aligner", lambda *args: NoFaceAligner())  # the clips fail: no face
    summary = pipeline.prepare(root, workers=1, progress=False)
    text = summary.format()
    assert "._img" not in text and ".DS_Store'" in text, text
    assert [line for line in text.splitlines() if "desktop_files" in line] == [f"  note: {summary.notes[0]}"]
    assert "warning sub01/EP02: ignored 1 file(s) that are not numbered frames: notes.txt" in text
    assert summary.to_dict()["notes"] == summary.notes


def test_a_rerun_drops_an_earlier_records_warning_that_named_them(tmp_path):
    from mmnet.preprocess.marker import FolderState, write_marker
    from mmnet.preprocess.pipeline import _settled

    root, _ = _raw(tmp_path)
    job = discover(root)[2][0]
    job.out_dir.mkdir(parents=True)
    write_marker(job.out_dir, {}, {"n_frames": 2, "warnings": [
        "ignored 3 file(s) that are not numbered frames: ._img1.jpg, ._img2.jpg, .DS_Store", "dark: x"]})
    assert _settled(job, FolderState.DONE, {}, {}).warnings == ["dark: x"]  # the folder as listed now: nothing
