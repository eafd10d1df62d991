"""The learned spotter on one recording: its networks' score curves, then intervals, resumable with ``--out``.

``spot_learned`` reads the recording as the flow spotter does (``flow_spotter.extract_motion``: its reading, face
alignment, flow and head-motion removal), feeds every flow pair to the networks as it is computed
(``learned_outputs.NetOutputs``, the ``on_flow`` hook), places each pair's output at the pair's middle as the flow
spotter places its scores, and spots intervals on those curves with the flow spotter's smoothing, threshold, peaks
and length gates (``peaks.spot_intervals``), ``learned.p`` as the threshold. With ``keep`` (a
``partial_state.PartialSpot``, ``mmnet spot --out``), the motion state and the networks' outputs are kept as they
go and, once the recording is measured, the score curves: a rerun continues from them as the flow spotter's does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from .flow_spotter import MotionCurves, centre_pairs, check_rate, extract_motion, open_recording
from .learned_outputs import NetOutputs
from .motion_state import StaleProgress
from .peaks import spot_intervals
from .spotter import SpotResult

__all__ = ["spot_learned"]


def spot_learned(spotter, source: str | Path, *, fps: float | None = None, name: str | None = None,
                 progress: Callable[[int], None] | None = None, on_total: Callable[[int | None], None] | None = None,
                 keep=None) -> SpotResult:
    """Spot ``source`` (a video file or a frame folder) with ``spotter`` (a trained ``LearnedSpotter``).

    ``name``: the recording's in notes (default: ``source``); ``progress``: called with 1 after every frame;
    ``on_total``: called with the frame count (None when unknown), again when the run starts over; ``keep``: a
    ``PartialSpot`` whose progress is continued and kept.
    """
    config, name = spotter.config, str(source) if name is None else name
    frames, rate, total = open_recording(source, fps)
    outputs = NetOutputs(spotter.nets, config.learned.size, spotter.device)
    if keep is not None:
        check_rate(rate)  # before the progress kept is compared with a rate that is none
        keep.begin(source, rate, config, total, outputs=outputs)
    if on_total is not None:
        on_total(total)
    if keep is not None and keep.curves is not None:  # the whole recording was scored before
        curves = MotionCurves(**keep.curves)
    else:
        try:
            curves = _score(spotter, frames, rate, total, outputs, name, progress, keep)
        except StaleProgress as exc:  # the recording is not what the saved progress measured after all
            keep.forget(f"{source} streams other frames than it did ({exc})")
            frames, rate, total = open_recording(source, fps)
            if on_total is not None:  # counted again from the first frame
                on_total(total)
            curves = _score(spotter, frames, rate, total, outputs, name, progress, keep)
    if keep is not None:  # written once; kept in hand for the classification's saves (--checkpoint)
        keep.save_curves(curves)
    p = config.learned.p
    peaks_config = replace(config, micro=replace(config.micro, p=p), macro=replace(config.macro, p=p))
    intervals, details = spot_intervals(curves, peaks_config, spotter.types)
    return SpotResult(str(source), rate, curves.frames_read, intervals, curves.gaps, config, curves, details)


def _score(spotter, frames, rate: float, total: int | None, outputs: NetOutputs, name: str, progress, keep
           ) -> MotionCurves:
    """The networks' score curves (one column, ``learned``, per type) on the flow spotter's motion."""
    outputs.start(None if keep is None or keep.resume is None else keep.resume["outputs"])
    curves = extract_motion(frames, rate, spotter.config, aligner=spotter.aligner(), source=name, on_flow=outputs,
                            declared=total, progress=progress, keep=keep)
    n = len(curves.numbers)
    scores = {}
    for s in outputs.types:
        outputs.flush(s)
        centre = centre_pairs(outputs.ends(s, n), curves.strides[s] // 2)  # at the pair's middle, as the flow's
        centre[np.isnan(curves.scores[s]).all(axis=1)] = np.nan  # gaps, the first k frames
        scores[s] = centre[:, None]
    return MotionCurves(rate, curves.numbers, scores, ("learned",), curves.strides, curves.gaps, curves.realignments,
                        curves.notes, curves.missing, curves.faces, curves.times)
