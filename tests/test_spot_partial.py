"""`mmnet spot --out DIR` keeps its progress on a recording: an interrupted run (Ctrl-C, SIGTERM, a kill between two
saves) is resumed by the same command, and the result equals an uninterrupted run's exactly."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal

import numpy as np
import pytest
from PIL import Image

from mmnet.cli import main
from mmnet.commands.spot import SPOT_LOCK
from mmnet.preprocess.face import FaceDetection
from mmnet.spotting import flow_spotter, partial_state
from mmnet.spotting.config import spot_config
from mmnet.spotting.flow_spotter import extract_motion
from mmnet.spotting.partial_state import PARTIAL_NAME, PartialSpot
from mmnet.synth.long import LongConfig
from mmnet.synth.long_writer import write_long_dataset

pytest.importorskip("cv2")
pytest.importorskip("av")
face_extra = pytest.mark.skipif(
    __import__("importlib").util.find_spec("dlib") is None, reason="needs the face extra (dlib)")

SMALL = LongConfig(frame_size=(320, 240), face_size=(140, 170))  # a face dlib finds, small frames
RESULTS = ("spot.json", "intervals.csv", "spotting.csv")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """A 6 s synthetic video (180 frames, expressions planted) and its frames as a folder in which the face is gone
    for a second (a gap) and two numbers have no file (missing frames)."""
    base = tmp_path_factory.mktemp("partial")
    root = write_long_dataset(base / "set", minutes=0.1, seed=2, config=SMALL, formats=("jpg", "mp4"))
    video = root / "rawvideo" / "s15" / "15_0101disgust1.mp4"
    folder = base / "frames"
    shutil.copytree(root / "rawpic" / "s15" / "15_0101disgust1", folder)
    blank = Image.new("RGB", SMALL.frame_size, (128, 128, 128))  # no face there
    for n in range(141, 156):
        blank.save(folder / f"img{n}.jpg")
    for n in (170, 171):
        (folder / f"img{n}.jpg").unlink()
    return {"video": video, "folder": folder}



def _first_frames(folder, count: int):
    """A frame folder of the recording's first ``count`` frames, numbered from 1 as a dataset's files."""
    folder.mkdir()
    for n, image in _frames():
        if n < count:
            Image.fromarray(image).save(folder / f"img{n + 1}.png")
    return folder

def _spot(source, out, *extra) -> int:
    fps = ["--fps", "30"] if source.is_dir() else []
    return main(["spot", str(source), "--out", str(out), "--no-progress", *fps, *extra])


@pytest.fixture(scope="module")
def reference(recordings, tmp_path_factory):
    """Each recording's results, spotted without interruption."""
    out = {}
    for kind, source in recordings.items():
        folder = tmp_path_factory.mktemp(f"reference-{kind}")
        assert _spot(source, folder) == 0
        assert not (folder / PARTIAL_NAME).exists()  # a finished run leaves no progress behind
        out[kind] = _results(folder)
    spotted = {kind: json.loads(results["spot.json"]) for kind, results in out.items()}
    assert spotted["video"]["intervals"] and spotted["folder"]["intervals"]  # what the tests compare
    assert spotted["folder"]["gaps"] and any("2 frame(s) missing" in n for n in spotted["folder"]["notes"])
    return out


def _results(out) -> dict[str, str]:
    return {name: (out / name).read_text() for name in RESULTS}


def _saved_frames(out) -> int:
    with np.load(out / PARTIAL_NAME, allow_pickle=False) as archive:
        return json.loads(archive["meta"].tobytes())["frames"]


def _stop_after(monkeypatch, frames: int, exc=KeyboardInterrupt) -> None:
    """Raise ``exc`` once ``frames`` frames are measured, between two frames (from the progress callback)."""
    from mmnet.progress import FrameProgress

    count = FrameProgress.__call__

    def call(self, n):
        count(self, n)
        if self.doing == "spotting" and self.done == frames:
            raise exc

    monkeypatch.setattr(FrameProgress, "__call__", call)


@face_extra
@pytest.mark.slow
@pytest.mark.parametrize(("kind", "at"), [("video", 75), ("folder", 100), ("folder", 172)])
def test_an_interrupted_spot_resumes_to_an_uninterrupted_runs_result(recordings, reference, kind, at, tmp_path,
                                                                      monkeypatch, capsys):
    """Ctrl-C at frame 75 of 180 kept nothing: the rerun spotted from frame 0. The progress is kept in --out, the
    rerun says where it resumes, reads a folder's frames from there only, and writes what one run would have."""
    source, out = recordings[kind], tmp_path / "out"
    with monkeypatch.context() as patch:
        _stop_after(patch, at)
        assert _spot(source, out) == 130
    err = capsys.readouterr().err
    assert f"interrupted: nothing was written, but the spotting ({at} of 180 frames measured) is kept in " \
           f"{out / PARTIAL_NAME}; rerun the same command to resume from there" in err
    assert _saved_frames(out) == at and not (out / "spot.json").exists()
    read = []
    if kind == "folder":
        from mmnet import media

        read_rgb = media.read_rgb
        monkeypatch.setattr(media, "read_rgb", lambda path: read.append(path) or read_rgb(path))
    assert _spot(source, out) == 0
    err = capsys.readouterr().err
    assert f"resuming {source}: {at} of 180 frames measured (saved " in err
    assert ("the frames before it are not read again" if kind == "folder" else "the video is decoded again") in err
    if kind == "folder":  # img1 is frame position 0: only the files from position `at` on are read
        assert sorted(int(p.stem[3:]) for p in read) == [n for n in range(at + 1, 181) if n not in (170, 171)]
    assert _results(out) == reference[kind]
    assert not (out / PARTIAL_NAME).exists()


@face_extra
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_and_sigterm_finish_the_frame_save_it_and_stop(recordings, reference, signum, tmp_path, monkeypatch,
                                                               capsys, request):
    """A signal while a frame is measured is held until that frame is done; then the progress is saved and the run
    stops as the signal would have (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP: a closed terminal or ssh
    session), its lock released, and the rerun resumes after that frame."""
    out = tmp_path / "out"
    measure = flow_spotter._measure
    # A shell's background job (`cmd &`, nohup) starts with Ctrl-C ignored, and mmnet rightly keeps it ignored:
    # the test sets Python's own handler, as an interactive terminal gives, and puts back what it found.
    found = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, found))
    if signum == getattr(signal, "SIGHUP", None):  # likewise SIGHUP, ignored for a run under nohup
        found_hup = signal.signal(signal.SIGHUP, signal.SIG_DFL)
        request.addfinalizer(lambda: signal.signal(signal.SIGHUP, found_hup))

    def measure_and_signal(state, pos, *args):
        if pos == 60:
            os.kill(os.getpid(), signum)  # arrives in the middle of frame 60
        measure(state, pos, *args)

    with monkeypatch.context() as patch:
        patch.setattr(flow_spotter, "_measure", measure_and_signal)
        code = _spot(recordings["video"], out)
    err = capsys.readouterr().err
    assert code == {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}[signum]
    said = {signal.SIGINT: "interrupted", signal.SIGTERM: "stopped (SIGTERM)",
            signal.SIGHUP: "stopped (SIGHUP)"}[signum]
    assert f"{said}: nothing was written, but the spotting (61 of 180 frames measured) is kept in" in err
    assert _saved_frames(out) == 61
    assert not (out / SPOT_LOCK).exists()  # released, not left stale
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # set back
    assert _spot(recordings["video"], out) == 0
    assert "resuming" in capsys.readouterr().err and _results(out) == reference["video"]


@face_extra
@pytest.mark.slow
def test_a_kill_in_the_middle_of_a_frame_loses_only_what_came_after_the_last_save(recordings, reference, tmp_path,
                                                                                  monkeypatch, capsys):
    """A stop that cannot wait for the frame (kill -9, a second Ctrl-C) saves nothing then: the rerun continues from
    the last periodic save (here after every frame), and still gives the uninterrupted result."""
    out = tmp_path / "out"
    monkeypatch.setattr(partial_state, "SAVE_EVERY_S", 0.0)
    measure = flow_spotter._measure

    def killed_at_100(state, pos, *args):
        if pos == 100:
            raise KeyboardInterrupt  # in the middle of frame 100: what it held is half changed
        measure(state, pos, *args)

    with monkeypatch.context() as patch:
        patch.setattr(flow_spotter, "_measure", killed_at_100)
        assert _spot(recordings["video"], out) == 130
    assert _saved_frames(out) == 100
    capsys.readouterr()
    assert _spot(recordings["video"], out) == 0
    assert "resuming" in capsys.readouterr().err and _results(out) == reference["video"]


@face_extra
@pytest.mark.slow
def test_another_configuration_or_a_changed_recording_starts_from_the_beginning_and_says_why(recordings, tmp_path,
                                                                                            monkeypatch, capsys):
    video, out = recordings["video"], tmp_path / "out"
    state = out / PARTIAL_NAME
    with monkeypatch.context() as patch:
        _stop_after(patch, 40)
        assert _spot(video, out) == 130
    saved = state.read_bytes()
    assert _spot(video, out, "--set", "micro.p=0.1") == 0
    err = capsys.readouterr().err
    assert f"note: {state}: the spotter's parameters differ (micro.p 0.05 then, 0.1 now); it is kept until this " \
           f"run saves its own progress, and {video} is spotted from its start" in err
    assert "resuming" not in err and not state.exists()  # replaced by this run's, then removed with its results
    copy = tmp_path / "copy.mp4"  # the same pixels under another name: not taken for the video's progress
    shutil.copy2(video, copy)
    state.write_bytes(saved)
    with monkeypatch.context() as patch:
        _stop_after(patch, 40)
        assert _spot(copy, out) == 130
    assert f"it holds the progress on {video}, not on {copy}" in capsys.readouterr().err
    stat = copy.stat()  # then the copy changes: its modification time moves
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert _spot(copy, out) == 0
    assert f"{copy} changed since (its size, modification time or content differ); it is kept until" in \
        capsys.readouterr().err


@face_extra
@pytest.mark.slow
def test_a_damaged_progress_file_is_named_and_ignored(recordings, reference, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        _stop_after(patch, 50)
        assert _spot(recordings["video"], out) == 130
    state = out / PARTIAL_NAME
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])  # cut, as a disk that filled up
    capsys.readouterr()
    assert _spot(recordings["video"], out) == 0
    err = capsys.readouterr().err
    assert f"note: {state} cannot be read (" in err and "it is damaged; it is kept until this run saves its own " \
        "progress, and" in err
    assert _results(out) == reference["video"] and not state.exists()


def test_without_out_nothing_is_kept_and_the_line_says_how_to_keep_it(recordings, tmp_path, monkeypatch, capsys):
    _stop_after(monkeypatch, 20)
    assert main(["spot", str(recordings["video"]), "--no-progress", "--no-align"]) == 130
    assert "interrupted: nothing was written or kept (give --out DIR to keep partial progress); a rerun spots the " \
           "recording from its start" in capsys.readouterr().err


# -- extract_motion itself, with a face that moves, is lost, and gives way to others -------------------------------
# The faces found at each check (frames 0, 30, 60, ...): one that moves far (a realignment), none (a gap), two
# others (the one followed since), then only the one not followed (another switch: it is one of the others).
LOOKS = [[(100, 60, 220, 180)], [(184, 60, 304, 180)], [], [(300, 60, 420, 180), (460, 60, 580, 180)],
         [(300, 60, 420, 180), (460, 60, 580, 180)], [(460, 60, 580, 180)]]
FRAMES = 175


def _face_points(box):
    from .test_spot_faces import _face_points as points

    return points(box)


def _aligner(cfg):
    """dlib stood in for by a detector that reads which faces to find from the frame itself (its first pixel), so
    that a resumed run finds what an uninterrupted one would."""
    from mmnet.preprocess.face import CropGeometry, FaceAligner

    aligner = FaceAligner.__new__(FaceAligner)
    aligner.geometry = CropGeometry(cfg.face.width, cfg.face.height)
    aligner.detect = lambda image: [FaceDetection(box, 1.0) for box in LOOKS[int(image[0, 0])]]
    aligner.landmarks = lambda image, face: _face_points(face.box)
    return aligner


def _frames():
    for n in range(FRAMES):
        image = np.random.default_rng(n // 7).integers(0, 255, (240, 640), dtype=np.uint8)
        image[0, 0] = n // 30
        yield n, image


def _curves(keep=None, stop_at=None):
    cfg = spot_config("casme2")

    def progress(_):
        progress.done += 1
        if progress.done == stop_at:
            raise KeyboardInterrupt

    progress.done = 0
    return extract_motion(_frames(), 30.0, cfg, aligner=_aligner(cfg), source="rec.mp4", keep=keep,
                          progress=progress)


def _keep(tmp_path, say=None):
    source = tmp_path / "rec.mp4"
    if not source.exists():
        source.write_bytes(b"a recording" * 100)
    keep = PartialSpot(tmp_path / "out", say=say or (lambda line: None))
    keep.begin(source, 30.0, spot_config("casme2"), FRAMES)
    return keep


@pytest.fixture(scope="module")
def whole():
    return _curves()


@pytest.mark.parametrize("at", [1, 31, 45, 95, 121, 175])
def test_resumed_motion_equals_an_uninterrupted_runs_wherever_it_stopped(tmp_path, whole, at):
    """Around a realignment (the kept crops warped), a lost face (a gap), another face taken on (the window
    emptied, a note) and at the very end: the curves, gaps, realignments, notes and faces are the same."""
    (tmp_path / "out").mkdir()
    assert whole.gaps and whole.realignments == [0, 30, 90, 150] and len(whole.notes) == 2  # what it is about
    assert "not found again at frame(s) 90, 150" in whole.notes[1]
    with pytest.raises(KeyboardInterrupt):
        _curves(_keep(tmp_path), stop_at=at)
    said = []
    keep = _keep(tmp_path, said.append)
    assert keep.saved == at and said[0].startswith(f"resuming {tmp_path / 'rec.mp4'}: {at} of {FRAMES} frames measured")
    resumed = _curves(keep)
    for field in ("fps", "regions", "strides", "gaps", "realignments", "notes", "missing", "faces"):
        assert getattr(resumed, field) == getattr(whole, field), field
    np.testing.assert_array_equal(resumed.numbers, whole.numbers)
    for scale in ("micro", "macro"):
        np.testing.assert_array_equal(resumed.scores[scale], whole.scores[scale])


def test_the_finished_curves_are_kept_until_the_results_are_written(tmp_path, monkeypatch):
    """Once the whole recording is measured, its curves are kept: a run stopped while classifying (the second pass
    of --checkpoint) is spotted again from them, without measuring any frame."""
    from mmnet.spotting.spotter import spot_recording

    frames = _first_frames(tmp_path / "frames", 60)
    cfg = spot_config("casme2", ["face.mode=none", "face.width=64", "face.height=64"])
    (tmp_path / "out").mkdir()
    first = spot_recording(frames, cfg, fps=30, partial=PartialSpot(tmp_path / "out", say=lambda line: None))
    said = []
    monkeypatch.setattr(flow_spotter, "_measure", None)  # measuring a frame would fail
    again = spot_recording(frames, cfg, fps=30, partial=PartialSpot(tmp_path / "out", say=said.append))
    assert len(said) == 1 and said[0].startswith(f"resuming {frames}: its motion was measured to the end (saved ")
    assert again.to_dict() == first.to_dict()


def test_a_progress_file_holds_no_pickle(tmp_path):
    """The file is read with allow_pickle=False: one whose arrays hold objects is damaged, not run."""
    (tmp_path / "out").mkdir()
    with pytest.raises(KeyboardInterrupt):
        _curves(_keep(tmp_path), stop_at=40)
    state = tmp_path / "out" / PARTIAL_NAME
    with np.load(state, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, trap=np.array([object()], dtype=object))
    state.write_bytes(buffer.getvalue())
    said = []
    keep = _keep(tmp_path, said.append)
    assert keep.resume is None and "cannot be read (Damaged: its 'trap' holds objects" in said[0]


def test_frames_that_are_not_those_measured_before_are_not_continued(tmp_path):
    """The key vouches for the recording; should its frames still differ from the progress (another numbering), the
    run is not continued on them: ``spot_recording`` starts it again from the first frame."""
    from mmnet.spotting.motion_state import StaleProgress

    (tmp_path / "out").mkdir()
    with pytest.raises(KeyboardInterrupt):
        _curves(_keep(tmp_path), stop_at=40)
    cfg = spot_config("casme2")
    renumbered = ((n + 1, image) for n, image in _frames())
    with pytest.raises(StaleProgress, match="frame 0 is numbered 1, not 0 as before"):
        extract_motion(renumbered, 30.0, cfg, aligner=_aligner(cfg), keep=_keep(tmp_path))
    short = ((n, image) for n, image in _frames() if n < 30)
    with pytest.raises(StaleProgress, match="it ends after 30 frames, before the 40 measured"):
        extract_motion(short, 30.0, cfg, aligner=_aligner(cfg), keep=_keep(tmp_path))


def test_spot_recording_starts_again_when_the_frames_are_not_those_measured(tmp_path, monkeypatch):
    from mmnet.spotting.spotter import spot_recording

    frames = _first_frames(tmp_path / "frames", 60)
    cfg = spot_config("casme2", ["face.mode=none", "face.width=64", "face.height=64"])
    same = {"source": "rec", "recording": {}, "fps": 30.0, "config": {}, "versions": {}}
    monkeypatch.setattr(partial_state, "recording_key", lambda *args: same)  # blind to a renumbering

    def stop_at_30(_):
        stop_at_30.done += 1
        if stop_at_30.done == 30:
            raise KeyboardInterrupt

    stop_at_30.done = 0
    with pytest.raises(KeyboardInterrupt):
        spot_recording(frames, cfg, fps=30, partial=PartialSpot(tmp_path / "out", say=print), progress=stop_at_30)
    for path in sorted(frames.iterdir(), key=lambda p: -int(p.stem[3:])):
        path.rename(frames / f"img{int(path.stem[3:]) + 100}.png")
    said, totals = [], []
    again = spot_recording(frames, cfg, fps=30, partial=PartialSpot(tmp_path / "out", say=said.append),
                           on_total=totals.append)
    assert totals == [60, 60]  # the progress counted again from the first frame, as the spotting is
    assert said[0].startswith(f"resuming {frames}: 30 of 60 frames measured")
    assert said[1] == (f"note: {tmp_path / 'out' / PARTIAL_NAME}: {frames} streams other frames than it did (frame 0 "
                       f"is numbered 101, not 1 as before); it is kept until this run saves its own progress, and "
                       f"{frames} is spotted from its start")
    assert again.to_dict() == spot_recording(frames, cfg, fps=30).to_dict()


# -- the recording by another path, a mismatch, and files that are damaged in odd ways ----------------------------
def test_the_same_recording_by_another_path_resumes(tmp_path, monkeypatch):
    """Relative from another folder, or through a link: the recording is the same, so is its progress."""
    (tmp_path / "out").mkdir()
    with pytest.raises(KeyboardInterrupt):
        _curves(_keep(tmp_path), stop_at=40)
    link = tmp_path / "link.mp4"
    link.symlink_to(tmp_path / "rec.mp4")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    for given in ("../rec.mp4", str(link)):
        said = []
        keep = PartialSpot(tmp_path / "out", say=said.append)
        keep.begin(given, 30.0, spot_config("casme2"), FRAMES)
        assert keep.saved == 40 and said[0].startswith(f"resuming {given}: 40 of {FRAMES} frames measured"), said


def test_progress_that_does_not_fit_is_kept_until_this_run_saves_its_own(tmp_path):
    """A typo in --set or another recording sent to the same --out says why it starts again, but removes nothing:
    the file is replaced whole by this run's first save."""
    (tmp_path / "out").mkdir()
    with pytest.raises(KeyboardInterrupt):
        _curves(_keep(tmp_path), stop_at=40)
    state = tmp_path / "out" / PARTIAL_NAME
    saved = state.read_bytes()
    said = []
    keep = PartialSpot(tmp_path / "out", say=said.append)
    keep.begin(tmp_path / "rec.mp4", 30.0, spot_config("casme2", ["micro.p=0.1"]), FRAMES)
    assert keep.resume is None and state.read_bytes() == saved
    assert said == [f"note: {state}: the spotter's parameters differ (micro.p 0.05 then, 0.1 now); it is kept until "
                    f"this run saves its own progress, and {tmp_path / 'rec.mp4'} is spotted from its start"]
    with pytest.raises(KeyboardInterrupt):  # this run's own progress replaces it
        _curves(keep, stop_at=20)
    assert _saved_frames(tmp_path / "out") == 20
    assert _keep(tmp_path).resume is None  # of the other configuration: not continued by the first one either


def _rewrite(state, meta=None, **arrays):
    """The progress file with its document changed by ``meta`` and arrays replaced by ``arrays``."""
    with np.load(state, allow_pickle=False) as archive:
        old = {name: archive[name] for name in archive.files}
    document = json.loads(old.pop("meta").tobytes())
    (meta or (lambda d: None))(document)
    old.update(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(json.dumps(document).encode(), np.uint8), **old)
    state.write_bytes(buffer.getvalue())


@pytest.mark.parametrize("damage", [
    "saved", "last_check", "landmarks", "nan_landmarks", "bomb", "lying_header", "other_compression", "frames",
    "large"])
def test_odd_progress_files_are_damaged_not_a_crash(tmp_path, damage):
    """Each is named as damaged, ignored (the run starts from its first frame) and left to be replaced: none
    raises, so that no rerun crashes on it; a small file that unpacks to a large array is not unpacked."""
    import tracemalloc
    import zipfile

    (tmp_path / "out").mkdir()
    with pytest.raises(KeyboardInterrupt):
        _curves(_keep(tmp_path), stop_at=40)
    state = tmp_path / "out" / PARTIAL_NAME
    if damage == "saved":
        _rewrite(state, lambda d: d.update(saved=1e300))
    elif damage == "large":  # 100 MB on disk, stored: not read whole into memory either
        with zipfile.ZipFile(state, "a", zipfile.ZIP_STORED) as z, z.open("big.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False, "shape": (100 << 20,)})
            for _ in range(100):
                f.write(bytes(1 << 20))
    elif damage == "frames":  # far more than the recording has: it would let its arrays be that large
        _rewrite(state, lambda d: d.update(frames=10**7))
    elif damage == "last_check":
        _rewrite(state, lambda d: d["motion"]["face"].update(last_check=float("inf")))
    elif damage in ("landmarks", "nan_landmarks"):
        points = np.zeros((5, 2)) if damage == "landmarks" else np.full((68, 2), np.nan)
        _rewrite(state, face_points=points)
    elif damage == "bomb":  # 1 GiB of zeros, compressed to about 1 MB
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z, zipfile.ZipFile(state) as old:
            for item in old.infolist():
                z.writestr(item.filename, old.read(item))
            with z.open("big.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False,
                                                         "shape": (1 << 30,)})
                chunk = bytes(1 << 24)
                for _ in range(64):
                    f.write(chunk)
        state.write_bytes(buffer.getvalue())
        assert state.stat().st_size < 4 << 20
    elif damage == "lying_header":  # a header that claims far more than the entry holds
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z, zipfile.ZipFile(state) as old:
            for item in old.infolist():
                data = old.read(item)
                if item.filename == "numbers.npy":
                    header = io.BytesIO()
                    np.lib.format.write_array_header_1_0(header, {"descr": "<i8", "fortran_order": False,
                                                                  "shape": (10**10,)})
                    data = header.getvalue() + data[-40 * 8:]
                z.writestr(item.filename, data)
        state.write_bytes(buffer.getvalue())
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as z, zipfile.ZipFile(state) as old:
            for item in old.infolist():
                z.writestr(item.filename, old.read(item))
        state.write_bytes(buffer.getvalue())
    said = []
    tracemalloc.start()
    try:
        keep = _keep(tmp_path, said.append)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, peak
    assert keep.resume is None and keep.saved is None and len(said) == 1, said
    assert "cannot be read (" in said[0] and "it is damaged; it is kept until this run saves its own progress" \
        in said[0], said
    assert state.exists()


def test_a_saved_flow_spotter_keeps_its_progress_as_the_preset_does(tmp_path, monkeypatch, capsys):
    """`--spotter-model flow.pt` (a flow spotter saved with its parameters) is the flow path: --out keeps progress."""
    from mmnet.spotting.spotters import make_spotter

    frames = tmp_path / "frames"
    frames.mkdir()
    for n, image in _frames():
        if n < 60:
            Image.fromarray(image).save(frames / f"img{n + 1}.png")
    model, out = tmp_path / "flow.pt", tmp_path / "out"
    config = spot_config("casme2", ["method=flow", "face.mode=none", "face.width=64", "face.height=64"])
    make_spotter(config).save(model)
    whole = tmp_path / "whole"
    assert _spot(frames, whole, "--spotter-model", str(model)) == 0
    with monkeypatch.context() as patch:
        _stop_after(patch, 20)
        assert _spot(frames, out, "--spotter-model", str(model)) == 130
    assert "nothing was written, but the spotting (20 of 60 frames measured) is kept in" in capsys.readouterr().err
    assert _saved_frames(out) == 20
    assert _spot(frames, out, "--spotter-model", str(model)) == 0
    assert f"resuming {frames}: 20 of 60 frames measured" in capsys.readouterr().err
    same = {name: text for name, text in _results(out).items() if name != "spot.json"}
    assert same == {name: text for name, text in _results(whole).items() if name != "spot.json"}


def test_a_resumed_run_paces_its_progress_on_its_own_frames(tmp_path, monkeypatch, capsys):
    """The frames measured before are streamed by first: the progress is told how many, so that its time left is
    that of this run's frames (``FrameProgress.start``'s ``before``)."""
    from mmnet.progress import FrameProgress

    frames, out = _first_frames(tmp_path / "frames", 60), tmp_path / "out"
    small = ("--no-align", "--set", "face.width=64", "--set", "face.height=64")
    with monkeypatch.context() as patch:
        _stop_after(patch, 20)
        assert _spot(frames, out, *small) == 130
    starts, start = [], FrameProgress.start
    monkeypatch.setattr(FrameProgress, "start", lambda self, total, **kw: starts.append((self.doing, total, kw))
                        or start(self, total, **kw))
    assert _spot(frames, out, *small) == 0
    assert starts == [("spotting", 60, {"before": 20})]
    capsys.readouterr()
