"""`mmnet spot`'s cost on the flow spotter's path: what it loads and the work it does per frame."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.serve_helpers import mp4_bytes, synth_frames

pytest.importorskip("av")


def test_the_flow_spotter_without_a_model_never_imports_torch(tmp_path):
    # torch is a model's: importing it costs the flow spotter about 2 s of CPU and 200 MB of memory for nothing.
    # As the `mmnet` program runs it (main() without argv): a call from Python keeps torch's state for its caller
    video = tmp_path / "clip.mp4"
    video.write_bytes(mp4_bytes(synth_frames(n=40, apex=20, seed=1)))
    out = tmp_path / "spots"
    argv = ["mmnet", "spot", str(video), "--no-align", "--no-progress", "--out", str(out)]
    code = (f"import sys\nfrom mmnet.cli import main\nsys.argv = {argv!r}\ncode = main()\n"
            "print(code, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 False", done.stderr
    assert (out / "intervals.csv").is_file()


def _planted_frames(n: int = 150, seed: int = 0) -> list[np.ndarray]:
    """A synthetic face crop (face.mode=none) with a macro-expression planted, as RGB frames."""
    from mmnet.synth.long import LongConfig, plan_recording, render_frames

    config = LongConfig(frame_size=(140, 170), face_size=(140, 170), weights=(1.0, 0.0, 0.0), blinks_per_min=0.0,
                        macro_s=(1.0, 1.5), gap_s=(1.5, 1.5))
    return list(render_frames(seed, 1, 1, plan_recording(seed, 1, 1, n, config), config))


@pytest.mark.parametrize("method", ["dis", "farneback", "tvl1"])
def test_a_kept_flow_calculator_gives_compute_flows_numbers_bit_for_bit(method):
    cv2 = pytest.importorskip("cv2")
    if method == "tvl1" and not hasattr(cv2, "optflow"):
        pytest.skip("TV-L1 needs OpenCV's contrib build")
    from mmnet.preprocess.flow import FLOW_SCALE, compute_flow, flow_calculator

    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in _planted_frames(40)]
    calc = flow_calculator(method)  # one object for every pair, as the spotter keeps it
    for a, b in [(0, 1), (0, 12), (5, 30), (29, 39), (3, 4)]:
        kept = calc(grey[a], grey[b])
        fresh = compute_flow(grey[a], grey[b], method)[:2] * np.float32(FLOW_SCALE)
        assert kept.dtype == np.float32 and np.array_equal(kept.transpose(2, 0, 1), fresh), (method, a, b)


def test_the_spotter_keeps_one_flow_object_per_run_and_measures_as_compute_flow(monkeypatch):
    cv2 = pytest.importorskip("cv2")
    import mmnet.spotting.flow_spotter as flow_spotter
    from mmnet.preprocess.flow import FLOW_SCALE, compute_flow
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.flow_spotter import extract_motion
    from mmnet.spotting.peaks import spot_intervals

    frames = _planted_frames()
    config = spot_config("casme2", ["face.mode=none", "flow=dis"])
    made = []
    real = cv2.DISOpticalFlow_create
    monkeypatch.setattr(cv2, "DISOpticalFlow_create", lambda *a: made.append(a) or real(*a))
    kept = extract_motion(enumerate(frames), 30.0, config)
    assert len(made) == 1  # not two a frame
    # the numbers of the spotter's former per-pair compute_flow, scaled back to pixels
    monkeypatch.setattr(flow_spotter, "flow_calculator", lambda method: lambda a, b: (
        compute_flow(a, b, method)[:2] * np.float32(FLOW_SCALE)).transpose(1, 2, 0))
    fresh = extract_motion(enumerate(frames), 30.0, config)
    for s in fresh.scores:
        assert np.array_equal(kept.scores[s], fresh.scores[s], equal_nan=True)
        assert np.isfinite(kept.scores[s]).any()
    assert spot_intervals(kept, config)[0] == spot_intervals(fresh, config)[0]


def test_what_the_spotter_holds_per_frame_is_machine_numbers_not_python_objects():
    # an hour at 200 fps is 720,000 frames: as lists of Python floats the scores alone held ~350 bytes a frame
    import tracemalloc

    pytest.importorskip("cv2")
    from mmnet.preprocess.flow import flow_calculator
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.face_track import FaceTrack
    from mmnet.spotting.flow_spotter import _measure
    from mmnet.spotting.motion_state import SCALES, MotionState

    frames, first, last = _planted_frames(170), 60, 169
    config = spot_config("casme2", ["face.mode=none"])
    strides = {s: config.frames_at(getattr(config, s).k, 30.0) for s in SCALES}
    state = MotionState.start(FaceTrack(config, 30, None), max(strides.values()) + 1)
    calc, held = flow_calculator(config.flow), {}
    tracemalloc.start()
    try:
        for pos, image in enumerate(frames):
            if pos in (first, last):  # past the window's filling: what grows from here is per frame
                held[pos] = tracemalloc.get_traced_memory()[0]
            _measure(state, pos, 1000 + pos, image, strides, config, "test", None, calc)
    finally:
        tracemalloc.stop()
    per_frame = (held[last] - held[first]) / (last - first)
    assert per_frame < 150, f"{per_frame:.0f} bytes a frame"
    assert np.isfinite(np.asarray(state.ends["macro"])).any()
