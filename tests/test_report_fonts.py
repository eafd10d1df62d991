"""Report figures of subjects named in Chinese or Japanese: DejaVu Sans (matplotlib's own font) has no CJK glyphs,
and their names were drawn as empty boxes without a word. An installed CJK font is now listed after it; without
one, report.md says which names the figures cannot draw and how to fix it. The font list is monkeypatched, so the
tests do not depend on the fonts of the machine."""

from __future__ import annotations

import json

import pytest

from mmnet.report import build_report
from mmnet.report import figure_fonts as ff
from mmnet.report.figures import render_figures

from .fake_runs import make_samples, write_run

LATIN = frozenset(range(0x250))  # ASCII, Latin-1 and Latin Extended: what the fake DejaVu Sans draws
CJK = frozenset(ord(c) for c in "张三李四")


@pytest.fixture
def fonts(monkeypatch):
    """Installs the given fake fonts (family -> code points) in place of the machine's."""
    from matplotlib import font_manager

    dejavu = font_manager.findfont("DejaVu Sans")  # the file matplotlib ships, for the figures that are drawn

    def install(**families):
        charmaps = {f"/fonts/{name}.ttf": chars for name, chars in families.items()}
        charmaps[dejavu] = LATIN
        names = {name.replace("_", " "): f"/fonts/{name}.ttf" for name in families}
        monkeypatch.setattr(ff, "_installed", lambda: {"DejaVu Sans": dejavu, **names})
        monkeypatch.setattr(ff, "_characters", lambda path: charmaps[path])

    return install


def test_an_installed_cjk_font_follows_dejavu_sans_only_where_a_name_needs_it(fonts):
    fonts(WenQuanYi_Zen_Hei=CJK, Noto_Sans_CJK_JP=CJK)
    assert ff.figure_fonts(["s01", "Müller", "张三"]) == (["DejaVu Sans", "Noto Sans CJK JP"], [])
    assert ff.figure_fonts(["s01", "Müller"]) == (["DejaVu Sans"], [])


def test_without_a_font_for_them_the_names_are_returned_undrawable(fonts):
    fonts(WenQuanYi_Zen_Hei=frozenset(ord(c) for c in "张三"))
    assert ff.figure_fonts(["s01", "张三", "李四"]) == (["DejaVu Sans", "WenQuanYi Zen Hei"], ["李四"])


def _cjk_run(tmp_path):
    names = {"张三": "1", "李四": "2", "s03": "3"}
    return write_run(tmp_path / "run", make_samples({"张三": [0, 1, 2], "李四": [1, 2, 0], "s03": [2, 0, 1]}),
                     lambda seed, epoch, s: (s["class_index"] + int(names[s["subject"]] == "1")) % 3, epochs=2)


@pytest.mark.filterwarnings("ignore:Glyph")  # the fake font is not on disk: matplotlib draws DejaVu Sans's boxes
def test_the_figures_name_the_cjk_font_when_one_is_installed(tmp_path, fonts):
    fonts(Noto_Sans_CJK_SC=CJK)
    run = _cjk_run(tmp_path)
    report = build_report(run, figure_formats=["svg"])
    assert "figure_notes" not in report and "Note:" not in (run / "report.md").read_text(encoding="utf-8")
    svg = render_figures(report, ["svg"])["per_subject.svg"].decode()
    assert "font-family: 'DejaVu Sans', 'Noto Sans CJK SC'" in svg


def test_without_a_cjk_font_the_report_says_the_names_are_boxes_and_how_to_fix_it(tmp_path, fonts):
    fonts()
    run = _cjk_run(tmp_path)
    build_report(run, figure_formats=["png"])
    markdown = (run / "report.md").read_text(encoding="utf-8")
    note = next(line for line in markdown.splitlines() if line.startswith("Note: "))
    assert "2 name(s) (" in note and "张三" in note and "李四" in note and "s03" not in note
    assert "empty boxes" in note and "fonts-noto-cjk" in note
    assert "| 张三 |" in markdown  # the tables carry the names
    assert json.loads((run / "report.json").read_text(encoding="utf-8"))["figure_notes"] == [note[len("Note: "):]]


@pytest.fixture
def once(monkeypatch):
    monkeypatch.setattr(ff, "_noted", set())  # the note is logged once a process: each test starts afresh


def _spotted(source: str):
    import numpy as np

    from mmnet.spotting.scores import spot_scores

    micro = np.full(200, 0.1)
    micro[100:112] += np.hanning(12) * 5
    return spot_scores({"micro": micro}, fps=30.0, source=source)


def test_a_spot_timeline_of_a_cjk_name_logs_one_note_not_a_warning_per_glyph(fonts, once, caplog, recwarn):
    from mmnet.spotting.timeline import timeline_png

    fonts()
    with caplog.at_level("WARNING", logger="mmnet.figures"):
        for _ in range(2):  # a server draws many: the note is logged once
            assert timeline_png(_spotted("视频/张三.mp4")).startswith(b"\x89PNG")
    assert not [w for w in recwarn if "Glyph" in str(w.message)]
    (record,) = caplog.records
    assert record.name == "mmnet.figures" and "In the timeline figure, some characters" in record.message
    assert "张三.mp4" in record.message and "fonts-noto-cjk" in record.message


@pytest.mark.filterwarnings("ignore:Glyph")  # the fake font is not on disk: matplotlib draws DejaVu Sans's boxes
def test_a_spot_timeline_draws_a_cjk_name_in_an_installed_cjk_font(fonts, once, caplog, monkeypatch):
    from matplotlib.figure import Figure

    from mmnet.spotting import timeline

    fonts(Noto_Sans_CJK_SC=CJK)
    saved = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: saved.append(fig))
    with caplog.at_level("WARNING", logger="mmnet.figures"):
        timeline.timeline_png(_spotted("张三.mp4"))
    assert not caplog.records
    assert saved[0]._suptitle.get_fontfamily() == ["DejaVu Sans", "Noto Sans CJK SC"]


def test_the_explanation_figure_of_a_cjk_caption_logs_one_note(fonts, once, caplog, recwarn, monkeypatch):
    import dataclasses

    import numpy as np

    from mmnet.infer.explain import Explanation, explanation_png

    fonts()
    face = np.zeros((32, 32, 3), np.uint8)
    e = Explanation(onset=face, apex=face, motion=np.zeros((32, 32)), attention=[np.zeros((32, 32))] * 4,
                    native=[], strides=[2, 4, 8, 16], label="积极", probabilities={"积极": 0.7, "消极": 0.3},
                    source="被试01/微表情", onset_frame=1, apex_frame=5)
    with caplog.at_level("WARNING", logger="mmnet.figures"):
        explanation_png(e)
        explanation_png(dataclasses.replace(e, caption="李四"))
    assert not [w for w in recwarn if "Glyph" in str(w.message)]
    (record,) = caplog.records
    assert "In the explanation figure, some characters" in record.message and "积极" in record.message


def test_figures_drawn_at_once_in_threads_keep_the_glyph_warnings_out(fonts, once, recwarn):
    # mmnet serve draws in a thread pool: with warnings.catch_warnings() per figure, the first figure to finish
    # restored the filters saved before the second began, and the second's glyph warnings came back
    import threading
    import warnings

    from matplotlib.figure import Figure

    fonts()
    both_in, first_out = threading.Barrier(2, timeout=10), threading.Event()

    def draw(first: bool):
        fig = Figure()
        fig.text(0, 0, "张三")
        with ff.fitted_fonts(fig, "the timeline figure", "spot again"):
            both_in.wait()
            if not first:
                assert first_out.wait(10)
                warnings.warn("Glyph 24352 (\\N{CJK UNIFIED IDEOGRAPH-5F20}) missing from font(s) DejaVu Sans.",
                              UserWarning, stacklevel=1)
        if first:
            first_out.set()
        done.append(first)

    done: list[bool] = []
    threads = [threading.Thread(target=draw, args=(first,)) for first in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(done) == [False, True]  # both drew (an error in a thread would leave its figure out)
    assert not [w for w in recwarn if "Glyph" in str(w.message)]
