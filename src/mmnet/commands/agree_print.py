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
# the milliseconds on a variable-frame-rate --recording: no constant rate gives them
MS_FROM_TIMES = "between the two frames' own presentation times in --recording (its frame rate varies)"
PAIR_COLUMNS = ("file_a", "file_b", "video", "type", "a_onset", "a_offset", "b_onset", "b_offset", "iou",
                "onset_diff", "offset_diff", "a_apex", "b_apex", "a_emotion", "b_emotion")


def _letter(k: int) -> str:
    return chr(ord("A") + k) if k < 26 else f"F{k + 1}"


def _order(letter: str) -> int:
    return ord(letter) - ord("A") if len(letter) == 1 else int(letter[1:]) - 1


def _lengths_said(lengths: dict) -> dict:
    """Where the frames counted come from: one phrase, or per video."""
    sources = {source for _, source, _ in lengths.values()}
    zero = [shown(v) for v, (_, _, first) in lengths.items() if first == 0]
    said = f" (0..N-1 of {', '.join(map(str, zero[:3]))}{', ...' if len(zero) > 3 else ''}: a file marks frame 0)"
    return {"rule": "frames 1..N of each video" + (said if zero else "") + ", N: " + ", ".join(sorted(sources))
            if sources else "no video",
            "videos": {shown(v): {"frames": last - first + 1, "from": source, "first_frame": first, "last_frame": last}
                       for v, (last, source, first) in lengths.items()}}


def _why(table) -> str | None:
    """Why the kappa of a confusion table is undefined (None when it is not): the categories both files gave."""
    from ..spotting.agreement_frames import undefined

    return undefined(table.sum(axis=0) + table.sum(axis=1))


def _per_video(args, pairs: dict, frames, lengths: dict) -> list[dict]:
    """Each video's frames counted and, per pair of files holding it, its intervals (the types compared pooled),
    matched pairs, F1 and kappa; with three or more files its alpha. An undefined figure is None, with why."""
    from ..spotting.agreement import by_video
    from ..spotting.agreement_frames import cohen_kappa

    counts = {key: by_video(result) for key, result in pairs.items()}
    out = []
    for video, (n, source, first) in lengths.items():
        entry = {"video": shown(video), "frames": n - first + 1, "first_frame": first, "last_frame": n,
                 "from": source, "pairs": []}
        for (i, j), by in counts.items():
            if video in by:
                s, table = by[video], frames.video_tables[i, j][video]
                entry["pairs"].append({"a": _letter(i), "b": _letter(j), "n_a": s.n_a, "n_b": s.n_b,
                                       "matched": s.matched, "f1": s.f1, "kappa": cohen_kappa(table),
                                       "kappa_undefined": _why(table),
                                       "frame_table": table.tolist()})
        if len(args.files) > 2:
            value, counted, why = frames.video_alpha[video]
            # the files that hold the video: those of its pairs (any two files holding a video make a pair)
            held = sorted({p[side] for p in entry["pairs"] for side in ("a", "b")}, key=_order)
            entry["krippendorff_alpha"] = {"value": value, "frames": counted, "undefined": why, "level": "nominal",
                                           "files": held}
        out.append(entry)
    return out


def _data(args, pairs: dict, frames, lengths: dict, types, fps, times=None) -> dict:
    from ..spotting.agreement import summary
    from ..spotting.agreement_frames import CATEGORIES

    out = {"files": {_letter(k): str(p) for k, p in enumerate(args.files)}, "iou": args.iou, "types": list(types),
           "fps": fps, "frames": _lengths_said(lengths) | {"categories": list(CATEGORIES), "counted_as": FRAMES_RULE},
           "pairs": []}
    for (i, j), result in pairs.items():
        out["pairs"].append({"a": _letter(i), "b": _letter(j), "videos": [shown(v) for v in result.videos],
                             "types": [summary(s, fps, times) for s in result.by_type.values()],
                             "kappa": frames.kappa[i, j], "kappa_frames": frames.frames[i, j],
                             "kappa_undefined": _why(frames.tables[i, j]),
                             "frame_table": frames.tables[i, j].tolist()})
    if len(args.files) > 2:
        out["krippendorff_alpha"] = {"value": frames.alpha, "frames": frames.alpha_frames, "level": "nominal",
                                     "undefined": frames.alpha_undefined, "files": list(out["files"])}
    out["per_video"] = _per_video(args, pairs, frames, lengths)
    if times is not None:
        out["ms_from"] = MS_FROM_TIMES
    return out


def _number(value, spec: str) -> str:
    """``value`` as ``spec`` says (e.g. "6.3f", "+8.2f"), "-" at the same width when undefined."""
    width = int(re.match(r"\+?(\d*)", spec).group(1) or 0)
    return f"{'-':>{width}}" if value is None else format(value, spec)


def report(args, pairs: dict, frames, lengths: dict, types, fps: float | None, times=None) -> None:
    """The table (or JSON); ``times``: --recording's frame times where its frame rate varies, which give the
    milliseconds between two frames instead of the constant ``fps``."""
    data = _data(args, pairs, frames, lengths, types, fps, times)
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
    ms = f"ms, {MS_FROM_TIMES}" if times is not None else f"ms at {fps:g} fps" if fps else None
    units = [("frames", "frames")] + ([("ms", ms)] if ms else [])
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
        why = f" ({p['kappa_undefined']})" if p["kappa_undefined"] else ""
        kappa = f"{'n/a':>7}" if p["kappa_undefined"] else _number(p["kappa"], "7.3f")
        print(f"{p['a'] + '-' + p['b']:5} {kappa} {p['kappa_frames']:>9} {len(p['videos']):>6}{why}")
    if "krippendorff_alpha" in data:
        alpha = data["krippendorff_alpha"]
        print(f"Krippendorff's alpha (nominal), all {len(args.files)} files: "
              f"{_figure(alpha['value'], alpha['undefined'], '.3f')} over {alpha['frames']} frames")
    _print_per_video(data)


def _figure(value, why: str | None, spec: str) -> str:
    """A kappa or alpha as ``spec`` says, or "n/a (why)" when undefined."""
    return f"n/a ({why})" if value is None and why else _number(value, spec)


def _print_per_video(data: dict) -> None:
    """Per video and pair of files: the frames counted, intervals (types pooled), matched, F1, kappa; with three or
    more files each video's alpha; then the pooled figures (the rows "all videos")."""
    many = "krippendorff_alpha" in data
    rows = [(v["video"], p["a"] + "-" + p["b"], v["frames"], p, p["kappa"], p["kappa_undefined"])
            for v in data["per_video"] for p in v["pairs"]]
    every = len(data["files"])
    # a video's alpha: "all" where every file holds it, else the files that do (A,C)
    rows += [(v["video"], "all" if len(a["files"]) == every else ",".join(a["files"]), a["frames"], None,
              a["value"], a["undefined"]) for v in data["per_video"] if many for a in [v["krippendorff_alpha"]]]
    order = {v["video"]: k for k, v in enumerate(data["per_video"])}
    rows.sort(key=lambda r: (order[r[0]], "-" not in r[1]))  # each video's pairs, then its alpha
    for p in data["pairs"]:
        pooled = p["types"][-1]  # "overall", or the one type compared
        rows.append(("all videos", p["a"] + "-" + p["b"], p["kappa_frames"], pooled, p["kappa"],
                     p["kappa_undefined"]))
    if many:
        alpha = data["krippendorff_alpha"]
        rows.append(("all videos", "all", alpha["frames"], None, alpha["value"], alpha["undefined"]))
    width = max([10] + [len(str(r[0])) for r in rows])
    pair_width = max([5] + [len(r[1]) for r in rows])
    print("\nper video: the frames counted, the intervals (types pooled), matched, F1 and the frame-wise kappa"
          + (" (pair all, or the files that hold the video, A,C: their Krippendorff's alpha)" if many else "")
          + ";\nn/a where undefined (no frame marked, or one category only: chance agreement is 1)")
    print(f"{'video':{width}} {'pair':{pair_width}} {'frames':>9} {'n A':>5} {'n B':>5} {'matched':>7} {'F1':>6} "
          f"{'kappa':>7}")
    for video, pair, counted, p, value, why in rows:
        counts = (f"{p['n_a']:>5} {p['n_b']:>5} {p['matched']:>7} {_number(p['f1'], '6.3f')}" if p is not None
                  else f"{'':>5} {'':>5} {'':>7} {'':>6}")
        shown_value = f"{'n/a':>7} ({why})" if value is None and why else _number(value, "7.3f")
        print(f"{video:{width}} {pair:{pair_width}} {counted:>9} {counts} {shown_value}")


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
                             *(("", "") if a is None or b is None else (b.onset - a.onset, b.offset - a.offset)),
                             *("" if x is None or x.apex is None else x.apex for x in (a, b)),
                             *(spreadsheet_safe(x.label or "") if x is not None else "" for x in (a, b))])
    atomic_write_text(path, text.getvalue())
    print(f"wrote {path} (matched pairs and unmatched intervals)", file=sys.stderr)
