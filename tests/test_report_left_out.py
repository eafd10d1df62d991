"""Samples the class scheme leaves out on purpose are counted per label in report.md and report.json, apart from
the samples left out for a problem of the data."""

from mmnet import run_folder as rf
from mmnet.data.usage import scheme_left_out
from mmnet.report import build_report
from mmnet.report.left_out import scheme_exclusions

from .fake_runs import make_samples, write_run


def test_scheme_exclusions_are_counted_per_label_apart_from_problems(tmp_path):
    run = write_run(tmp_path / "run", make_samples({"1": [0, 1, 2], "2": [2, 1, 0]}), lambda seed, e, s: 0, epochs=1)
    rows = [["casme2/01/EP01", scheme_left_out("label", "fear", "casme2-5class")],
            ["casme2/01/EP02", "[apex_unknown] the annotation gives no apex frame"],
            ["casme2/02/EP03", scheme_left_out("label", "sadness", "casme2-5class")],
            ["casme2/02/EP04", scheme_left_out("label", "fear", "casme2-5class")]]
    rf.write_csv(run / rf.SKIPPED, rf.SKIPPED_COLUMNS, rows)
    status = build_report(run)["status"]
    assert status["skipped_samples"] == 1
    assert status["excluded_by_scheme"] == {"scheme": "casme2-5class", "what": "label",
                                            "counts": {"fear": 2, "sadness": 1}}
    md = (run / "report.md").read_text()
    assert ("(1 more skipped, listed in skipped.csv; 3 left out by scheme casme2-5class, which does not use their "
            "label (fear 2, sadness 1))") in md
    section = md[md.index("Not used for training:"):md.index("## Headline")]
    assert "casme2/01/EP02: [apex_unknown]" in section and "fear" not in section


def test_the_reason_usage_writes_is_read_back_whatever_the_label():
    reason = scheme_left_out("objective class", "it's 6", "casme2-objective")
    assert scheme_exclusions([("a", reason), ("b", "frame 3 cannot be read")]) == (
        [("b", "frame 3 cannot be read")],
        {"scheme": "casme2-objective", "what": "objective class", "counts": {"it's 6": 1}})


def test_a_label_maps_name_with_spaces_is_read_back_whole():
    # a label map's scheme is its text, as the docs write it: with spaces after the commas
    scheme = "happiness=positive, disgust=negative, others=-"
    reason = scheme_left_out("label", "fear", scheme)
    assert scheme_exclusions([("a", reason)]) == ([], {"scheme": scheme, "what": "label", "counts": {"fear": 1}})
