"""Fake spotting datasets in the owners' on-disk layouts (docs/spotting.md, Long videos: Datasets
and Quirks handled), with their quirks.

CAS(ME)^2: header-less ``CASFEcode_final`` plus ``naming rule1`` / ``naming rule2``, an offset 0, an
apex 0, an apex after the offset, ``rawpic/s15/15_0401.../img1.jpg`` (and ``img001.jpg`` padding).
SAMM Long Videos: 9 preamble rows, the header on row 10, text subjects, a Duration formula, a
fractional frame, an apex -1, an onset 0, a Filename used twice, 4- and 5-digit frame names.
CAS(ME)^3 Part A: 'AU+Emotion' and 'eye blink' (every cell text) in .xlsx, .xls or CSV, the label file,
an onset 0, an offset 0, an apex outside, the spNO.216 d onset, a 'J', a 401-frame micro, dropped frames.
Frames are tiny JPEGs; no real data is copied.
"""

from __future__ import annotations

from pathlib import Path

from .fakes import write_frames, write_xlsx

# index, expression id, onset, apex, offset, AU, emotion class, type, self-report
CASME_SQ_ROWS: list[tuple] = [
    (1, "anger1_1", 5, 10, 20, "4+10", "negative", "macro-expression", "anger"),
    (1, "anger1_2", 30, 33, 38, 4, "negative", "micro-expression", "anger"),
    (1, "anger1_3", 40, 45, 0, 4, "negative", "macro-expression", "anger"),           # offset 0 -> apex 45
    (2, "disgust1_1", 10, 0, 25, 14, "others", "macro-expression", "sadness"),        # apex 0 -> unknown
    (2, "disgust1_2", 30, 50, 44, 4, "negative", "macro-expression", "disgust"),      # apex after the offset
    (2, "happy1_1", 5, 8, 12, 12, "positive", "micro-expression", "happyiness"),
    (2, "happy1_2", 35, 38, 45, 12, "positive", "macro-expression", "happiness"),     # past the last frame (40)
    (3, "anger1_1", 5, 10, 20, 4, "negative", "macro-expression", "anger"),           # index 3 not in rule1
    (1, "sad1_1", 5, 10, 20, 4, "negative", "macro-expression", "sadness"),           # stimulus not in rule2
]
CASME_SQ_RULE1 = [(15, "s15", 1), (16, "s16", 2)]
CASME_SQ_RULE2 = [("0101", "disgust1"), ("0401", "anger1"), ("0502", "happy1")]
# folder -> (frame numbers, name pattern)
CASME_SQ_FRAMES = {
    "s15/15_0401angerfilm": (range(1, 61), "img{}.jpg"),
    "s16/16_0101disgustingteeth": (range(1, 61), "img{:03d}.jpg"),
    "s16/16_0502happyfilm": ([n for n in range(1, 41) if n != 30], "img{}.jpg"),  # frame 30 missing
    "s15/15_0101disgustingteeth": (range(1, 21), "img{}.jpg"),                     # not annotated
}


def write_casme_sq(root: Path, rows=tuple(CASME_SQ_ROWS), *, rule1=tuple(CASME_SQ_RULE1),
                   rule2=tuple(CASME_SQ_RULE2), frames=None, name: str = "CAS(ME)^2code_final.xlsx") -> Path:
    """A CASME_sq root: the three-sheet workbook (rule1 row-aligned with the main sheet, as released) and rawpic/."""
    by_index = {i: (n, f, i) for n, f, i in rule1}
    aligned = [by_index.get(r[0], rule1[0]) for r in rows]
    write_xlsx(root / name, {"CASFEcode_final": [list(r) for r in rows], "naming rule1": aligned,
                             "naming rule2": [list(r) for r in rule2]},
               text_columns={"naming rule2": {0}})
    for folder, (numbers, pattern) in (CASME_SQ_FRAMES if frames is None else frames).items():
        write_frames(root / "rawpic" / folder, numbers, pattern.format)
    return root


SAMM_LV_HEADER = ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
                  "Action Units", "Notes"]
# subject, filename, inducement, onset, apex, offset, duration (None: formula), type, AUs, notes
SAMM_LV_ROWS: list[tuple] = [
    ("006", "006_1_1", 1, 10.4, 20.6, 30.2, None, "Macro", "4(B/C)+7B", None),          # fractional
    ("006", "006_1_2", 1, 40, 45, 50, None, "Micro - 1/2", "4+7", None),
    ("006", "006_1_3", 1, 0, 30, 70, None, "Macro", "12", "Uncontrolled"),              # onset 0
    ("007", "007_2_1", 2, 5, -1, 15, None, "Micro - 1/2", "4", "Blinks"),               # apex -1
    ("007", "007_2_1", 2, 4, 10, 20, None, "Macro", "24", None),                        # Filename again
    ("007", "007_2_2", 2, 50, 60, 90, 99, "Macro", "6+12", None),                       # past 60; Duration 99
    ("008", "008_1_1", 1, 5, 10, 20, None, "Micro - 1/2", "4", None),                   # no frames on disk
]
SAMM_LV_FRAMES = {
    "006_1": (range(1, 81), "006_1_{:04d}.jpg"),
    "007_2": (range(1, 61), "007_2_{:05d}.jpg"),
    "009_1": (range(1, 21), "009_1_{:04d}.jpg"),  # not annotated
}
SAMM_MICRO_HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame",
                     "Duration", "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]


def write_samm_long(root: Path, rows=tuple(SAMM_LV_ROWS), *, frames=None, emotions: bool = True,
                    name: str = "SAMM_LongVideos_V2_Release.xlsx") -> Path:
    """A SAMM-LV root: the workbook with its preamble (header on Excel row 10) and SAMM_longvideos/."""
    preamble = [["SAMM Long Videos Dataset - FACS Codes"], [], ["Symbol Key:"], ['"/" = or'], [], ["AU Help:"],
                ['"L2 or R2" = Unilateral AU 2', None, None, None, None,
                 "NOTE: Subjects with Apex Frame not annotated were labelled as -1."], ['"A2" = Asymmetric AU 2'], []]
    sheet = preamble + [SAMM_LV_HEADER] + [list(r) for r in rows]
    first = len(preamble) + 2  # Excel row of the first data row
    formulas = {(first + k, 7): f"=SUM(F{first + k}-D{first + k})+1" for k, r in enumerate(rows) if r[6] is None}
    write_xlsx(root / name, {"FACS_Movement_Only": sheet}, text_columns={"FACS_Movement_Only": {0}},
               formulas={"FACS_Movement_Only": formulas})
    if emotions:
        micro = [[r[0], r[1], r[2], r[3] + 2000, r[4], r[5], None, "Micro - 1/2", r[8], "Anger", 3, None]
                 for r in rows if r[7].startswith("Micro") and r[1] != "007_2_1"]
        write_xlsx(root / "SAMM_Micro_FACS_Codes_v2.xlsx", {"MICRO_ONLY": [SAMM_MICRO_HEADER] + micro},
                   text_columns={"MICRO_ONLY": {0}})
    for folder, (numbers, pattern) in (SAMM_LV_FRAMES if frames is None else frames).items():
        write_frames(root / "SAMM_longvideos" / folder, numbers, pattern.format)
    return root


CASME3_LONG_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Expression type", "Objective class"]
# every cell text, as in CAS(ME)3_part_A_v2.xls
CASME3_LONG_ROWS: list[tuple] = [
    ("spNO.1", "a", "5", "10", "20", "4+15", "Macro-expression", "VII"),
    ("spNO.1", "a", "30", "33", "38", "12", "Micro-expression", "I"),
    ("spNO.1", "a", "0", "20", "45", "14", "Macro-expression", "VII"),          # onset 0
    ("spNO.1", "b", "10", "25", "18", "R10", "Micro-expression", "III"),        # apex outside; label row: apex 8
    ("spNO.1", "b", "40", "45", "70", "4", "Macro-expression", "VII"),          # past the last frame (60)
    ("spNO.1", "J", "3", "6", "12", "14", "Micro-expression", "VII"),           # upper-case J, folder j
    ("spNO.216", "d", "2647", "2668", "2691", "14", "Micro-expression", "VII"),  # label file: onset 3647
    ("spNO.216", "d", "2000", "2010", "2400", "4", "Micro-expression", "VII"),  # 401 frames: long_micro
    ("spNO.1", "a", "x", "3", "4", "4", "Macro-expression", "VII"),             # bad_value
    ("sub1", "a", "1", "3", "4", "4", "Macro-expression", "VII"),               # bad_row
]
CASME3_BLINK_ROWS: list[tuple] = [
    ("spNO.1", "a", "22", "24"), ("spNO.1", "a", "12", "14"),
    ("spNO.1", "c", "3", "5"),                                                  # a video with blinks only
    ("spNO.9", "a", "1", "2"),                                                  # no frames on disk
]
CASME3_LABEL_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
CASME3_LABEL_ROWS: list[tuple] = [
    ("spNO.1", "a", "30", "33", "38", "12", "I", "happy"),
    ("spNO.1", "b", "10", "8", "18", "R10", "III", "disgust"),
    ("spNO.1", "J", "3", "6", "12", "14", "VII", "Others"),
    ("spNO.216", "d", "3647", "2668", "2691", "14", "VII", "others"),
    ("spNO.216", "d", "2000", "2010", "2400", "4", "VII", "surprise"),
    ("spNO.1", "a", "50", "52", "0", "4", "VII", "fear"),                       # offset 0; not in the long table
]
CASME3_FRAMES = {
    "spNO.1/a": range(1, 61),
    "spNO.1/b": [n for n in range(1, 61) if n not in (25, 26)],                 # two dropped frames
    "spNO.1/j": range(1, 21),
    "spNO.1/c": range(1, 11),
    "spNO.216/d": [1, 2000, 2010, 2400, 2640, 2647, 2668, 2700],                # 2691 dropped
}


def write_casme3_long(root: Path, *, long: str | None = "xlsx", labels: bool = True,
                      frames_under: str = "part_A/data/part_A_split/part_A") -> Path:
    """A CAS(ME)^3 Part A root: the long-video table (xlsx, xls, csv or None), the label file, color frames."""
    sheets = {"AU+Emotion": [CASME3_LONG_HEADER] + [list(r) for r in CASME3_LONG_ROWS],
              "eye blink": [["Subject", "Filename", "Onset", "Offset"]] + [list(r) for r in CASME3_BLINK_ROWS]}
    stem = "CAS(ME)3_part_A_v2"
    if long == "xlsx":
        write_xlsx(root / f"{stem}.xlsx", sheets, text_columns={k: set(range(8)) for k in sheets})
    elif long == "xls":
        import xlwt  # the only writer of the old format; a test-only dependency

        book = xlwt.Workbook()
        for name, rows in sheets.items():
            ws = book.add_sheet(name)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    ws.write(r, c, value)
        root.mkdir(parents=True, exist_ok=True)
        book.save(str(root / f"{stem}.xls"))
    elif long == "csv":
        import csv

        root.mkdir(parents=True, exist_ok=True)
        for name, rows in sheets.items():
            with open(root / f"{stem}.{name}.csv", "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows(rows)
    if labels:
        write_xlsx(root / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
                   {"label": [CASME3_LABEL_HEADER] + [list(r) for r in CASME3_LABEL_ROWS], "Sheet1": [], "Sheet3": []},
                   text_columns={"label": set(range(8))})
    base = root / frames_under if frames_under else root
    for folder, numbers in CASME3_FRAMES.items():
        write_frames(base / folder / "color", numbers, "{}.jpg".format)
    (base / "spNO.1" / "f" / "depth").mkdir(parents=True)  # a task folder without color frames
    return root


# synthetic recordings whose frames are the face crop, small, so that flow and training stay fast
TINY_RECORDINGS = {"frame_size": (80, 96), "face_size": (80, 96), "weights": (0.5, 0.5, 0.0), "blinks_per_min": 0.0,
                   "macro_px": (10.0, 16.0), "micro_px": (3.0, 5.0)}


def tiny_recordings(folder: Path, *, subjects: int, minutes: float, seed: int):
    """(root, load) of a small synthetic CAS(ME)^2-layout set of TINY_RECORDINGS, checked free of errors."""
    from mmnet.data import load_dataset
    from mmnet.synth.long import LongConfig
    from mmnet.synth.long_writer import write_long_dataset

    root = write_long_dataset(folder, subjects=subjects, minutes=minutes, seed=seed,
                              config=LongConfig(**TINY_RECORDINGS))
    load = load_dataset("casme-sq", root)
    load.raise_if_errors()
    return root, load



def write_face_recording(folder: Path) -> Path:
    """A 7 s face-crop recording at 30 fps (frames img1..img210.png in ``folder``), one planted macro-expression;
    about 7 s to render, so a test module makes it once (a module-scoped fixture)."""
    from PIL import Image

    from mmnet.synth.long import LongConfig, plan_recording, render_frames

    config = LongConfig(frame_size=(140, 170), face_size=(140, 170), weights=(1.0, 0.0, 0.0), blinks_per_min=0.0,
                        macro_s=(1.0, 1.5), gap_s=(3.0, 3.0))
    folder.mkdir(parents=True, exist_ok=True)
    for n, frame in enumerate(render_frames(0, 1, 1, plan_recording(0, 1, 1, 210, config), config), 1):
        Image.fromarray(frame).save(folder / f"img{n}.png")
    return folder
