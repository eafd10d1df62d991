"""The timeline of one spotted recording for the report: ground truth against the spotted intervals.

Four lanes share the frame axis (seconds below): ground-truth macro, spotted macro, ground-truth
micro, spotted micro. A matched pair is green in both lanes, a false positive red, a missed
expression orange. Micro intervals carry their class: recognised above a spotted one, annotated
above a ground truth.
"""

from __future__ import annotations

import io

from .figure_fonts import fitted_fonts

__all__ = ["scored_timeline_png", "OUTCOME_COLOURS"]

OUTCOME_COLOURS = {"TP": "#2ca02c", "FP": "#d62728", "FN": "#ff7f0e"}
_LANES = (("macro", "truth"), ("macro", "spotted"), ("micro", "truth"), ("micro", "spotted"))


def scored_timeline_png(video: str, first: int, last: int, fps: float, pairs) -> bytes:
    """PNG bytes of the recording's timeline from its MEGC ``Pair``s (``spotting.megc``)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fig = Figure(figsize=(12, 2.6), layout="constrained")
    ax = fig.subplots()
    span = max(last - first + 1, 1)
    for lane, (type_, side) in enumerate(_LANES):
        y = len(_LANES) - 1 - lane
        for p in pairs:
            iv = p.truth if side == "truth" else p.prediction
            if iv is None or p.type != type_:
                continue
            ax.broken_barh([(iv.onset, iv.offset - iv.onset + 1)], (y - 0.35, 0.7), color=OUTCOME_COLOURS[p.outcome],
                           lw=0)
            if type_ == "micro" and iv.label:
                ax.text((iv.onset + iv.offset) / 2, y + 0.38, iv.label, ha="center", va="bottom", fontsize=6)
    ax.set_yticks(range(len(_LANES)), [f"{s} {t}" for t, s in reversed(_LANES)])
    ax.set_ylim(-0.6, len(_LANES) - 0.1)
    ax.set_xlim(first, last)
    ax.set_xlabel("frame")
    seconds = ax.secondary_xaxis("top", functions=(lambda f: (f - first) / fps, lambda s: s * fps + first))
    seconds.set_xlabel("time (s)")
    ax.grid(axis="x", color="0.9")
    ax.legend(handles=[Patch(color=c, label={"TP": "matched", "FP": "false positive", "FN": "missed"}[k])
                       for k, c in OUTCOME_COLOURS.items()], loc="upper right", fontsize=7, ncols=3)
    ax.set_title(f"{video}: {span} frames at {fps:g} fps", fontsize=9)
    buf = io.BytesIO()
    with fitted_fonts(fig, "the spotting timelines", "run `mmnet report` again"):  # a video or class in CJK
        fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()
