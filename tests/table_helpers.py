"""A table dataset (mmnet.data.table) built from `mmnet synth` output: generated data only."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from mmnet.data.annotations import cell, read_table


def table_from_synth(synth_root: Path, out: Path, *, subject_prefix: str = "P") -> Path:
    """``out`` as a lab would lay out its clips: ``out/P01/EP02_01f/frame_0046.jpg`` and ``out/annotations.csv``
    (subject, clip, onset, apex, emotion, offset), the same clips and labels as the synthetic CASME II set."""
    table = read_table(next(Path(synth_root).glob("CASME2-coding-*.xlsx")))
    col = {name: table.column(name) for name in ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame",
                                                 "Estimated Emotion")}
    rows = []
    for _, r in table.rows:
        subject, clip = str(cell(r, col["Subject"])), str(cell(r, col["Filename"]))
        folder = out / f"{subject_prefix}{subject}" / clip
        folder.mkdir(parents=True)
        for frame in (Path(synth_root) / "Cropped" / f"sub{subject}" / clip).iterdir():
            number = int(frame.stem.removeprefix("reg_img"))
            shutil.copyfile(frame, folder / f"frame_{number:04d}.jpg")
        rows.append({"subject": f"{subject_prefix}{subject}", "clip": f"{subject_prefix}{subject}/{clip}",
                     "onset": cell(r, col["OnsetFrame"]), "apex": cell(r, col["ApexFrame"]),
                     "emotion": str(cell(r, col["Estimated Emotion"])).capitalize(),
                     "offset": cell(r, col["OffsetFrame"])})
    write_csv(out / "annotations.csv", rows)
    return out


def write_csv(path: Path, rows: list[dict], columns: list[str] | None = None) -> None:
    columns = columns or list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
