"""Every label scheme's classes (logit order) and full label mapping, written out from the tables of
docs/datasets.md (and docs/spotting.md for the STR schemes): a changed grouping or class order must show here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmnet.data.schemes import DEFAULT_SCHEME, SCHEMES

NPS = ("negative", "positive", "surprise")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")
CASME2 = ("happiness", "repression", "disgust", "surprise", "others", "sadness", "fear")
SAMM = ("anger", "contempt", "disgust", "fear", "happiness", "other", "sadness", "surprise")


def _map(vocab=(), **groups) -> dict:
    """label -> class: every label of ``vocab`` excluded unless a group (class=labels) takes it."""
    out = dict.fromkeys(vocab)
    for cls, labels in groups.items():
        out.update(dict.fromkeys(labels.split(), cls))
    return out


SAMM_MEGC = _map(SAMM, negative="anger contempt disgust fear sadness", positive="happiness", surprise="surprise")
CASME3 = dict(negative="disgust fear anger sad", positive="happy", surprise="surprise")

EXPECTED = {
    "casme2-5class": (("happiness", "repression", "disgust", "surprise", "others"),
                      _map(CASME2, happiness="happiness", repression="repression", disgust="disgust",
                           surprise="surprise", others="others")),
    "casme2-3class-authors": (NPS, _map(CASME2, negative="repression disgust fear sadness", positive="happiness",
                                        surprise="surprise")),
    "casme2-3class-megc": (NPS, _map(CASME2, negative="disgust repression", positive="happiness", surprise="surprise")),
    "samm-5class": (("anger", "contempt", "happiness", "surprise", "others"),
                    _map(SAMM, anger="anger", contempt="contempt", happiness="happiness", surprise="surprise",
                         others="other")),
    "samm-3class-megc": (NPS, SAMM_MEGC),
    "mmew-4class": (("happiness", "surprise", "disgust", "others"),
                    _map(("anger", "fear", "sadness"), happiness="happiness", surprise="surprise", disgust="disgust",
                         others="others repression")),
    "smic-3class": (NPS, _map(negative="negative", positive="positive", surprise="surprise")),
    "casme3-4class": (("negative", "positive", "surprise", "others"), _map(**CASME3, others="others")),
    "casme3-3class": (NPS, _map(("others",), **CASME3)),
    "casme3-7class": (("anger", "disgust", "fear", "happy", "others", "sad", "surprise"),
                      {e: e for e in ("anger", "disgust", "fear", "happy", "others", "sad", "surprise")}),
    "composite-3class": (NPS, _map(negative="negative", positive="positive", surprise="surprise")),
    "casme-sq-str": (NPS, _map(("others",), negative="negative", positive="positive", surprise="surprise")),
    "samm-long-str": (NPS, SAMM_MEGC),
    **{f"{ds}-objective": (ROMAN, dict(zip("1234567", ROMAN))) for ds in ("casme2", "samm", "casme3")},
    **{f"{ds}-objective-5class": (ROMAN[:5], {**dict(zip("12345", ROMAN)), "6": None, "7": None})
       for ds in ("casme2", "samm")},
}


def test_every_scheme_is_pinned():
    assert sorted(SCHEMES) == sorted(EXPECTED), (
        "every LabelScheme of _SCHEMES in src/mmnet/data/schemes.py is pinned in EXPECTED in tests/test_schemes.py "
        "(its classes in logit order and its full label -> class mapping) and has a row in the scheme table of "
        f"docs/datasets.md: not pinned {sorted(set(SCHEMES) - set(EXPECTED))}, "
        f"pinned but gone {sorted(set(EXPECTED) - set(SCHEMES))}")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_scheme_classes_and_mapping(name):
    classes, mapping = EXPECTED[name]
    scheme = SCHEMES[name]
    assert scheme.classes == classes
    assert dict(scheme.mapping) == mapping
    assert scheme.field == ("objective_class" if "objective" in name else "label")


def test_docs_list_every_scheme_with_its_classes():
    text = (Path(__file__).resolve().parents[1] / "docs" / "datasets.md").read_text(encoding="utf-8")
    table = text[text.index("| scheme | classes (index order) |"):]
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        names, classes = line.split("|")[1:3]
        for name in re.findall(r"`([a-z0-9-]+)`", names):
            rows[name] = classes.strip()
    # the table dataset's scheme takes its classes from the config: listed, not pinned
    table = rows.pop("table", None)
    assert table == "`data.classes`: by default the table's labels, sorted"
    row = "add a row `| `NAME` | class, class, ... | notes |` to the table under \"Label schemes\" in docs/datasets.md"
    assert sorted(rows) == sorted(EXPECTED), (
        f"{row} for {sorted(set(EXPECTED) - set(rows))}; listed there but not pinned in EXPECTED: "
        f"{sorted(set(rows) - set(EXPECTED))}")
    for name, (classes, _) in EXPECTED.items():
        listed = "I … VII" if classes == ROMAN else "I … V" if classes == ROMAN[:5] else ", ".join(classes)
        assert rows[name] == listed, f"docs/datasets.md's row of {name} lists {rows[name]!r}; its classes: {listed!r}"
    for dataset, name in DEFAULT_SCHEME.items():
        assert name in rows or (name == "table" and table), f"{dataset}'s default scheme {name!r}: {row}"


def test_a_scheme_registered_without_datasets_says_so(monkeypatch):
    """A scheme registered from Python with no datasets was refused as 'made for , not for dataset ...'."""
    from mmnet.data import resolve_scheme
    from mmnet.data.schemes import LabelScheme
    from mmnet.errors import ConfigError

    monkeypatch.setitem(SCHEMES, "my3", LabelScheme("my3", ("a", "b"), {"x": "a", "y": "b"}))
    with pytest.raises(ConfigError) as raised:
        resolve_scheme("my3", None, "casme2")
    message = str(raised.value)
    assert "declares no datasets" in message and "datasets=('casme2',)" in message and "made for ," not in message
    assert "label map" in message


def test_the_authors_3class_ids_are_stated_where_the_scheme_is():
    # the scheme and its docs said the authors' CASME2_3.py ids were undocumented: they are happiness 0,
    # surprise 1, negative 2 (the logit order of that script's checkpoints); the scheme keeps the MEGC order
    scheme = SCHEMES["casme2-3class-authors"]
    assert scheme.classes == NPS
    assert "positive (happiness) 0, surprise 1, negative 2" in scheme.source
    assert "--class-names positive,surprise,negative" in scheme.source
    docs = (Path(__file__).resolve().parents[1] / "docs" / "datasets.md").read_text()
    row = next(line for line in docs.splitlines() if line.startswith("| `casme2-3class-authors`"))
    assert "not documented" not in row and "happiness (positive) 0, surprise 1, negative 2" in row
    assert "--class-names positive,surprise,negative" in row
