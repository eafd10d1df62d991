"""A composite's report per part: the parts in MEGC2019's order (SMIC, CASME II, SAMM) and each part's samples,
F1 and recall per class, in report.json and report.md."""

from __future__ import annotations

import statistics

import pytest

from mmnet.report import build_report

from .fake_runs import CLASSES, make_samples, write_run

PARTS = {"casme2": {"1": [0, 1, 2, 2], "2": [2, 1, 0]}, "samm": {"006": [0, 1, 2, 0, 0]},
         "smic": {"s1": [0, 1, 1], "s2": [1, 0, 2]}}


def _predict(seed, epoch, s):  # seed 1 is wrong on every third clip, seed 0 on every second
    k = int(s["clip"][2:])
    return (s["class_index"] + 1) % 3 if k % (2 + seed) == 1 else s["class_index"]


def _f1_recall(pairs, c):
    tp = sum(t == c and p == c for t, p in pairs)
    true, predicted = sum(t == c for t, _ in pairs), sum(p == c for _, p in pairs)
    return (2 * tp / (true + predicted) if true + predicted else 0.0), (tp / true if true else 0.0)


@pytest.fixture
def report(tmp_path):
    samples = [s for ds, subjects in PARTS.items() for s in make_samples(subjects, ds)]
    run = write_run(tmp_path / "run", samples, _predict, epochs=2, seeds=(0, 1))
    return build_report(run), (run / "report.md").read_text(), samples


def test_the_parts_are_in_megc2019s_order_everywhere(report):
    r, md, _ = report
    assert r["datasets"] == list(r["headline"]["per_dataset"]) == ["smic", "casme2", "samm"]
    table = md[md.index("## Per dataset"):md.index("## Seed 0")]
    assert table.index("| smic |") < table.index("| casme2 |") < table.index("| samm |")
    subjects = md[md.index("## Seed 0: per subject"):]
    assert subjects.index("| smic/s1 ") < subjects.index("| casme2/1 ") < subjects.index("| samm/006 ")


def test_each_part_gives_each_classs_samples_f1_and_recall_over_seeds(report):
    r, md, samples = report
    for part in PARTS:
        rows = [s for s in samples if s["dataset"] == part]
        per_class = r["headline"]["per_dataset"][part]["per_class"]
        assert list(per_class) == CLASSES
        for c, name in enumerate(CLASSES):
            got = per_class[name]
            assert got["n"] == sum(s["class_index"] == c for s in rows)
            seeds = [_f1_recall([(s["class_index"], _predict(seed, 1, s)) for s in rows], c) for seed in (0, 1)]
            for i, key in enumerate(("f1", "recall")):
                values = [v[i] for v in seeds]
                assert got[key] == pytest.approx(statistics.fmean(values))
                assert got[f"{key}_std"] == pytest.approx(statistics.stdev(values))
    section = md[md.index("### Per dataset and class (honest, last epoch; mean ± std over seeds)"):]
    samm = r["headline"]["per_dataset"]["samm"]["per_class"]["negative"]
    assert samm["n"] == 3
    assert (f"| samm | negative | 3 | {samm['f1']:.4f} ± {samm['f1_std']:.4f} | "
            f"{samm['recall']:.4f} ± {samm['recall_std']:.4f} |") in section


def test_a_report_json_without_per_class_numbers_renders_no_class_table():
    from mmnet.report.parts import part_class_lines

    assert part_class_lines({"smic": {"mean": {}, "std": {}}}, CLASSES) == []


def test_one_order_of_the_parts_for_the_data_the_report_and_check_data(monkeypatch, tmp_path):
    from mmnet.commands import check_data_common
    from mmnet.data import composite
    from mmnet.report import parts

    assert parts.PART_ORDER is composite.PART_ORDER  # the data layer's, not a copy
    monkeypatch.setattr(composite, "PART_ORDER", ("samm", "casme2", "smic"))
    authors = [c.split(" et al.")[0] for c in check_data_common.papers("composite", tmp_path)]
    assert authors == ["See", "Davison", "Yan", "Li"]  # MEGC2019's paper, then the parts in that order
