"""The STR side of `mmnet score-spots`: the dataset's emotions as STR classes, and emotions that differ in case."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path


def dataset_str_truth(dataset: str, truth: dict, classes: Sequence[str] | None) -> tuple[dict | None, tuple]:
    """The dataset's truth with each micro-expression's emotion grouped into its STR class (the dataset's default
    scheme, as `mmnet train` groups them: SAMM's 'anger' -> 'negative'), and the classes to score (``classes``, else
    the scheme's). An emotion the scheme leaves out ('others' on CAS(ME)^2) is kept as annotated: scored only when
    ``classes`` names it. (None, ()) with a note when no micro-expression has an emotion."""
    from ..data.label_maps import TABLE_SCHEME
    from ..data.schemes import default_scheme, get_scheme, resolve_scheme

    labels = sorted({i.label for items in truth.values() for i in items if i.type == "micro" and i.label})
    if not labels:
        print(f"note: no STR analysis: no micro-expression of the {dataset} annotation has an emotion (SAMM Long "
              "Videos takes them from SAMM_Micro_FACS_Codes_v2.xlsx in --root)", file=sys.stderr)
        return None, ()
    name = default_scheme(dataset)
    # table-long: each emotion its own class, as `mmnet train` makes them from the table's labels
    scheme = resolve_scheme(name, labels, dataset) if name == TABLE_SCHEME else get_scheme(name)

    def grouped(i):
        return replace(i, label=scheme.mapping.get(i.label) or i.label) if i.type == "micro" and i.label else i

    classes = tuple(classes or scheme.classes)
    print(f"note: STR analysis against the {dataset} annotation's emotions grouped as its scheme {scheme.name} "
          f"({', '.join(scheme.classes)}); classes scored: {', '.join(classes)}", file=sys.stderr)
    return {video: [grouped(i) for i in items] for video, items in truth.items()}, classes


def _emotions(path: Path, texts: dict[Path, str]) -> set[str]:
    """The emotions of an STR CSV as written (read_str_csv lower-cases them)."""
    from ..spotting.megc_files import csv_reader
    from .score_spots_read import file_text

    out = set()
    for raw in csv_reader(path, file_text(path, texts)):
        row = {name.strip().lower(): value for name, value in raw.items() if name is not None}
        if (row.get("emotion") or "").strip():
            out.add(row["emotion"].strip())
    return out


def case_warnings(truth: Path, predictions: Sequence[Path], texts: dict[Path, str] | None = None) -> list[str]:
    """For --mode strs: a sentence per truth emotion that a prediction writes in other letter case. mmnet reads
    emotions case-insensitively, STRS-Metric compares the text exactly: a server would score them as another class.
    ``texts``: the files' texts read so far (``score_spots_read.file_text``)."""
    texts = {} if texts is None else texts
    predicted = set().union(*(_emotions(p, texts) for p in predictions))
    out = []
    for label in sorted(_emotions(truth, texts)):
        other = sorted(q for q in predicted if q != label and q.lower() == label.lower())
        if other:
            out.append(f"the truth's emotion {label!r} is written {', '.join(map(repr, other))} in the predictions: "
                       "scored here as the same class (mmnet reads emotions in any letter case), but STRS-Metric "
                       "compares the text exactly, so a case-sensitive server counts them as different classes; "
                       f"write {label!r} in the predictions.")
    return out
