"""SAMM loader on generated fake trees: preamble/header search, text subjects, corrections, greyscale frames."""

from __future__ import annotations

import pytest

from mmnet.data import get_scheme, load_dataset
from mmnet.errors import AnnotationError, DatasetNotFoundError
from mmnet.media import read_rgb

from .fakes import SAMM_ROWS, write_samm


def _checks(load, clip):
    return {i.check: i for i in load.issues if i.sample_id.endswith("/" + clip)}


@pytest.mark.parametrize("preamble", [True, False])
@pytest.mark.parametrize("frames_dir", ["SAMM", "SAMM_CROP"])
def test_header_found_and_subjects_text(tmp_path, preamble, frames_dir):
    root = write_samm(tmp_path / "samm", preamble=preamble, frames_dir=frames_dir)
    load = load_dataset("samm", root)
    assert len(load.samples) == len(SAMM_ROWS)
    s = load.samples[0]
    assert (s.subject, s.clip, s.onset, s.apex, s.offset) == ("006", "006_1_2", 5540, 5571, 5610)
    assert s.label == "anger" and s.aus == ("4", "7") and s.extra["objective_class"] == 3
    assert s.frame_numbers[0] == 5540 and s.frame_numbers[-1] == 5610
    assert s.frames[0][1].name == "006_05540.jpg"


def test_greyscale_frames_read_as_rgb(tmp_path):
    load = load_dataset("samm", write_samm(tmp_path / "samm"))
    img = read_rgb(load.samples[0].frames[0][1])
    assert img.shape == (8, 8, 3)


def test_corrections_and_quirks(tmp_path):
    load = load_dataset("samm", write_samm(tmp_path / "samm"))
    by = {s.clip: s for s in load.samples}
    assert by["028_4_1"].apex == 1105  # corrected, logged, keyed by (subject, clip)
    fix = _checks(load, "028_4_1")["correction"]
    assert fix.severity == "warning" and "1143 -> 1105" in fix.message and "meb" in fix.message
    assert "apex_outside" not in _checks(load, "028_4_1")
    assert _checks(load, "009_3_1")["apex_outside"].severity == "error"  # no known fix: reported
    assert by["011_2_3"].aus == ("R6|R12", "R15")
    assert by["020_5_1"].aus == ("10A|10B",)
    assert by["007_3_1"].aus == ("12A", "ref(24)")
    assert by["028_4_1"].aus == ("R14", "17")
    assert "soft focus" in _checks(load, "028_4_1")["au_text"].message
    assert by["009_3_1"].aus == ("12", "15")  # trailing space


def test_corrections_can_be_disabled_and_do_not_apply_to_changed_values(tmp_path):
    load = load_dataset("samm", write_samm(tmp_path / "a"), corrections=False)
    by = {s.clip: s for s in load.samples}
    assert by["028_4_1"].apex == 1143
    assert "apex_outside" in _checks(load, "028_4_1")
    rows = [r if r[1] != "028_4_1" else r[:4] + (1110,) + r[5:] for r in SAMM_ROWS]
    load = load_dataset("samm", write_samm(tmp_path / "b", rows))
    assert {s.clip: s for s in load.samples}["028_4_1"].apex == 1110
    assert "not applied" in _checks(load, "028_4_1")["correction"].message


def test_five_class_scheme(tmp_path):
    load = load_dataset("samm", write_samm(tmp_path / "samm"))
    scheme = get_scheme("samm-5class")
    ids = {s.clip: scheme.classes[i] for s, i in scheme.select(load.samples)}
    assert ids["011_2_3"] == "others" and ids["028_4_1"] == "contempt" and "020_5_1" not in ids
    assert scheme.unmapped(load.samples) == {}


def test_missing_files(tmp_path):
    root = write_samm(tmp_path / "samm", frames=False)
    with pytest.raises(DatasetNotFoundError, match="SAMM/006/006_1_2/006_05562.jpg"):
        load_dataset("samm", root)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "SAMM").mkdir()
    from .fakes import write_xlsx

    write_xlsx(bad / "SAMM_x.xlsx", {"MICRO_ONLY": [["no header here"]]})
    with pytest.raises(AnnotationError, match="no header row"):
        load_dataset("samm", bad)


def test_a_partial_copy_names_the_subject_folders_found(tmp_path):
    import shutil

    root = write_samm(tmp_path / "s")
    subjects = sorted(p.name for p in (root / "SAMM").iterdir())
    shutil.rmtree(root / "SAMM" / subjects[-1])
    missing = [i for i in load_dataset("samm", root).errors if i.sample_id.startswith(f"samm/{subjects[-1]}/")]
    assert missing and f"which holds {', '.join(subjects[:-1])}: a partial copy?" in missing[0].message
