"""What `mmnet agree` prints (a table, or JSON) and writes (--pairs): the agreement of each pair of files."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path

from .score_spots_hints import shown

FRAMES_RULE = ("each frame none, micro or macro (micro where a file's micro- and macro-expression intervals "
               "overlap; with one type compared, the other's frames are none)")
FRAMES_SHOWN = ("each frame none, micro or macro\n(micro where a file's micro- and macro-expression intervals overlap; "
                "with one type compared, the other's frames are none);")
PAIR_COLUMNS = ("file_a", "file_b", "video", "type", "a_onset", "a_offset", "b_onset", "b_offset", "iou",
                "onset_diff", "offset_diff")


def _letter(k: int) -> str:
    return chr(ord("A") + k) if k < 26 else f"F{k + 1}"


def _lengths_said(lengths: dict) -> dict:
    """Where the frames counted come from: one phrase, or per video."""
    sources = {source for _, source, _ in lengths.values()}
    zero = [shown(v) for v, (_, _, first) in lengths.items() if first == 0]
    said = f" (0..N of {', '.join(map(str, zero[:3]))}{', ...' if len(zero) > 3 else ''}: a file marks frame 0)"
    return {"rule": "frames 1..N of each video" + (said if zero else "") + ", N: " + ", ".join(sorted(sources))
            if sources else "no video",
            "videos": {shown(v): {"frames": n, "from": source, "first_frame": first}
                       for v, (n, source, first) in lengths.items()}}


def _data(args, pairs: dict, frames, lengths: dict, types, fps) -> dict:
    from ..spotting.agreement import summary
    from ..spotting.agreement_frames import CATEGORIES

    out = {"files": {_letter(k): str(p) for k, p in enumerate(args.files)}, "iou": args.iou, "types": list(types),
           "fps": fps, "frames": _lengths_said(lengths) | {"categories": list(CATEGORIES), "counted_as": FRAMES_RULE},
           "pairs": []}
    for (i, j), result in pairs.items():
        out["pairs"].append({"a": _letter(i), "b": _letter(j), "videos": [shown(v) for v in result.videos],
                             "types": [summary(s, fps) for s in result.by_type.values()],
                             "kappa": frames.kappa[i, j], "kappa_frames": frames.frames[i, j],
                             "frame_table": frames.tables[i, j].tolist()})
    if len(args.files) > 2:
        out["krippendorff_alpha"] = {"value": frames.alpha, "frames": frames.alpha_frames, "level": "nominal"}
    return out


def _number(value, spec: str) -> str:
    """``value`` as ``spec`` says (e.g. "6.3f", "+8.2f"), "-" at the same width when undefined."""
    width = int(re.match(r"\+?(\d*)", spec).group(1) or 0)
    return f"{'-':>{width}}" if value is None else format(value, spec)


def report(args, pairs: dict, frames, lengths: dict, types, fps: float | None) -> None:
    data = _data(args, pairs, frames, lengths, types, fps)
    if args.json:
        print(json.dumps(data, indent=2))
        return
    for letter, path in data["files"].items():
        print(f"{letter} = '{path}'")
    print(f"\nintervals matched per video and type: IoU >= {args.iou:g}, one to one, the most pairs, then the largest\n"
          "total IoU (the same whichever file comes first); F1 = 2 x matched / (n A + n B)")
    print(f"{'pair':5} {'type':8} {'n A':>5} {'n B':>5} {'matched':>7} {'F1':>6} {'IoU mean':>8} {'median':>6}")
    for p in data["pairs"]:
        for s in p["types"]:
            print(f"{p['a'] + '-' + p['b']:5} {s['type']:8} {s['n_a']:>5} {s['n_b']:>5} {s['matched']:>7} "
                  f"{_number(s['f1'], '6.3f')} {_number(s['iou_mean'], '8.3f')} {_number(s['iou_median'], '6.3f')}")
    units = [("frames", "frames")] + ([("ms", f"ms at {fps:g} fps")] if fps else [])
    for unit, said in units:
        print(f"\nboundaries of the matched pairs, second file - first (B - A), in {said}: mean, median, mean absolute")
        print(f"{'pair':5} {'type':8} {'onset':>8} {'median':>7} {'|mean|':>7} {'offset':>8} {'median':>7} "
              f"{'|mean|':>7}")
        for p in data["pairs"]:
            for s in p["types"]:
                on, off = s[f"onset_{unit}"], s[f"offset_{unit}"]
                cells = [_number(d[k], f"{w}.{2 if unit == 'frames' else 1}f") if k == "mean_abs" else
                         _number(d[k], f"+{w}.{2 if unit == 'frames' else 1}f")
                         for d in (on, off) for k, w in (("mean", 8), ("median", 7), ("mean_abs", 7))]
                print(f"{p['a'] + '-' + p['b']:5} {s['type']:8} " + " ".join(cells))
    print(f"\nframe-wise agreement (Cohen's kappa), {FRAMES_SHOWN}")
    said = data["frames"]["rule"]
    hint = "" if "--frames" in said or "--recording" in said else (
        "\n(kappa depends on N: give --frames N or --recording VIDEO for the recording's length)")
    print(f"{said}{hint}")
    print(f"{'pair':5} {'kappa':>7} {'frames':>9} {'videos':>6}")
    for p in data["pairs"]:
        print(f"{p['a'] + '-' + p['b']:5} {_number(p['kappa'], '7.3f')} {p['kappa_frames']:>9} {len(p['videos']):>6}")
    if "krippendorff_alpha" in data:
        alpha = data["krippendorff_alpha"]
        print(f"Krippendorff's alpha (nominal), all {len(args.files)} files: {_number(alpha['value'], '.3f')} over "
              f"{alpha['frames']} frames")


def write_pairs(path: Path, files: list[Path], pairs: dict) -> None:
    """Every matched pair and every interval left unmatched, per pair of files: the intervals, IoU, B - A."""
    from ..spotting.intervals import spreadsheet_safe
    from ..utils import atomic_write_text

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(PAIR_COLUMNS)
    for (i, j), result in pairs.items():
        for r in result.rows:
            a, b = r.a, r.b
            writer.writerow([spreadsheet_safe(str(files[i])), spreadsheet_safe(str(files[j])),
                             spreadsheet_safe(str(shown(r.video))), r.type,
                             *(("", "") if a is None else (a.onset, a.offset)),
                             *(("", "") if b is None else (b.onset, b.offset)),
                             "" if r.iou is None else f"{r.iou:.4f}",
                             *(("", "") if a is None or b is None else (b.onset - a.onset, b.offset - a.offset))])
    atomic_write_text(path, text.getvalue())
    print(f"wrote {path} (matched pairs and unmatched intervals)", file=sys.stderr)
