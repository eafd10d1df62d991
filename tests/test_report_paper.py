"""Paper-ready report output: vector figures, row percentages, bootstrap confidence intervals."""

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from mmnet.cli import main
from mmnet.report import build_report, compute_report
from mmnet.report.bootstrap import batch_scores, bootstrap_ci, mcnemar_exact
from mmnet.report.figures import CMAP, WIDTH_IN, row_percentages
from mmnet.report.metrics import confusion_matrix, scores_from_confusion

from .fake_runs import make_samples, write_run

SVG = "{http://www.w3.org/2000/svg}"


def _predict(seed, epoch, s):
    k = int(s["clip"][2:]) + int(s["subject"]) + epoch + seed
    return s["class_index"] if k % 3 else (s["class_index"] + 1) % 3


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    samples = make_samples({"1": [0, 0, 1, 2, 2], "2": [1, 1, 2, 0], "3": [0, 2, 2, 1, 1, 0], "4": [2, 1]})
    run = write_run(tmp_path_factory.mktemp("p") / "run", samples, _predict, epochs=3, seeds=(0, 1),
                    selection="paper")
    report = build_report(run, figure_formats=("png", "pdf", "svg"), resamples=500)
    return run, report


def test_every_figure_in_every_format_is_valid(paper_run):
    run, report = paper_run
    names = ["confusion_matrix", "per_subject", "learning_curves", "confusion_matrix_paper_optimistic"]
    for name in names:
        png, pdf, svg = ((run / f"{name}.{ext}").read_bytes() for ext in ("png", "pdf", "svg"))
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
        assert b"/FontFile2" in pdf and b"/Type3" not in pdf  # TrueType embedded, no Type 3 bitmaps
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg"
        assert float(root.get("width").removesuffix("pt")) == pytest.approx(WIDTH_IN * 72, abs=0.5)  # one column
        assert any((t.text or "").strip() for t in root.iter(f"{SVG}text"))  # text kept as text, not outlines
        assert f"{name}.pdf" in report["files"] and f"{name}.svg" in report["files"]
    texts = " ".join(t.text or "" for t in ET.parse(run / "confusion_matrix.svg").iter(f"{SVG}text"))
    for c in report["classes"]:
        assert c in texts
    assert "% of the true class" in texts  # the colour bar's label


def _cells(svg_path, n):
    """(percentage, count) of each confusion cell, read back from the SVG text."""
    groups = {g.get("id"): g for g in ET.parse(svg_path).iter(f"{SVG}g") if (g.get("id") or "").startswith("cell-")}
    out = np.zeros((n, n, 2))
    for i in range(n):
        for j in range(n):
            pct, count = [t.text for t in groups[f"cell-{i}-{j}"].iter(f"{SVG}text")]
            out[i, j] = float(pct.rstrip("%")), int(count.strip("()"))
    return out


def test_confusion_cells_show_row_percentages_summing_to_100_and_counts(paper_run):
    run, report = paper_run
    n = len(report["classes"])
    cells = _cells(run / "confusion_matrix.svg", n)
    cm = sum(np.array(e["last"]["confusion"]) for e in report["seeds"].values())
    assert (cells[..., 1] == cm).all()
    assert cells[..., 0].sum(axis=1) == pytest.approx(np.full(n, 100.0), abs=1e-9)
    assert cells[..., 0] == pytest.approx(100 * cm / cm.sum(axis=1, keepdims=True), abs=0.1)


def test_row_percentages_round_to_exactly_100():
    cm = np.array([[1, 1, 1], [2, 0, 1], [0, 0, 0], [1, 0, 6]])[:, :3]
    pct = row_percentages(cm)
    assert pct[0].tolist() == [33.4, 33.3, 33.3]  # largest remainder, first on ties: 99.9 would be wrong
    assert pct[1].tolist() == [66.7, 0.0, 33.3]
    assert np.isnan(pct[2]).all()  # a class without samples shows no percentages
    assert pct[3].sum() == pytest.approx(100.0)
    rng = np.random.default_rng(1)
    for _ in range(200):
        m = rng.integers(0, 50, size=(6, 6))
        m[:, 0] += 1
        assert np.allclose(row_percentages(m).sum(axis=1), 100.0)


def test_colour_map_lightness_is_monotonic_for_greyscale_prints():
    from matplotlib import colormaps

    rgb = colormaps[CMAP](np.linspace(0, 1, 256))[:, :3]
    lum = rgb @ np.array([0.2126, 0.7152, 0.0722])
    assert (np.diff(lum) > 0).all()


def test_report_states_the_intervals(paper_run):
    run, report = paper_run
    ci = report["headline"]["ci"]
    assert (ci["level"], ci["resamples"], ci["seed"]) == (0.95, 500, 0)
    md = (run / "report.md").read_text()
    assert "percentile bootstrap, 500 resamples, random seed 0" in md
    assert "| 0 | subjects (4) |" in md and "| 0 | samples (17) |" in md and "| mean over seeds | subjects |" in md
    for level in ("subjects", "samples"):
        for r in ci[level]["per_seed"].values():
            for k in ("acc", "uf1", "uar"):
                lo, hi = r[k]
                assert 0 <= lo <= hi <= 1
    on_disk = json.loads((run / "report.json").read_text())["headline"]["ci"]
    assert on_disk == json.loads(json.dumps(ci))


def test_all_correct_run_has_interval_1_1(tmp_path):
    samples = make_samples({"1": [0, 1, 2], "2": [2, 2], "3": [1], "4": [0, 0, 1]})
    run = write_run(tmp_path / "run", samples, lambda seed, e, s: s["class_index"])
    ci = compute_report(run, resamples=300)["headline"]["ci"]
    for level in ("subjects", "samples"):
        assert ci[level]["per_seed"]["0"] == {"acc": [1.0, 1.0], "uf1": [1.0, 1.0], "uar": [1.0, 1.0]}
    # some resamples draw only subjects 2 and 3 (no class 0): still 1, not a class counted as 0
    assert ci["subjects"]["resamples_missing_a_class"] > 0


def test_resamples_lacking_a_class_are_drawn_again_not_scored_over_fewer_classes():
    # class 2 lives in subject 1 only, and is always missed: UAR (1 + 1 + 0) / 3. A resample without subject 1
    # averaged over classes 0 and 1 only (UAR 1.0), so the interval reached far above its own point estimate
    rows = [{"sample_id": f"d/{s}/{k}", "dataset": "d", "subject": str(s), "true": t, "pred": t if t < 2 else 0}
            for s in range(1, 7) for k, t in enumerate([0, 1, 2] if s == 1 else [0, 1])]
    f = pd.DataFrame(rows)
    point = scores_from_confusion(confusion_matrix(f["true"], f["pred"], 3))
    ci = bootstrap_ci({"0": f}, 3, "subject", resamples=2000)
    assert point["uar"] == pytest.approx(2 / 3)
    assert ci["per_seed"]["0"]["uar"] == pytest.approx([2 / 3, 2 / 3])  # every resample holds class 2, always missed
    lo, hi = ci["per_seed"]["0"]["uf1"]
    assert lo <= point["uf1"] <= hi < 0.9
    assert ci["resamples_missing_a_class"] > 0  # (5/6)**6 of the draws lack subject 1: drawn again
    assert bootstrap_ci({"0": f}, 3, "subject", resamples=2000) == ci  # seeded, redraws included


def _frame(subject_correct: list[list[bool]]) -> pd.DataFrame:
    """Two classes; each subject's samples alternate true 0/1; correct -> pred = true, else the other."""
    rows = []
    for s, oks in enumerate(subject_correct):
        for k, ok in enumerate(oks):
            t = k % 2
            rows.append({"sample_id": f"d/{s}/{k}", "dataset": "d", "subject": str(s), "true": t,
                         "pred": t if ok else 1 - t})
    return pd.DataFrame(rows)


def test_symmetric_case_gives_a_symmetric_interval_of_the_right_width():
    # 100 subjects of 2 samples, half all right and half all wrong: Acc = 0.5, bootstrap sd = 0.05.
    f = _frame([[True, True]] * 50 + [[False, False]] * 50)
    ci = bootstrap_ci({"0": f}, 2, "subject", resamples=4000)["per_seed"]["0"]["acc"]
    assert (ci[0] + ci[1]) / 2 == pytest.approx(0.5, abs=0.01)
    assert ci[1] - ci[0] == pytest.approx(2 * 1.96 * 0.05, abs=0.02)


def test_subjects_as_unit_widen_the_interval_when_subjects_differ():
    # 20 subjects of 10 samples, each all right or all wrong: 20 independent units, not 200.
    f = _frame([[True] * 10] * 14 + [[False] * 10] * 6)
    subj = bootstrap_ci({"0": f}, 2, "subject", resamples=2000)["per_seed"]["0"]["acc"]
    samp = bootstrap_ci({"0": f}, 2, "sample", resamples=2000)["per_seed"]["0"]["acc"]
    assert subj[1] - subj[0] > 2.5 * (samp[1] - samp[0])
    again = bootstrap_ci({"0": f}, 2, "subject", resamples=2000)["per_seed"]["0"]["acc"]
    assert again == subj  # seeded


def test_batch_scores_agree_with_the_metrics():
    rng = np.random.default_rng(0)
    for _ in range(20):
        t, p = rng.integers(0, 4, 40), rng.integers(0, 4, 40)
        cm = confusion_matrix(t, p, 4)
        ref = scores_from_confusion(cm)
        got = batch_scores(cm[None], (cm.sum(axis=1) == 0)[None])
        for k in ("acc", "uf1", "uar"):
            assert got[k][0] == pytest.approx(ref[k])


def test_mcnemar_exact_known_values():
    # b=1, c=4: p = 2 * (C(5,0) + C(5,1)) / 2^5 = 0.375 (exact binomial, two-sided)
    a = [True] * 1 + [False] * 4 + [True] * 10
    b = [False] * 1 + [True] * 4 + [True] * 10
    r = mcnemar_exact(a, b)
    assert (r["a_only_correct"], r["b_only_correct"], r["both_correct"]) == (1, 4, 10)
    assert r["p_value"] == pytest.approx(0.375)
    assert mcnemar_exact([True, False], [True, False])["p_value"] == 1.0  # no discordant pair
    assert mcnemar_exact([True] * 10, [False] * 10)["p_value"] == pytest.approx(2 / 1024)
    assert mcnemar_exact([True] * 3 + [False] * 3, [False] * 3 + [True] * 3)["p_value"] == 1.0


def test_cli_figures_format_option(tmp_path, capsys):
    samples = make_samples({"1": [0, 1, 2], "2": [2, 1, 0]})
    run = write_run(tmp_path / "run", samples, _predict)
    assert main(["report", str(run), "--figures-format", "svg", "--resamples", "200"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"95% CI, bootstrap over subjects: Acc % [\d.]+ – [\d.]+", out)
    assert (run / "per_subject.svg").is_file() and not (run / "per_subject.png").exists()
    assert main(["report", str(run), "--resamples", "200"]) == 0  # default png + pdf; the stale svg goes
    assert (run / "per_subject.pdf").is_file() and not (run / "per_subject.svg").exists()
    assert main(["report", str(run), "--figures-format", "png,eps"]) == 3
    assert "eps" in capsys.readouterr().err


def test_figure_titles_carry_the_honest_scores(paper_run):
    from matplotlib.figure import Figure

    from mmnet.report.figures import _BUILDERS, score_title

    run, report = paper_run
    m, n = report["headline"]["mean"], report["headline"]["per_seed"]["0"]["n"]
    want = (f"honest, last epoch: UF1 {m['uf1']:.2f}, UAR {m['uar']:.2f}, Acc {100 * m['acc']:.1f} % "
            f"(mean of 2 seeds, n={n} each)")
    assert score_title(report) == want
    for name in ("confusion_matrix", "learning_curves"):
        fig: Figure = _BUILDERS[name](report)
        assert fig.get_suptitle().replace("\n", " ") == want  # wrapped to fit one column
        notes = " ".join(ax.get_title() for ax in fig.axes)
        note = "monitoring, not for choosing an epoch" if name == "learning_curves" else "summed over 2 seeds"
        assert note in notes
    p = report["paper_selection_optimistic"]["mean"]
    paper = _BUILDERS["confusion_matrix_paper_optimistic"](report)
    title = paper.get_suptitle().replace("\n", " ")
    assert title.startswith(f"paper selection, epochs of highest fold F1: UF1 {p['uf1']:.2f}, UAR {p['uar']:.2f}")
    assert "optimistic" in paper.axes[0].get_title()
    svg = " ".join(t.text or "" for t in ET.parse(run / "learning_curves.svg").iter(f"{SVG}text"))
    assert f"UF1 {m['uf1']:.2f}" in svg  # the saved file carries it too


def test_notes_over_the_confusion_matrices_stay_inside_the_figure(paper_run):
    # the paper figure's note ("...; counts summed over 2 seeds") ran off the PNG's right edge
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from mmnet.report.figures import _BUILDERS, _RC

    _, report = paper_run
    for name in ("confusion_matrix", "confusion_matrix_paper_optimistic"):
        with matplotlib.rc_context(_RC):
            fig = _BUILDERS[name](report)
            fig.set_dpi(300)  # as saved
            renderer = FigureCanvasAgg(fig).get_renderer()
            fig.draw(renderer)
            box = fig.axes[0].title.get_window_extent(renderer)
        # a margin: the saved PNG's last glyphs ran past an edge this measure put 2 px inside it
        assert box.x0 >= 0.02 * fig.bbox.x1 and box.x1 <= 0.98 * fig.bbox.x1, (name, box, fig.bbox)


def test_the_per_subject_axis_label_stays_inside_the_figure(paper_run):
    # its one line was wider than the 3.3 in column: the PNG showed "ect: accuracy (bars), ..." cut at both ends
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from mmnet.report.figures import _BUILDERS, _RC

    _, report = paper_run
    with matplotlib.rc_context(_RC):
        fig = _BUILDERS["per_subject"](report)
        fig.set_dpi(300)  # as saved
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        label = fig.axes[0].xaxis.label
        box = label.get_window_extent(renderer)
    assert "accuracy (bars)" in label.get_text() and "honest, last epoch" in label.get_text()
    assert box.x0 >= 0.01 * fig.bbox.x1 and box.x1 <= 0.99 * fig.bbox.x1, (box, fig.bbox)


def test_score_title_with_one_seed():
    from mmnet.report.figures import score_title

    block = {"mean": {"acc": 0.75, "uf1": 0.7149, "uar": 0.6751}, "n_seeds": 1, "per_seed": {"0": {"n": 100}}}
    assert score_title({"headline": block}) == "honest, last epoch: UF1 0.71, UAR 0.68, Acc 75.0 % (n=100)"


def test_the_paper_figure_and_tables_say_which_epochs_they_show(paper_run):
    # the title's Acc came from the most-correct epochs while the matrix showed the best-F1 epochs' counts
    from mmnet.report.figures import _BUILDERS

    run, report = paper_run
    paper = report["paper_selection_optimistic"]
    diagonal = np.mean([np.trace(np.array(e["paper_selection_optimistic"]["confusion"]))
                        / np.sum(e["paper_selection_optimistic"]["confusion"]) for e in report["seeds"].values()])
    assert f"{100 * diagonal:.1f}" != f"{100 * paper['mean']['acc']:.1f}"  # the fixture tells them apart
    fig = _BUILDERS["confusion_matrix_paper_optimistic"](report)
    title = fig.get_suptitle().replace("\n", " ")
    assert title.startswith("paper selection, epochs of highest fold F1: ")
    assert f"Acc {100 * diagonal:.1f} %" in title
    note = fig.axes[0].get_title().replace("\n", " ")
    assert f"the paper's Acc, from the epochs with most correct predictions: {100 * paper['mean']['acc']:.1f} %" in note
    # the optimistic figure shown on its own (a slide) carried only the optimistic label: the honest scores too
    honest = report["headline"]["mean"]
    assert f"honest (last epoch): UF1 {honest['uf1']:.2f}, UAR {honest['uar']:.2f}" in note
    assert (honest["uf1"], honest["uar"]) != (paper["mean"]["uf1"], paper["mean"]["uar"])  # told apart
    md = (run / "report.md").read_text()
    assert "## Seed 0: per class and confusion matrix (paper, epochs of highest fold F1; optimistic" in md


def test_the_terminal_ci_line_says_it_is_of_the_honest_rows(paper_run):
    # under a table with paper* rows, "95% CI, bootstrap over subjects" read as applying to them too
    from mmnet.report.render import format_results_table

    _, report = paper_run
    table = format_results_table(report)
    assert "paper*" in table
    assert re.search(r"^95% CI of the honest \(last\) rows only, not of paper\*, bootstrap over subjects: Acc % ",
                     table, re.M)


def test_an_interval_that_cannot_be_drawn_is_left_out_with_a_note_and_the_report_is_written(tmp_path):
    # 12 subjects, each holding one of 12 classes: a resample holds every class about once in 18,000 draws
    rows = [{"sample_id": f"d/{s}/0", "dataset": "d", "subject": str(s), "true": s, "pred": s} for s in range(12)]
    ci = bootstrap_ci({"0": pd.DataFrame(rows)}, 12, "subject", resamples=100)
    assert ci["per_seed"] == {} and ci["mean"] is None and "lacked a class" in ci["omitted"]["0"]
    classes = [f"c{c}" for c in range(10)]  # the same with 10: all 10 classes in about one draw of 2,800
    samples = [{**s, "label": classes[int(s["subject"])], "class_index": int(s["subject"])}
               for s in make_samples({str(c): [0] for c in range(10)})]
    run = write_run(tmp_path / "run", samples, lambda seed, e, s: s["class_index"], classes=classes)
    report = build_report(run, figure_formats=("png",), resamples=100)
    subjects = report["headline"]["ci"]["subjects"]
    assert subjects["per_seed"] == {} and "0" in subjects["omitted"]
    assert report["headline"]["per_seed"]["0"]["acc"] == 1.0  # the rest of the report is there
    md = (run / "report.md").read_text()
    assert "| 0 | subjects (10) | not computed |" in md and "No interval over subjects for seed(s) 0: bootstrap:" in md
    assert json.loads((run / "report.json").read_text())["headline"]["ci"]["subjects"]["omitted"]["0"]


def test_every_score_table_row_says_its_selection(paper_run):
    # the paper table had the honest table's header and rows: copied without its heading, nothing marked it
    run, _ = paper_run
    md = (run / "report.md").read_text().splitlines()
    headers = [i for i, line in enumerate(md) if line == "| selection | seed | n | correct | Acc % | UF1 | UAR |"]
    assert len(headers) == 2
    tables = [[line for line in md[i + 2:] if line.startswith("|")][:3] for i in headers]
    for table, cell in zip(tables, ("| last (honest) | ", "| paper* (optimistic) | ")):
        assert len(table) == 3 and all(row.startswith(cell) for row in table)  # seeds 0, 1 and their mean
    assert headers[0] < next(i for i, line in enumerate(md) if line.startswith("## Paper selection")) < headers[1]


def test_percentages_and_scores_round_halves_up_as_a_spreadsheet_does(tmp_path, capsys):
    # 13/32 = 40.625 % was printed 40.62 (the float's half-to-even) while 11/32 = 34.375 % gave 34.38
    from mmnet.report.render import format_metric, format_results_table

    assert (format_metric(13 / 32, True), format_metric(11 / 32, True)) == ("40.63", "34.38")
    from mmnet.report.rounding import half_up

    assert (format_metric(0.00005), format_metric(0.12345), format_metric(1 / 3)) == ("0.0001", "0.1235", "0.3333")
    assert (half_up(-0.125, 2), half_up(0.02, 2, 100, sign=True), half_up(float("nan"), 2)) == ("-0.13", "+2.00", "nan")
    samples = make_samples({str(k): [0, 1, 2, 0, 1, 2, 0, 1] for k in range(1, 5)})  # 32 samples
    right = {s["sample_id"] for s in samples[:13]}
    run = write_run(tmp_path / "run", samples,
                    lambda seed, e, s: s["class_index"] if s["sample_id"] in right else (s["class_index"] + 1) % 3)
    report = build_report(run, resamples=200)
    assert report["headline"]["per_seed"]["0"]["correct"] == 13
    assert "| last (honest) | 0 | 32 | 13 | 40.63 |" in (run / "report.md").read_text()
    assert " 40.63 " in format_results_table(report) and "40.62" not in format_results_table(report)


def test_p_values_and_sweep_cells_round_halves_up_too():
    # format_p(0.125) printed "p = 0.12" beside 0.375's "p = 0.38"; summary.md's interval and chance cells rounded
    # the float's half to even as well
    from mmnet.report.verdict import _cannot_decide, format_p
    from mmnet.train.sweep_summary import _chance_cells, _chance_note

    assert (format_p(0.125), format_p(0.375), format_p(0.00625)) == ("p = 0.13", "p = 0.38", "p = 0.0063")
    assert format_p(0.0496) == "p = 0.0496" and format_p(1e-5) == "p = 1.0e-05"  # the level's side kept
    test = {"distinct_arrangements": 8, "n_subjects": 3, "one_class_subjects": 0, "p_floor": 0.125}
    assert "cannot fall below 0.13," in _cannot_decide(test)
    row = {"setting": "a", "uar_ci_low": 13 / 32, "uar_ci_high": 0.59375, "n_subjects": 20, "uar_mean": 0.5,
           "chance": 1 / 32}
    assert _chance_cells(row)[1] == "[0.4063, 0.5938]"
    assert _chance_note([row])[1].startswith("Chance: UAR 0.0313,")
