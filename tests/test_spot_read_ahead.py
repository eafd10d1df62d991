"""The spotter's frames read on a thread of their own (``spotting.read_ahead``): same frames, errors and ends."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np
import pytest

from mmnet.errors import DataError
from mmnet.spotting.read_ahead import ReadAhead


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mmnet-read-ahead"]


def test_frames_come_in_their_order_and_the_reader_ends():
    with ReadAhead(iter(range(1000)), depth=2) as ahead:
        assert list(ahead) == list(range(1000))
    assert not _readers()


def test_a_reading_error_comes_after_the_frames_before_it_as_it_was_raised():
    error = DataError("Video 'x.mp4' cannot be decoded after frame 4 (Invalid data); re-encode it.")

    def frames():
        yield from range(5)
        raise error

    got = []
    with pytest.raises(DataError) as raised, ReadAhead(frames()) as ahead:
        for item in ahead:
            got.append(item)
    assert got == [0, 1, 2, 3, 4] and raised.value is error and str(raised.value) == str(error)
    assert not _readers()


def test_a_consumer_that_stops_early_stops_the_reader_and_closes_its_frames():
    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    with pytest.raises(KeyboardInterrupt), ReadAhead(endless()) as ahead:
        for item in ahead:
            if item == 3:
                raise KeyboardInterrupt  # as Ctrl-C in the spotter's loop
    assert not _readers() and closed.wait(5)


def _planted(n: int = 120) -> list[np.ndarray]:
    from mmnet.synth.long import LongConfig, plan_recording, render_frames

    config = LongConfig(frame_size=(140, 170), face_size=(140, 170), weights=(1.0, 0.0, 0.0), blinks_per_min=0.0,
                        macro_s=(1.0, 1.5), gap_s=(1.5, 1.5))
    return list(render_frames(0, 1, 1, plan_recording(0, 1, 1, n, config), config))


def test_the_spotter_reads_on_another_thread_and_measures_as_when_it_read_itself(monkeypatch):
    pytest.importorskip("cv2")
    import mmnet.spotting.flow_spotter as flow_spotter
    from mmnet.spotting.config import spot_config

    frames, config = _planted(), spot_config("casme2", ["face.mode=none"])
    readers = set()

    def stream():
        for pair in enumerate(frames):
            readers.add(threading.current_thread())
            yield pair

    ahead = flow_spotter.extract_motion(stream(), 30.0, config)
    assert threading.current_thread() not in readers and not _readers()

    @contextmanager
    def inline(items):  # the spotter as it was: it reads the frames itself
        yield items

    monkeypatch.setattr(flow_spotter, "ReadAhead", inline)
    itself = flow_spotter.extract_motion(enumerate(frames), 30.0, config)
    assert ahead.numbers.tolist() == itself.numbers.tolist()
    for s in itself.scores:
        assert np.array_equal(ahead.scores[s], itself.scores[s], equal_nan=True)


def test_a_stream_that_fails_midway_fails_the_spotter_with_its_own_error_and_leaves_no_thread():
    pytest.importorskip("cv2")
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.flow_spotter import extract_motion

    frames = _planted(40)

    def damaged():
        yield from enumerate(frames[:30])
        raise DataError("Video 'cut.mp4' cannot be decoded after frame 29 (End of file); copy it again.")

    with pytest.raises(DataError, match=r"^Video 'cut.mp4' cannot be decoded after frame 29 \(End of file\)"):
        extract_motion(damaged(), 30.0, spot_config("casme2", ["face.mode=none"]))
    assert not _readers()
