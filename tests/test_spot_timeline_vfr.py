"""timeline.png's time axis follows a variable-frame-rate video's own frame times, as the CSVs and the page do."""

import numpy as np
import pytest

from mmnet.spotting.scores import spot_scores
from mmnet.spotting.timeline import _figure


def _result(times):
    n = 300
    micro = np.zeros(n)
    micro[200:212] = np.hanning(12) * 5  # one burst of motion around frame 206
    result = spot_scores({"micro": micro}, fps=30.0)
    result.curves.times = times
    return result


def _spans(fig):
    """(left, right) in seconds of each interval span drawn on the micro panel (the shaded patches)."""
    ax = fig.axes[0]
    return [(p.get_x(), p.get_x() + p.get_width()) for p in ax.patches]


def test_the_timeline_of_a_variable_rate_video_uses_its_frames_times():
    n = 300  # 30 fps, then 15 fps from frame 100: frame 206 is at 100/30 + 106/15 s, not 206/30
    times = np.where(np.arange(n) < 100, np.arange(n) / 30, 100 / 30 + (np.arange(n) - 100) / 15)
    result = _result(times)
    (interval,) = [i for i in result.intervals if i.type == "micro"]
    (span,) = _spans(_figure(result, 8.0))
    # the span reaches the end of its last frame (the next frame's start), as end_s does
    assert np.allclose(span, (result.seconds(interval.onset), result.seconds(interval.offset + 1)))
    assert span[0] > interval.onset / 30 + 3  # seconds by frame number / fps would be over 3 s early


def test_without_frame_times_the_axis_is_frame_number_over_fps():
    result = _result(None)
    (interval,) = [i for i in result.intervals if i.type == "micro"]
    (span,) = _spans(_figure(result, 8.0))
    assert np.allclose(span, (interval.onset / 30, (interval.offset + 1) / 30))


def _frame_ticks(fig):
    """(frame number, the time in seconds on the bottom axis it is drawn at) of each label of the top axis."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    (top,) = ax.child_axes  # the secondary "frame number" axis
    lo, hi = top.get_xlim()
    frames = [f for f in top.get_xticks() if min(lo, hi) <= f <= max(lo, hi)]
    drawn = [ax.transData.inverted().transform(top.transData.transform((f, 0)))[0] for f in frames]
    return list(zip(frames, drawn))


@pytest.mark.parametrize("times", [np.arange(300) / 30, None], ids=["video", "frame folder"])
def test_the_frame_number_axis_labels_each_frame_at_its_time(times):
    # a video's axis was mapped with np.interp, which clamps: the time axis's margins (5 % of the recording on each
    # side) read as frames 0 and 299, and every label was drawn up to 5 % of the length away from its frame's time
    ticks = _frame_ticks(_figure(_result(times), 8.0))
    assert len(ticks) >= 3
    for frame, at in ticks:
        assert at == pytest.approx(frame / 30, abs=1e-6), (frame, at)
    assert any(f < 0 for f, _ in ticks) or any(f > 299 for f, _ in ticks)  # labels in the margins, past the frames
