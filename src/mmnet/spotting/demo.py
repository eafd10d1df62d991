"""The spotting demo: the optical-flow spotter on synthetic long recordings, beside a baseline that sees no video.

``run_spotting_demo(out)`` writes a small synthetic CAS(ME)^2-layout set into ``out/data`` (reused
when it is the same set; another one there is an error), spots every recording with the default
parameters (the ``casme2`` preset), scores it with the MEGC rule (IoU >= 0.5, one-to-one, counts
pooled over videos; micro, macro, overall), and scores a baseline the same way.

**The baseline** places, in every video and for each type, as many intervals as the spotter gave
there, evenly spaced over the recording, each as long as the mean annotated interval of that type
in the set. It needs no pixels, and it is given two things for free that a real guess would not
have: the spotter's count per video and type (so both make the same number of guesses and their
precisions compare directly), and the true mean length. A spotter that finds what was planted
beats it by far; one that returns nothing scores 0, as the baseline then does too.

Files written to ``out``: ``spotting-summary.md``/``.csv``/``.json`` (per type TP, FP, FN,
precision, recall, F1 of both; the setting; the time) and ``megc/``: per method the MEGC2020 log
(``spotter-log.txt``, ``baseline-log.txt``) and the submission CSV (``spotter-spots.csv``,
``baseline-spots.csv``), all through ``mmnet.spotting.megc_files``.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import asdict
from pathlib import Path

from ..progress import bars_wanted, write_line
from .intervals import TYPES, Interval, six_decimals

__all__ = ["DEMO_SIZE", "DEMO_FRAME", "baseline_intervals", "frame_span", "run_spotting_demo", "summary_markdown"]

#: The demo's default size: 3 subjects x 1 recording x 1 minute at 30 fps, about 2 minutes on a 2-core CPU.
DEMO_SIZE = {"subjects": 3, "videos": 1, "minutes": 1.0}
#: Frames of 320 x 240 with a 140 x 170 px face (large enough for dlib's face detector): rendering and
#: spotting cost about a quarter of CAS(ME)^2's 640 x 480, and the spotter's crop is 140 x 170 either way.
DEMO_FRAME = {"frame_size": (320, 240), "face_size": (140, 170)}
BASELINE = ("evenly spaced intervals, per video and type as many as the spotter gave, each of the mean "
            "annotated length of its type; no video is read")


def _demo_long_config():
    from ..synth.long import LongConfig

    return LongConfig(**DEMO_FRAME)


def baseline_intervals(first: int, last: int, counts: dict[str, int], lengths: dict[str, int]) -> list[Interval]:
    """``counts[type]`` intervals of ``lengths[type]`` frames, centred at evenly spaced points of frames first..last.

    ``first`` and ``last`` are the recording's own first and last frame numbers (``frame_span``): a
    CAS(ME)^3 recording may start above 1 or miss frames, and the intervals are in its numbering.
    The j-th of n starts (j + 1/2) * frames / n - length / 2 frames (rounded down) after the first
    frame, frames = last - first + 1, so that the n intervals split the recording evenly; clipped
    to the recording; no score (the MEGC matcher then takes them by onset).
    """
    import math

    frames = last - first + 1
    out = []
    for type_ in TYPES:
        n, length = counts.get(type_, 0), max(1, min(lengths[type_], frames))
        for j in range(n):
            onset = first + math.floor((j + 0.5) * frames / n - length / 2)
            onset = min(max(onset, first), last - length + 1)
            out.append(Interval(onset, onset + length // 2, onset + length - 1, type_))
    return sorted(out, key=lambda i: (i.onset, i.type))


def frame_span(video) -> tuple[int, int]:
    """A ``LongVideo``'s first and last frame numbers on disk; 1..n_frames when it lists no frames."""
    return (video.frames[0][0], video.frames[-1][0]) if video.frames else (1, video.n_frames)


def _prepare_data(root: Path, *, seed: int, subjects: int, videos: int, minutes: float, config,
                  progress: bool) -> bool:
    """Write the synthetic set, or check that the one already in ``root`` is it; True when reused."""
    from ..data.common import SYNTH_MARKER
    from ..errors import ConfigError
    from ..synth.face import older_generator
    from ..synth.long_writer import write_long_dataset

    meta_path = root / SYNTH_MARKER
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else None
    older = older_generator(meta) if meta is not None else None
    if meta is not None and older is None:
        wanted = {"seed": seed, "subjects": subjects, "videos_per_subject": videos,
                  "frames": max(2, int(round(minutes * 60 * config.fps)))}
        differ = [f"{k} {meta.get(k)!r} (asked: {v!r})" for k, v in wanted.items() if meta.get(k) != v]
        if meta.get("config") != json.loads(json.dumps(asdict(config))):
            differ.append("other pixel settings (not the demo's)")
        if "jpg" not in meta.get("formats", []):
            differ.append("no JPEG frames (rawpic/)")
        if differ:
            raise ConfigError(f"'{root}' holds another synthetic set: {', '.join(differ)}. Give another output "
                              "folder, or delete that one to regenerate it.")
        return True
    if older and progress:  # the demo's own folder: drawn again, not reused as if this generator drew it
        write_line(f"the synthetic recordings in {root} were {older}")
    if progress:
        write_line(f"writing synthetic recordings to {root} ({subjects} subject(s) x {videos} x {minutes:g} min, "
                   f"seed {seed})")
    write_long_dataset(root, subjects=subjects, videos_per_subject=videos, minutes=minutes, seed=seed,
                       config=config, formats=("jpg",), progress=bars_wanted(progress), overwrite=older is not None)
    return False


def _counts_dict(result) -> dict[str, dict]:
    return {row["type"]: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items() if k != "type"}
            for row in result.table()}


def run_spotting_demo(out: str | Path, *, seed: int = 0, subjects: int = DEMO_SIZE["subjects"],
                      videos: int = DEMO_SIZE["videos"], minutes: float = DEMO_SIZE["minutes"],
                      progress: bool = True) -> dict:
    """Spot synthetic long recordings and score the spotter and the baseline; returns the summary.

    Args:
        out: output folder; the data go to ``out/data``.
        seed: seed of the synthetic set.
        subjects, videos, minutes: its size (``videos`` recordings per subject, each ``minutes`` long).
        progress: one line per recording on stderr (and bars at a terminal).

    Returns:
        the summary written to ``spotting-summary.json``: ``spotter`` and ``baseline`` each map
        micro/macro/overall to tp, fp, fn, precision, recall, f1; also ``setting``, ``data``,
        ``per_video``, ``time_s`` and ``files``.
    """
    from ..data import load_dataset
    from ..synth.output_folder import data_lock
    from ..utils import atomic_write_text
    from .config import spot_config
    from .megc import RULE, evaluate_spotting
    from .spotter import spot_recording

    start = time.perf_counter()
    out = Path(out)
    config = _demo_long_config()
    root = out / "data"
    with data_lock(root):  # a spotting demo started meanwhile on this --out waits, then uses the set this one writes
        reused = _prepare_data(root, seed=seed, subjects=subjects, videos=videos, minutes=minutes, config=config,
                               progress=progress)
    data_s = time.perf_counter() - start
    load = load_dataset("casme-sq", root)
    load.raise_if_errors()
    truth = load.truth()
    spot = spot_config("casme2")
    aligner = None
    if spot.face.mode == "align":  # one aligner (and landmark model) for every recording
        from ..preprocess import CropGeometry, FaceAligner

        aligner = FaceAligner(CropGeometry(spot.face.width, spot.face.height), landmarks=spot.face.landmarks)
    spotted: dict[str, list[Interval]] = {}
    per_video = []
    t_spot = time.perf_counter()
    for n, video in enumerate(load.videos, 1):
        if progress:
            write_line(f"spotting {video.video} ({n}/{len(load.videos)}, {video.n_frames} frames)")
        result = spot_recording(video.path, spot, fps=video.fps, aligner=aligner)
        spotted[video.video] = result.intervals
        per_video.append({"video": video.video, "frames": result.frames, "gaps": len(result.gaps),
                          **{f"truth_{t}": len(video.of_type(t)) for t in TYPES},
                          **{f"spotted_{t}": sum(i.type == t for i in result.intervals) for t in TYPES}})
    spot_s = time.perf_counter() - t_spot
    lengths = {}
    for t in TYPES:
        annotated = [i.length for v in load.videos for i in v.of_type(t)]
        # Without any of the type annotated, the preset's typical length (SoftNet's k is half of it).
        lengths[t] = round(sum(annotated) / len(annotated)) if annotated else 2 * getattr(spot, t).k
    baseline = {v.video: baseline_intervals(*frame_span(v), {t: sum(i.type == t for i in spotted[v.video])
                                                         for t in TYPES}, lengths) for v in load.videos}
    scores = {name: evaluate_spotting(truth, preds) for name, preds in (("spotter", spotted), ("baseline", baseline))}
    files = write_megc_files(out / "megc", scores, {"spotter": spotted, "baseline": baseline})
    summary = {
        "setting": {"dataset": "synthetic long recordings, CAS(ME)^2 layout", "seed": seed, "subjects": subjects,
                    "videos_per_subject": videos, "minutes": minutes, "fps": config.fps,
                    "frame_size": list(config.frame_size), "face_size": list(config.face_size),
                    "spotter": "optical-flow spotter, preset casme2, default parameters", "rule": RULE,
                    "baseline": BASELINE, "baseline_lengths": lengths},
        "data": {"root": str(root), "reused": reused, "videos": len(load.videos),
                 "truth": {t: sum(len(v.of_type(t)) for v in load.videos) for t in TYPES}},
        "spotter": _counts_dict(scores["spotter"]),
        "baseline": _counts_dict(scores["baseline"]),
        "per_video": per_video,
        "time_s": {"data": round(data_s, 1), "spotting": round(spot_s, 1),
                   "total": round(time.perf_counter() - start, 1)},
    }
    files.update({f"summary_{ext}": str(out / f"spotting-summary.{ext}") for ext in ("md", "csv", "json")})
    summary["files"] = files
    atomic_write_text(out / "spotting-summary.json", json.dumps(summary, indent=1) + "\n")
    atomic_write_text(out / "spotting-summary.csv", _summary_csv(summary))
    atomic_write_text(out / "spotting-summary.md", summary_markdown(summary))
    return summary


def write_megc_files(megc: Path, scores: dict, predictions: dict) -> dict[str, str]:
    """Per method (``scores``: name -> its ``evaluate_spotting`` result) the MEGC2020 log and the spotting CSV of its
    ``predictions`` with their scores: the matching takes predictions by descending score, so `mmnet score-spots`
    on the CSV gives the summary's table (without the scores it would take them by onset)."""
    from .megc_files import DATASET_NUMBERS, write_megc2020_log, write_spotting_csv

    megc.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, result in scores.items():
        log = [(DATASET_NUMBERS["casme-sq"], result.pairs)]  # the synthetic recordings have CAS(ME)^2's layout
        files[f"{name}_log"] = str(write_megc2020_log(megc / f"{name}-log.txt", log))
        files[f"{name}_csv"] = str(write_spotting_csv(megc / f"{name}-spots.csv", predictions[name], scores=True))
    return files


def _summary_csv(summary: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["method", "type", "tp", "fp", "fn", "precision", "recall", "f1"])
    for method in ("spotter", "baseline"):
        for type_, c in summary[method].items():
            writer.writerow([method, type_, c["tp"], c["fp"], c["fn"],
                             *(six_decimals(c[k]) for k in ("precision", "recall", "f1"))])
    return buf.getvalue()


def summary_markdown(summary: dict) -> str:
    """The summary as Markdown: the setting, one table of both methods per type, the time."""
    s, d = summary["setting"], summary["data"]
    lines = [
        "# Spotting demo",
        "",
        f"{d['videos']} synthetic recording(s) ({s['subjects']} subject(s) x {s['videos_per_subject']} x "
        f"{s['minutes']:g} min at {s['fps']:g} fps, {s['frame_size'][0]} x {s['frame_size'][1]} px, seed {s['seed']}); "
        f"{d['truth']['micro']} micro- and {d['truth']['macro']} macro-expressions planted.",
        "",
        f"- spotter: {s['spotter']}",
        f"- baseline: {s['baseline']} (micro {s['baseline_lengths']['micro']}, macro "
        f"{s['baseline_lengths']['macro']} frames)",
        f"- scoring: {s['rule']}",
        "",
        "| method | type | TP | FP | FN | precision | recall | F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method in ("spotter", "baseline"):
        for type_, c in summary[method].items():
            lines.append(f"| {method} | {type_} | {c['tp']} | {c['fp']} | {c['fn']} | {c['precision']:.2f} | "
                         f"{c['recall']:.2f} | {c['f1']:.2f} |")
    t = summary["time_s"]
    reused = " (data reused)" if d["reused"] else ""
    lines += ["", f"Time: {t['total']:.0f} s (data {t['data']:.0f} s{reused}, spotting {t['spotting']:.0f} s).", ""]
    return "\n".join(lines)
