"""timeline.png's time axis follows a variable-frame-rate video's own frame times, as the CSVs and the page do."""

import numpy as np

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
    assert np.allclose(span, (result.seconds(interval.onset), result.seconds(interval.offset)))
    assert span[0] > interval.onset / 30 + 3  # seconds by frame number / fps would be over 3 s early


def test_without_frame_times_the_axis_is_frame_number_over_fps():
    result = _result(None)
    (interval,) = [i for i in result.intervals if i.type == "micro"]
    (span,) = _spans(_figure(result, 8.0))
    assert np.allclose(span, (interval.onset / 30, interval.offset / 30))
