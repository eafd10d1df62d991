"""Videos that the media and spotting tests write with PyAV."""

from __future__ import annotations

import fractions

import numpy as np
import pytest


def vfr_video(path, times_ms: list[int], images: list[np.ndarray]):
    """A lossless (ffv1) Matroska video of ``images`` (RGB, one size), frame i shown at ``times_ms[i]``: a variable
    frame rate, as a phone that changes rate with the light writes it; its stream declares 30 fps."""
    av = pytest.importorskip("av")
    height, width = images[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        stream.codec_context.time_base = fractions.Fraction(1, 1000)
        for ms, image in zip(times_ms, images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = ms, fractions.Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
