"""No row of the licence-gated annotation tables in the repository: every tracked text file is scanned for the real
rows in ../shared/annotations (fixtures must be made up, docs/contributing.md). Skips when the tables are absent.

A hit is a clip id with its onset/apex/offset frames in order on one line or two: all three, or two of them from 10
up (small numbers are everywhere); a full row is such a line too. A distinctive free-text note of the owners' sheets is
a hit alone. A sample that mmnet.data.corrections fixes is named there with its wrong frames, so only all three are a
hit there.
"""

from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path

import pytest

from .conftest import ANNOTATIONS

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ANNOTATIONS.is_dir(), reason="../shared/annotations is absent"),
]

# table -> (first data row, subject column, id column, onset/apex/offset columns, notes column or None); the clip id is
# the id cell, or subject and id together where the id alone means nothing (CAS(ME)^3's 'a', CAS(ME)^2's 'anger1_1')
TABLES = {
    "casme2/CASME2-coding-20140508.Sheet1.csv": (1, 0, 1, (3, 4, 5), None),
    "casme2/CASME2-coding-20190701.Sheet1.csv": (1, 0, 1, (3, 4, 5), None),
    "samm/SAMM_Micro_FACS_Codes_v2.MICRO_ONLY.csv": ("Subject", 0, 1, (3, 4, 5), 11),
    "casme3/cas(me)3_part_A_ME_label_JpgIndex_v2.label.csv": (1, 0, 1, (2, 3, 4), None),
    "smic/smic_apex.third_party.csv": (1, 1, 2, (4, 5, 6), None),
    "spotting/CASME_sq_gt.CASFEcode_final.csv": (0, 0, 1, (2, 3, 4), None),
    "spotting/SAMMLV_gt.FACS_Movement_Only.csv": ("Subject", 0, 1, (3, 4, 5), 9),
}
PAIRED = ("casme3/", "spotting/CASME_sq")  # tables whose id cell needs its subject beside it
TOKEN = re.compile(r"[A-Za-z0-9_.+\-/]+")


def _number(text: str) -> float | None:
    try:
        return round(float(text), 2)
    except ValueError:
        return None


def _tokens(line: str) -> list[str]:
    """Words and numbers; a path, joined id or range also gives its parts (sub01/EP02_01f: EP02_01f, EP02, 01f;
    40-52: 40, 52)."""
    out = []
    for t in TOKEN.findall(line):
        parts = {t, *t.split("/"), *re.split(r"[/_]|-(?=\d)", t)}
        out += [p.strip(".") for p in parts if p.strip(".")]
    return out


def real_rows():
    """(table, id tokens, frames) for every annotated row, and the set of distinctive notes."""
    rows, notes = [], set()
    for name, (start, subj, cid, frames, note) in TABLES.items():
        path = ANNOTATIONS / name
        if not path.is_file():
            continue
        table = list(csv.reader(path.open(encoding="utf-8", newline="")))
        if isinstance(start, str):  # a preamble above the header row
            start = next(i for i, r in enumerate(table) if r and r[0].strip() == start) + 1
        for r in table[start:]:
            if len(r) <= max(frames) or not r[cid].strip():
                continue
            ident = (r[subj].strip(), r[cid].strip()) if name.startswith(PAIRED) else (r[cid].strip(),)
            rows.append((name, ident, tuple(_number(r[c]) for c in frames)))
            if note is not None and len(r) > note and len(r[note]) >= 14 and " " in r[note].strip():
                notes.add(r[note].strip())
    return rows, notes


def _copied(frames, numbers: list[float], full_only: bool) -> bool:
    """Whether the line's numbers hold the row's frames in order: all given ones, or (not full_only) two from 10 up."""
    found, i = [], 0
    for w in frames:
        if w is not None and w in numbers[i:]:
            i = numbers.index(w, i) + 1
            found.append(w)
    given = [w for w in frames if w is not None]
    return found == given or (not full_only and sum(w >= 10 for w in found) >= 2)


def _id_in(ident, tokens: set[str]) -> bool:
    if len(ident) == 1:
        return ident[0] in tokens
    subject, clip = ident
    return f"{subject}_{clip}" in tokens or (subject in tokens and clip in tokens)


def tracked_text_files():
    if not (ROOT / ".git").exists():  # an unpacked sdist: no list of tracked files
        pytest.skip("not a git checkout")
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in names.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file():
            continue
        try:
            yield name, path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue


def find_copies():
    from mmnet.data.corrections import CORRECTIONS

    corrected = {c.clip if c.dataset != "casme3" else (c.subject, c.clip) for c in CORRECTIONS}
    rows, notes = real_rows()
    by_id = {}
    for table, ident, frames in rows:
        by_id.setdefault(ident[-1], []).append((table, ident, frames))
    note_re = [(n, re.compile(rf"(?<![A-Za-z]){re.escape(n)}(?![A-Za-z])")) for n in sorted(notes)]
    hits = []
    for name, text in tracked_text_files():
        lines = text.splitlines()
        per_line = [_tokens(line) for line in lines] + [[]]
        for lineno, line in enumerate(lines, 1):
            toks = per_line[lineno - 1] + per_line[lineno]  # a row may wrap onto the next line
            tokset = set(toks)
            ids = tokset & by_id.keys()
            numbers = [x for x in map(_number, toks) if x is not None] if ids else []
            for tok in ids:
                for table, ident, frames in by_id[tok]:
                    full_only = (ident if len(ident) > 1 else ident[0]) in corrected
                    if _id_in(ident, tokset) and _copied(frames, numbers, full_only):
                        hits.append(f"{name}:{lineno}: {'/'.join(ident)} {frames} from {table}")
            hits += [f"{name}:{lineno}: note {n!r}" for n, rx in note_re if rx.search(line)]
    return sorted(set(hits))


def test_no_real_annotation_rows_in_the_repository():
    hits = find_copies()
    assert not hits, "rows copied from the real annotation tables; make up ids and frames:\n" + "\n".join(hits)
