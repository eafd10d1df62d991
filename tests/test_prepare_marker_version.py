"""`mmnet prepare`'s marker records its format and the mmnet that prepared the clip; earlier markers stay read."""

from __future__ import annotations

import json

import mmnet
from mmnet.media import PREPARED_MARKER
from mmnet.preprocess.marker import (
    MARKER_FORMAT,
    FolderState,
    folder_state,
    marker_origin,
    settings_change,
    write_marker,
)

SETTINGS = {"size": 128, "eye_y": 0.38, "landmarks": 68}
RECORD = {"n_frames": 3, "alignment": None, "warnings": []}


def test_the_marker_names_its_format_and_the_mmnet_that_prepared_the_clip(tmp_path):
    write_marker(tmp_path, SETTINGS, RECORD)
    data = json.loads((tmp_path / PREPARED_MARKER).read_text(encoding="utf-8"))
    assert (data["format"], data["mmnet_version"]) == (MARKER_FORMAT, mmnet.__version__)
    assert marker_origin(tmp_path) == (MARKER_FORMAT, mmnet.__version__)
    assert folder_state(tmp_path, SETTINGS) is FolderState.DONE


def test_an_earlier_mmnets_marker_without_them_is_read_as_before(tmp_path):
    (tmp_path / PREPARED_MARKER).write_text(json.dumps(
        {"written_by": "mmnet prepare", "settings": {"size": 128, "eye_y": 0.38}, "record": RECORD}))
    assert marker_origin(tmp_path) == (1, None)
    assert folder_state(tmp_path, SETTINGS) is FolderState.DONE  # landmarks: the earlier markers' 68


def test_a_newer_marker_format_is_not_taken_for_the_same_settings(tmp_path):
    (tmp_path / PREPARED_MARKER).write_text(json.dumps(
        {"written_by": "mmnet prepare", "format": MARKER_FORMAT + 1, "mmnet_version": "9.1.0", "settings": SETTINGS,
         "record": RECORD}))
    assert folder_state(tmp_path, SETTINGS) is FolderState.OTHER_SETTINGS
    said = settings_change(tmp_path, SETTINGS)
    assert "a newer mmnet (9.1.0) prepared it" in said and f"format {MARKER_FORMAT + 1}" in said
    assert "upgrade mmnet" in said


def test_a_rerun_says_a_newer_mmnet_prepared_the_clip_not_other_settings(tmp_path):
    from mmnet.preprocess.discover import ClipJob
    from mmnet.preprocess.pipeline import _settled

    out = tmp_path / "clip"
    out.mkdir()
    (out / "img1.jpg").write_bytes(b"")
    (out / PREPARED_MARKER).write_text(json.dumps(
        {"written_by": "mmnet prepare", "format": MARKER_FORMAT + 1, "mmnet_version": "9.1.0", "settings": SETTINGS,
         "record": RECORD}))
    result = _settled(ClipJob("clip", out), FolderState.OTHER_SETTINGS, SETTINGS, {})
    assert result.status == "other_settings"
    assert result.message.startswith(f"prepared by a newer mmnet (9.1.0; its {PREPARED_MARKER} is of format "
                                     f"{MARKER_FORMAT + 1}")
    assert "other settings" not in result.message and "upgrade mmnet" in result.message
    # other settings of this mmnet's format: said as before
    write_marker(out, {**SETTINGS, "size": 64}, RECORD)
    result = _settled(ClipJob("clip", out), FolderState.OTHER_SETTINGS, SETTINGS, {})
    assert result.message.startswith("prepared before with other settings: size 64 (now 128)")


def test_predict_and_explain_note_crops_a_newer_mmnet_prepared(tmp_path):
    from mmnet.infer.clips import load_clip
    from mmnet.infer.prepared_note import prepared_notes

    from .fakes import write_frames

    write_frames(tmp_path, range(1, 4), "img{}.jpg".format)
    write_marker(tmp_path, SETTINGS, RECORD)
    assert prepared_notes(load_clip(tmp_path), 1, 3) == []
    (tmp_path / PREPARED_MARKER).write_text(json.dumps(
        {"written_by": "mmnet prepare", "format": MARKER_FORMAT + 1, "mmnet_version": "9.1.0", "settings": SETTINGS,
         "record": RECORD}))
    (note,) = prepared_notes(load_clip(tmp_path), 1, 3)
    assert note.startswith(f"prepared by a newer mmnet (9.1.0; its {PREPARED_MARKER} is of format {MARKER_FORMAT + 1}")


def test_training_on_clips_a_newer_mmnet_prepared_warns_once_for_the_run(tmp_path, caplog):
    from mmnet.data.sample import Sample
    from mmnet.train.alignment_record import clips_alignment

    crop = {"size": [128, 128], "eye_y": 0.38, "iod": 0.4, "landmarks": 68}
    samples = []
    for k in range(3):
        folder = tmp_path / f"clip{k}"
        folder.mkdir()
        samples.append(Sample("casme2", "01", f"clip{k}", 1, 2, 3, "happiness", frames=((1, folder / "img1.jpg"),)))
        write_marker(folder, crop, RECORD)
    with caplog.at_level("WARNING", logger="mmnet.train"):
        clips_alignment(samples)
    assert "newer mmnet" not in caplog.text  # this mmnet's markers: nothing said
    for k in (1, 2):
        (tmp_path / f"clip{k}" / PREPARED_MARKER).write_text(json.dumps(
            {"written_by": "mmnet prepare", "format": MARKER_FORMAT + 1, "mmnet_version": "9.1.0", "settings": crop,
             "record": RECORD}))
    caplog.clear()
    with caplog.at_level("WARNING", logger="mmnet.train"):
        clips_alignment(samples)
    (said,) = [r.getMessage() for r in caplog.records if "newer mmnet" in r.getMessage()]  # once, not per clip
    assert said.startswith(f"2 training clip(s) were prepared by a newer mmnet (9.1.0, format {MARKER_FORMAT + 1}; "
                           f"this mmnet reads {PREPARED_MARKER} format {MARKER_FORMAT}), e.g. '{tmp_path / 'clip1'}'")
    assert "Upgrade mmnet" in said and "mmnet prepare ROOT --force" in said
