"""The table `mmnet spot` prints: each interval's frames, the same in seconds, its score and class; gaps; notes."""

from __future__ import annotations

from pathlib import Path

__all__ = ["format_text"]


def format_text(result) -> str:
    """The intervals as a table a person reads: frames, the same in seconds, motion score, the class and its score."""
    # the types spotted: a learned spotter trained on micro-expressions alone spots no macro
    spotted = [t for t in ("macro", "micro") if t in (getattr(result, "details", None) or {})] or ["macro", "micro"]
    counts = {t: sum(i.type == t for i in result.intervals) for t in spotted}
    only = f" (this spotter spots {spotted[0]}-expressions only)" if len(spotted) == 1 else ""
    numbers = getattr(getattr(result, "curves", None), "numbers", None)
    first = int(numbers[0]) if numbers is not None and len(numbers) else 0  # seconds as the timeline figure counts
    # A frame folder with numbers missing lasts as long as its numbering, not as its count of files.
    span = int(numbers[-1]) - first + 1 if numbers is not None and len(numbers) else result.frames
    length = f"{result.frames} frames at {result.fps:g} fps ({result.frames / result.fps:.1f} s)"
    if span != result.frames:
        length = (f"{result.frames} frames numbered {first}-{first + span - 1} at {result.fps:g} fps "
                  f"({span / result.fps:.1f} s; {span - result.frames} numbers missing)")
    from ..spotting.intervals import seek_time  # here, not at the top: building the parser imports this module

    start = getattr(result, "seconds", None) or (lambda number: (number - first) / result.fps)  # a video's frame times

    def at(number: int) -> str:  # a frame's start as intervals.csv writes it; number + 1: the end of frame number
        return f"{seek_time(start(number)):.3f}"

    lines = [f"{result.source}: {length}; "
             f"{', '.join(f'{n} {t}' for t, n in counts.items())} interval(s){only}; {len(result.gaps)} gap(s) "
             "without a face"]
    if result.intervals:
        labelled = any(i.label for i in result.intervals)
        lines.append(f"  {'type':5}  {'onset':>6}  {'apex':>6}  {'offset':>6}  {'seconds':>17}  score"
                     + ("  class" if labelled else ""))
    for i in result.intervals:
        label = ""
        if i.label:
            p = (i.probabilities or {}).get(i.label)
            label = f"  {i.label}" + (f" {p:.2f}" if p is not None else "")
        seconds = f"{at(i.onset)}-{at(i.offset + 1)}"  # onset_s-end_s: from the onset frame's start to the offset's end
        lines.append(f"  {i.type:5}  {i.onset:>6}  {i.apex:>6}  {i.offset:>6}  {seconds:>17}  {i.score:.3f}{label}")
    for a, b in result.gaps:
        lines.append(f"  gap    frames {a}-{b} ({at(a)}-{at(b + 1)} s): no face, not analysed")
    for i in result.intervals:
        if i.note:
            lines.append(f"note: the {i.type} interval {i.onset}-{i.offset} is not classified: {i.note}")
    lines.extend(f"note: {note}" if note.startswith(f"{result.source}: ") else f"note: {result.source}: {note}"
                 for note in getattr(result, "notes", ()))
    if result.intervals:
        numbering = ("a video's first frame is 0" if Path(result.source).is_file()
                     else "the numbers in the frames' file names")
        clock = ("the video's own frame times" if getattr(result, "time_base", None) == "presentation_time"
                 else f"(frame number - {first}) / {result.fps:g} fps" if first  # a folder from 1: its first is 0 s
                 else f"frame numbers / {result.fps:g} fps")
        lines.append(f"onset, apex, offset: frame numbers ({numbering}); seconds: from the onset frame's start to "
                     f"the offset frame's end (onset_s-end_s of intervals.csv), from the first frame ({clock}); "
                     "score: the height of the motion peak (docs/spotting.md)"
                     + ("; class: MMNet's class of a micro-expression and its score (an uncalibrated softmax "
                        "output)" if labelled else ""))
    return "\n".join(lines)
