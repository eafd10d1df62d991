"""The page of `mmnet serve` in a real headless browser (Debian's chromium driven by Playwright):
upload a synthetic clip, see the class and the attention figure; a bad upload shows an error;
a recording shows the timeline and a clicked interval. Skips when chromium or Playwright is absent."""

import json
import os
import re
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.browser_helpers import chromium_session, playwright_or_skip, wait_until

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("av")
sync_api = playwright_or_skip()

from mmnet.infer import Predictor  # noqa: E402
from mmnet.serve import ServeSettings, create_app  # noqa: E402
from tests.serve_helpers import CLASSES, LiveServer, fake_spotter, make_checkpoint, mp4_bytes, synth_frames, zip_bytes  # noqa: E402

DOCS_SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "images" / "serve-page.png"
TIMEOUT_MS = 60_000
SLOW_FRAMES = 20  # a recording of this many frames is spotted slowly: 2 s a frame, until `released` is set
TOO_SHORT = 5  # a recording of at most this many frames is too short for either scale (no threshold)
MICRO_WINDOW = 9  # the frames of the micro-expression window the stand-in says such a recording is shorter than
released = threading.Event()
MODEL_NOTE = "The model was trained on synthetic faces only: its classes mean nothing on real faces."
PERFORMANCE = ("Cross-validated on unseen people: UAR 0.15, UF1 0.11 (chance 0.33; not shown to be above chance by a "
               "permutation test; 3 subjects). Scores are softmax outputs, not calibrated probabilities.")


def spotter_with_timeline():
    """The stand-in spotter, also drawing a timeline figure as the server's own spotter does; slow on a recording
    of SLOW_FRAMES frames, for a job to be replaced, cancelled or followed over a reload while it runs."""
    from mmnet.serve.analysis import png

    inner = fake_spotter()

    def spot(path, progress=None, **kwargs):
        def slowly(done, total):
            if total == SLOW_FRAMES:
                released.wait(2.0)
            progress(done, total)  # raises once the job is deleted: its worker is free

        result = {**inner(path, progress=slowly, **kwargs), "thresholds": {"macro": None, "micro": 0.6},
                  "timeline": png(np.full((40, 120, 3), 200, np.uint8))}
        if result["frames"] <= TOO_SHORT:  # as the real spotter says it (spotting.peaks), API wording included
            from mmnet.spotting.peaks import PREDICT_INSTEAD

            result["thresholds"] = {"macro": None, "micro": None}
            result["notes"] = [f"the recording ({result['frames']} frames) is shorter than the micro-expression "
                               f"window ({MICRO_WINDOW} frames at 30 fps): no micro-expression can be spotted; for a "
                               "single micro-expression clip " + PREDICT_INSTEAD]
        return result

    return spot


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    checkpoint = make_checkpoint(tmp_path_factory.mktemp("browser") / "model")
    predictor = Predictor.from_checkpoint(checkpoint)
    info = {"name": "tiny test model", "summary": "Trained on synthetic faces (mmnet demo): for trying this page "
            "only. Its predictions mean nothing on real faces.", "synthetic": True, "note": MODEL_NOTE,
            "performance": {"line": PERFORMANCE}}
    app = create_app(predictor, model_info=info, settings=ServeSettings(), spotter=spotter_with_timeline())
    with LiveServer(app) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    yield from chromium_session(sync_api)


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 1200})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())  # the page asks before leaving a running analysis: leave
    page.goto(server.url + "/")
    sync_api.expect(page.locator("#model-text")).to_contain_text("classes")  # a locator: the page's CSP forbids eval
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_the_model_panel_leads_with_the_title_in_words(page, server):
    # it was titled with a folder path ("seed-0/fold-casme2_02/model")
    with urllib.request.urlopen(server.url + "/api/model") as answer:
        model = json.load(answer)
    text = page.inner_text("#model-text")
    assert model["title"] and text.startswith(f"{model['title']} (folder {model['name']})"), text
    # how far its scores go: the model's cross-validation, said beside what it was trained on
    assert page.inner_text("#model-performance") == PERFORMANCE


def test_upload_a_clip_shows_class_probabilities_and_attention(page, tmp_path):
    clip = tmp_path / "synthetic clip.mp4"
    clip.write_bytes(mp4_bytes(synth_frames(n=14, apex=7, size=(96, 112))))
    assert page.is_visible("#model-warning") and "synthetic" in page.inner_text("#model-warning")
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#clip-result .label", timeout=TIMEOUT_MS)
    label = page.inner_text("#clip-result .label")
    assert label in CLASSES
    assert page.locator("#clip-result svg.bars rect.bar").count() == len(CLASSES)
    # a score (softmax output, not a calibrated probability), in one format everywhere (not "p = 0.90")
    assert re.fullmatch(r"\(score (\d+|< 1) %\)", page.inner_text("#clip-result .verdict .p"))
    # what the model's classes are worth, under the class (and not again in the clip's warnings)
    assert page.inner_text("#clip-result .model-note") == MODEL_NOTE
    assert MODEL_NOTE not in page.inner_text("#clip-result")[page.inner_text("#clip-result").index(MODEL_NOTE) + 1:]
    # the result is said, and focus goes to it
    score = page.inner_text("#clip-result .verdict .p")[len("(score "):-1]
    sync_api.expect(page.locator("#status")).to_have_text(f"Result ready: {label}, score {score}")
    assert page.evaluate("document.activeElement.id") == "result-heading"
    bar_texts = page.locator("#clip-result svg.bars text").all_text_contents()[1::2]
    assert all(re.fullmatch(r"(\d+|< 1) %", t) for t in bar_texts), bar_texts
    # the chart's words for screen readers: each class and its percentage, not only "class probabilities"
    bar_names = page.locator("#clip-result svg.bars text").all_text_contents()[0::2]
    assert page.get_attribute("#clip-result svg.bars", "aria-label") == "Class scores: " + ", ".join(
        f"{name} {p}" for name, p in zip(bar_names, bar_texts))
    wait_until(page, "document.querySelector('#clip-result img.attention').naturalWidth > 300",
               timeout_ms=TIMEOUT_MS)
    for crop in ("onset", "apex"):
        wait_until(page, f"document.querySelector('#clip-result img.{crop}').naturalWidth > 0")
    # the figure's words as text: what the image shows for this clip, the model's caveat, a link to full size
    figure = page.locator("#clip-result .attention-figure")
    assert figure.locator("img").get_attribute("alt") == (
        f"Figure for synthetic clip.mp4 (predicted {label}): onset, apex, motion and the Grad-CAM map of {label} "
        f"(class-specific but coarse) above; below, the attention gates of four stages of the motion branch, the "
        f"same for every class (not evidence for {label})")
    assert figure.locator("a").get_attribute("href") == figure.locator("img").get_attribute("src")
    with urllib.request.urlopen(page.url.split("#")[0] + "api/model") as answer:  # the address names the job
        caption = json.load(answer)["caption"]
    assert caption and caption in figure.locator("figcaption").inner_text()
    # the class colour in a swatch beside the name, the name in the text colour (orange on white is unreadable)
    colours = page.evaluate("""() => {
      const css = (selector, property) => getComputedStyle(document.querySelector(selector))[property];
      return [css('#clip-result .label', 'color'), css('body', 'color'),
              css('#clip-result .swatch', 'backgroundColor'),
              document.querySelector(`#clip-result svg.bars rect.bar[data-class="${CSS.escape(
                document.querySelector('#clip-result .label').textContent)}"]`).getAttribute('fill')]}""")
    label_colour, text_colour, swatch, class_colour = colours
    assert label_colour == text_colour
    assert swatch == "rgb({}, {}, {})".format(*(int(class_colour[i:i + 2], 16) for i in (1, 3, 5)))
    assert "synthetic clip.mp4" in page.inner_text("#result-name")
    notes = page.locator("#clip-result ul.clip-warnings li")  # what the result cannot vouch for
    assert notes.count() == 1 and notes.inner_text().startswith("Input not checked for a face")
    after_class = "document.querySelector('#clip-result .verdict').nextElementSibling.className"
    assert "clip-warnings" in page.evaluate(after_class)  # under the class, not at the foot of the page
    assert page.get_attribute("#dl-csv", "href").endswith("format=csv&bom=1")  # the BOM: Excel reads it as UTF-8
    shot = tmp_path / "serve-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("MMNET_UPDATE_SCREENSHOT"):
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_SCREENSHOT)


def test_a_still_clip_shows_each_note_on_its_own_line(page, tmp_path):
    still = tmp_path / "still.zip"  # the same frame three times: the motion is zero by construction
    still.write_bytes(zip_bytes(np.stack([synth_frames(size=(96, 112))[0]] * 3)))
    page.set_input_files("#file", str(still))
    page.wait_for_selector("#clip-result ul.clip-warnings li", timeout=TIMEOUT_MS)
    notes = page.locator("#clip-result ul.clip-warnings li").all_inner_texts()
    assert len(notes) == 2, notes
    assert notes[0].startswith("The onset and apex frames are identical") and "zero by construction" in notes[0]
    assert notes[1].startswith("Input not checked for a face") and "whoever runs this server" in notes[1]


def test_a_bad_upload_shows_an_error(page, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is a shopping list, not a video")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
    text = page.inner_text("#error")
    assert "neither a video" in text and "Traceback" not in text
    assert page.is_hidden("#result")


def _recording(tmp_path, name: str):
    """A short synthetic recording in which the test spotter finds two intervals, and the page set to take one."""
    recording = tmp_path / name
    recording.write_bytes(mp4_bytes(synth_frames(n=30, apex=18, size=(96, 112), seed=2)))
    return recording


def _upload_recording(page, tmp_path, name: str) -> None:
    page.check("input[name=mode][value=recording]")
    page.set_input_files("#file", str(_recording(tmp_path, name)))


def test_a_recording_shows_the_timeline_and_a_clicked_interval(page, tmp_path):
    _upload_recording(page, tmp_path, "session.mp4")
    page.wait_for_selector("#timeline rect.interval", timeout=TIMEOUT_MS)
    assert page.locator("#timeline rect.interval").count() == 2
    assert page.locator("#timeline path").count() == 1  # the motion curve
    page.locator("#timeline rect.interval").nth(1).click(force=True)  # a macro-expression: shown, not classified
    wait_until(page, "document.querySelector('#interval-detail h3').textContent.startsWith('Interval 2')")
    assert page.inner_text("#interval-detail .label") == "not classified"
    assert "trained on micro-expressions" in page.inner_text("#interval-detail .attention-note")
    # the JSON and CSV are the whole recording's, named after it, whichever interval is shown
    assert page.get_attribute("#dl-json", "download") == "session.json"
    assert page.get_attribute("#dl-csv", "download") == "session.csv"
    with page.expect_download() as csv_download:  # the name the browser saves, whatever the server's header says
        page.click("#dl-csv")
    assert csv_download.value.suggested_filename == "session.csv"
    assert Path(csv_download.value.path()).read_bytes().startswith(b"\xef\xbb\xbfsource,")
    timeline_link = page.locator("#dl-png a[download='session-timeline.png']")
    assert timeline_link.count() == 1
    fetched = page.evaluate("fetch(document.querySelector(\"#dl-png a[download='session-timeline.png']\").href)"
                            ".then(r => r.status + ' ' + r.headers.get('content-type'))")
    assert fetched == "200 image/png"
    page.locator("#intervals tbody tr").nth(0).click()  # the micro-expression, from the table
    wait_until(page, "document.querySelector('#interval-detail h3').textContent.startsWith('Interval 1')")
    assert page.inner_text("#interval-detail .label") in CLASSES
    wait_until(page, "document.querySelector('#interval-detail img.attention').naturalWidth > 300",
               timeout_ms=TIMEOUT_MS)
    assert page.get_attribute("#dl-json", "download") == "session.json"
    names = [a.get_attribute("download") for a in page.locator("#dl-png a").all()]
    assert names == ["session-timeline.png", "session-interval-1-attention.png"]
    page.screenshot(path=str(tmp_path / "serve-recording.png"), full_page=True)


def test_the_page_works_from_the_keyboard(page, tmp_path):
    recording = _recording(tmp_path, "keys.mp4")
    assert page.locator("#mode legend").count() == 1
    assert page.get_by_role("progressbar", name="Progress of the analysis", include_hidden=True).count() == 1
    # the native file input is the control (no focusable drop zone around it): Tab reaches it, Enter opens it
    assert page.eval_on_selector("#file", "input => input.tabIndex") == 0
    assert page.evaluate("['role', 'tabindex', 'aria-label'].filter((a) => document.getElementById('drop')"
                         ".hasAttribute(a))") == []
    assert page.evaluate("document.getElementById('file').labels[0].textContent") == "choose a file"  # as shown
    page.check("input[name=mode][value=recording]")
    page.focus("input[name=mode][value=recording]")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "file"
    outline = "getComputedStyle(document.querySelector('label[for=file]')).outlineStyle"
    assert page.evaluate(outline) == "solid"  # its focus is shown on the visible button, its label
    # Enter and Space open the file dialogue (counted here rather than opened: Playwright's file chooser event
    # misses about one keyboard press in two in headless chromium)
    page.evaluate("document.getElementById('file').addEventListener('click', (e) => {"
                  " e.preventDefault(); window.fileDialogues = (window.fileDialogues || 0) + 1; })")
    page.keyboard.press("Enter")
    page.keyboard.press(" ")
    assert page.evaluate("window.fileDialogues") == 2
    page.set_input_files("#file", str(recording))
    page.wait_for_selector("#intervals tbody tr", timeout=TIMEOUT_MS)
    buttons = page.locator("#intervals tbody tr button")
    assert buttons.all_inner_texts() == ["Interval 1", "Interval 2"]
    assert [buttons.nth(k).get_attribute("aria-pressed") for k in range(2)] == ["true", "false"]
    # one tab stop per interval: the rows and the timeline's bands are not reached by Tab
    assert page.locator("#intervals tbody tr[tabindex], #intervals tbody tr[aria-selected]").count() == 0
    assert page.evaluate("[...document.querySelectorAll('#timeline rect.interval')].map((band) =>"
                         " [band.tabIndex, band.getAttribute('aria-hidden')])") == [[-1, "true"], [-1, "true"]]
    assert page.get_attribute("#timeline", "role") == "img"
    label = page.get_attribute("#timeline", "aria-label")  # then the curves and thresholds in words
    assert label.startswith("Motion over time; 2 intervals, listed in the table below; ") and "threshold" in label
    buttons.nth(0).focus()
    page.keyboard.press("Tab")  # to the second interval's button
    assert page.evaluate("document.activeElement.textContent") == "Interval 2"
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#interval-detail h3")).to_have_text(re.compile("^Interval 2"))
    assert [buttons.nth(k).get_attribute("aria-pressed") for k in range(2)] == ["false", "true"]
    sync_api.expect(page.locator("#status")).to_have_text("Interval 2 shown below the table: macro, not classified")
    page.keyboard.press("Shift+Tab")  # back to the first, by Space
    page.keyboard.press(" ")
    sync_api.expect(page.locator("#interval-detail h3")).to_have_text(re.compile("^Interval 1"))
    assert buttons.nth(0).get_attribute("aria-pressed") == "true"
    assert page.locator("#intervals tbody tr.selected").count() == 1


LIVE = "[aria-live], [role=status], [role=alert], [role=log]"


def test_progress_is_said_by_stage_not_at_every_event(page, tmp_path):
    recording = _recording(tmp_path, "said.mp4")
    page.evaluate("""() => {  // every sentence of the status region
      window.said = [];
      const status = document.getElementById('status');
      new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach((n) => said.push(n.textContent))))
        .observe(status, { childList: true });
    }""")
    page.check("input[name=mode][value=recording]")
    page.set_input_files("#file", str(recording))
    page.wait_for_selector("#intervals tbody tr", timeout=TIMEOUT_MS)
    # the progress line changes at every event, but is in no live region: it is not read out at each change
    assert page.evaluate(f"document.getElementById('progress-text').closest('{LIVE}')") is None
    assert page.evaluate(f"document.querySelectorAll('{LIVE}').length") == page.locator(
        "#status, #error, #download-error").count()  # the page's live regions: the status and the two errors
    # (which of the server's stages the page sees depends on its speed: events carry only the latest one)
    said = [text.strip() for text in page.evaluate("said") if text.strip()]
    assert said[0] == "Uploading" and said[-1].startswith("Result ready: 2 intervals found"), said
    assert "done" not in said, said  # the end is said by the result
    assert not any(re.search(r"frame \d+|\d+ of \d+", text) for text in said), said  # stages, not each event
    assert len(said) == len(set(said)), said  # each said once
    # a stage of 101 events (4 a second from the server): its name, then a percentage once per quarter
    page.evaluate("said.length = 0; for (let i = 0; i <= 100; i++)"
                  " progress(i / 100, `Looking for expressions: frame ${i}`, 'Looking for expressions', i / 100)")
    assert [text.strip() for text in page.evaluate("said")] == ["Looking for expressions"] + [
        f"Looking for expressions: {p} % done" for p in (25, 50, 75, 100)]


def test_a_resized_page_keeps_the_interval_shown_and_the_focus(page, tmp_path):
    _upload_recording(page, tmp_path, "resized.mp4")
    page.wait_for_selector("#intervals tbody tr button", timeout=TIMEOUT_MS)
    second = page.locator("#intervals tbody tr button").nth(1)
    second.focus()
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#interval-detail h3")).to_have_text(re.compile("^Interval 2"))
    drawn = page.get_attribute("#timeline", "viewBox")
    page.set_viewport_size({"width": 800, "height": 1200})  # the timeline is drawn again, to the new width
    sync_api.expect(page.locator("#timeline")).not_to_have_attribute("viewBox", drawn)  # a locator: CSP forbids eval
    assert page.evaluate("[...document.querySelectorAll('#timeline rect.interval')].map((band) =>"
                         " band.classList.contains('selected'))") == [False, True]
    assert page.evaluate("document.activeElement.textContent") == "Interval 2"
    # the bands outlined (pale on the plot without), the one shown thicker; its row marked by more than a tint
    assert page.evaluate("[...document.querySelectorAll('#timeline rect.interval')].map((band) =>"
                         " getComputedStyle(band).strokeWidth)") == ["1.5px", "3px"]
    assert page.eval_on_selector("#intervals tbody tr.selected", "row => getComputedStyle(row).fontWeight") == "600"
    assert "inset" in page.eval_on_selector("#intervals tbody tr.selected td",
                                            "cell => getComputedStyle(cell).boxShadow")


def test_the_model_panel_is_quiet_and_a_silent_server_is_said(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.route("**/api/model", lambda route: route.abort())
    page.goto(server.url + "/")
    sync_api.expect(page.locator("#status")).to_have_text(re.compile("^The server does not answer"))
    assert page.get_attribute("#model", "aria-live") is None  # read once, by whoever goes there, not over the page
    context.close()


def test_an_unavailable_mode_says_why(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.route("**/api/model", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({"classes": CLASSES, "spotting": False})))
    page.goto(server.url + "/")
    sync_api.expect(page.locator("#mode-recording")).to_be_disabled()
    sync_api.expect(page.locator("#mode-recording")).to_have_accessible_description(
        re.compile("not available on this server"))
    context.close()


def clock_of(seconds: float) -> str:
    """m:ss.mmm of a duration under an hour, as the page writes it."""
    return f"{int(seconds // 60)}:{seconds % 60:06.3f}"


def recording_zip(tmp_path, name, n=30):
    path = tmp_path / name
    path.write_bytes(zip_bytes(synth_frames(n=n, apex=min(18, n - 1), size=(96, 112), seed=2)))
    return path


def test_a_recording_table_gives_seconds_score_and_probability(page, tmp_path):
    page.check("input[name=mode][value=recording]")
    page.click("#options summary")
    page.fill("#fps", "29.97002997002997")
    page.set_input_files("#file", str(recording_zip(tmp_path, "frames.zip")))
    page.wait_for_selector("#intervals tbody tr", timeout=TIMEOUT_MS)
    assert page.locator("#intervals caption").inner_text() == "Intervals found"
    assert page.locator("#intervals thead th").all_text_contents() == [  # as read: "#" is "# interval"
        "# interval", "onset", "apex", "offset", "time (m:ss.mmm)", "type", "motion peak", "class", "class score"]
    rows = [page.locator("#intervals tbody tr").nth(k).locator("td").all_inner_texts() for k in range(2)]
    from mmnet.spotting.intervals import seek_time

    fps = 29.97002997002997  # a zip's first frame is img1: seconds count from it, as `mmnet spot` prints them
    # from the onset frame's start to the offset frame's end, rounded up to the ms as written (onset_s to end_s)
    # as a player's clock, m:ss.mmm (134.267 s would be 2:14.267)
    assert rows[0][:7] == ["Interval 1", "3", "6", "9", f"0:{seek_time(2 / fps):06.3f}–0:{seek_time(9 / fps):06.3f}",
                           "micro", "0.500"]
    assert rows[0][7] in CLASSES and re.fullmatch(r"(\d+|< 1) %", rows[0][8])
    # an interval without a class says why in its row, not with blank cells
    assert rows[1][4:] == [f"0:{seek_time(14 / fps):06.3f}–0:{seek_time(26 / fps):06.3f}", "macro", "0.500",
                           "not classified", "a macro-expression (the model learnt micro-expressions)"]
    assert page.evaluate("[clock(134.267), clock(3725.5), clock(59.9996), clock(61, 0)]") == [
        "2:14.267", "1:02:05.500", "1:00.000", "1:01"]
    ticks = page.locator("#timeline text[text-anchor=middle]").all_text_contents()  # the time axis: 0:00.0 ...
    assert ticks[0] == "0:00.0" and all(re.fullmatch(r"0:0\d\.\d", t) for t in ticks), ticks
    assert f"({clock_of(30 / fps)} at 29.97 frames per second)" in page.inner_text("#recording-summary")
    legend = page.inner_text("#legend")
    assert "not classified" in legend and "µ: micro-expression, M: macro-expression" in legend
    assert "threshold" in legend and page.locator("#timeline line.threshold").count() == 1
    assert page.locator("#timeline text.axis-label").text_content() == "motion"
    labels = page.locator("#timeline rect.interval title").all_text_contents()  # the bands' tooltips
    assert "?" not in labels[1] and "macro, not classified" in labels[1]


def test_a_recording_without_intervals_says_so(page, tmp_path):
    page.check("input[name=mode][value=recording]")
    page.click("#options summary")
    page.fill("#fps", "30")
    page.set_input_files("#file", str(recording_zip(tmp_path, "short.zip", n=8)))  # the stand-in finds none
    page.wait_for_selector("#recording-result:not([hidden])", timeout=TIMEOUT_MS)
    assert page.inner_text("#recording-summary").startswith("No micro- or macro-expression was found in 8 frames")
    assert page.is_hidden("#interval-hint") and page.is_hidden("#intervals")


def test_a_narrow_screen_scrolls_the_table_not_the_page(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(server.url + "/")
    page.check("input[name=mode][value=recording]")
    page.click("#options summary")
    page.fill("#fps", "30")
    page.set_input_files("#file", str(recording_zip(tmp_path, "narrow.zip")))
    page.wait_for_selector("#intervals tbody tr", timeout=TIMEOUT_MS)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth,"
                           " document.querySelector('.table-scroll').scrollWidth,"
                           " document.querySelector('.table-scroll').clientWidth]")
    context.close()
    page_width, window_width, table_width, box_width = widths
    assert page_width <= window_width, widths  # the page does not scroll sideways
    assert table_width > box_width, widths  # the table does, in its box


def test_the_drop_note_fits_the_mode(page):
    assert "face only" in page.inner_text("#drop-note")
    page.check("input[name=mode][value=recording]")
    note = page.inner_text("#drop-note")
    assert "face only" not in note and "finds the face" in note
    assert re.search(r"Results can be downloaded for 30 minutes", note)


def drop(page, names):
    """Drop files of these names on the page's body (not on the drop zone): whether the page kept the drop."""
    return page.evaluate("""(names) => {
      const files = new DataTransfer();
      for (const name of names) files.items.add(new File(["not a video"], name));
      const event = new DragEvent("drop", { dataTransfer: files, bubbles: true, cancelable: true });
      document.querySelector("header").dispatchEvent(event);
      return event.defaultPrevented;
    }""", names)


def test_a_file_dropped_anywhere_stays_on_the_page(page):
    assert drop(page, ["a.mp4", "b.mp4"])  # the browser does not open the files in place of the page
    assert "2 files were dropped: the page analyses one file at a time" in page.inner_text("#note")
    assert page.inner_text("#status").startswith("2 files were dropped")  # said, not only shown
    assert page.is_hidden("#progress") and page.is_hidden("#error")
    assert drop(page, ["notes.mp4"])  # one file, dropped outside the drop zone: analysed
    page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
    assert "neither a video" in page.inner_text("#error")


def test_the_page_has_its_own_icon(page):
    # an icon of the page itself (a data: URL, as the Content-Security-Policy allows): no request for
    # /favicon.ico, which the server does not have (404)
    icon = page.get_attribute("link[rel=icon]", "href")
    assert icon.startswith("data:image/svg+xml,")


def test_an_expired_result_says_so_when_downloaded(page, server, tmp_path):
    recording = _recording(tmp_path, "gone.mp4")
    page.check("input[name=mode][value=recording]")
    with page.expect_response("**/api/recordings") as posted:
        page.set_input_files("#file", str(recording))
    page.wait_for_selector("#timeline rect.interval", timeout=TIMEOUT_MS)
    job_id = posted.value.json()["id"]
    urllib.request.urlopen(urllib.request.Request(f"{server.url}/api/jobs/{job_id}", method="DELETE")).close()
    page.click("#dl-csv")
    page.wait_for_selector("#download-error:not([hidden])")
    text = page.inner_text("#download-error")
    assert text.startswith("gone.csv could not be downloaded.") and "Analyse the file again" in text
    assert "gone.mp4 was deleted" in text and job_id not in text  # its file named, not its id


def running(page):
    """Wait until the page shows a recording's job running."""
    sync_api.expect(page.locator("#progress-text")).to_have_text(re.compile("^Looking for expressions"),
                                                                 timeout=TIMEOUT_MS)


def start_slow_recording(page, path):
    """Upload a recording spotted slowly and wait until its job runs: the job's id."""
    path.write_bytes(mp4_bytes(synth_frames(n=SLOW_FRAMES, apex=10, size=(96, 112), seed=3)))
    page.check("input[name=mode][value=recording]")
    with page.expect_response("**/api/recordings") as posted:
        page.set_input_files("#file", str(path))
    running(page)
    return posted.value.json()["id"]


def job_status(server, job_id):
    """The job's status on the server, or the sentence of its 404."""
    try:
        with urllib.request.urlopen(f"{server.url}/api/jobs/{job_id}") as answer:
            return json.load(answer)["status"]
    except urllib.error.HTTPError as gone:
        return json.load(gone)["error"]


def test_a_new_upload_stops_following_the_previous_job(page, server, tmp_path):
    old = start_slow_recording(page, tmp_path / "slow.mp4")
    recording = _recording(tmp_path, "next.mp4")
    page.set_input_files("#file", str(recording))
    # one worker for recordings: the new job runs only once the old one is deleted, not 40 s later
    page.wait_for_selector("#timeline rect.interval", timeout=20_000)
    assert "next.mp4" in page.inner_text("#result-name")
    assert job_status(server, old) == f"Job {old} was deleted."
    page.wait_for_timeout(2500)  # the old job's events, had they still been followed, would have come by now
    assert "next.mp4" in page.inner_text("#result-name") and page.is_hidden("#progress")
    assert page.locator("#timeline rect.interval").count() == 2


def test_cancel_and_reload_a_running_recording(page, server, tmp_path):
    job_id = start_slow_recording(page, tmp_path / "slow.mp4")
    assert page.evaluate("localStorage.getItem('mmnet-job')") == job_id  # kept over a reload
    page.reload()  # the page follows the job again
    running(page)
    assert page.evaluate("localStorage.getItem('mmnet-job')") == job_id
    page.get_by_role("button", name="Cancel").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#note:not([hidden])")
    assert page.inner_text("#note").startswith("Cancelled")
    assert page.inner_text("#status").startswith("Cancelled")  # said, as the note appears where nothing was
    assert page.evaluate("document.activeElement.id") == "file"  # not dropped to the page's body
    assert page.is_hidden("#progress") and page.is_hidden("#error") and page.is_hidden("#result")
    assert page.evaluate("localStorage.getItem('mmnet-job')") is None
    assert job_status(server, job_id) == f"Job {job_id} was deleted."
    page.evaluate(f"localStorage.setItem('mmnet-job', '{job_id}')")  # a reload after the job is gone says so
    page.reload()
    page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
    assert f"Job {job_id} was deleted." in page.inner_text("#error")


def test_a_reload_shows_the_result_of_the_job_it_followed(page, tmp_path):
    job_id = start_slow_recording(page, tmp_path / "slow.mp4")
    page.reload()
    running(page)
    released.set()  # the job finishes while the reloaded page follows it
    try:
        page.wait_for_selector("#timeline rect.interval", timeout=TIMEOUT_MS)
    finally:
        released.clear()
    assert "slow.mp4" in page.inner_text("#result-name") and page.is_hidden("#progress")
    page.evaluate(f"localStorage.setItem('mmnet-job', '{job_id}')")  # a job done before the reload: its result
    page.reload()
    page.wait_for_selector("#timeline rect.interval", timeout=TIMEOUT_MS)
    assert "slow.mp4" in page.inner_text("#result-name")


@pytest.mark.parametrize("path, operation", [("/docs", ".opblock-summary-path"), ("/redoc", "[id^='operation/']")])
def test_the_api_docs_render_without_another_site(browser, server, path, operation):
    pytest.importorskip("fastapi_offline")
    context = browser.new_context()
    elsewhere = []

    def only_here(route):  # as on a computer without a network: any other host is unreachable
        if route.request.url.startswith(server.url):
            return route.continue_()
        elsewhere.append(route.request.url)
        return route.abort()

    context.route("**/*", only_here)
    page = context.new_page()
    page.goto(server.url + path)
    page.wait_for_selector(operation, timeout=TIMEOUT_MS)
    assert "/api/recordings" in page.inner_text("body")
    assert "Unable to render" not in page.inner_text("body")
    context.close()
    assert elsewhere == []


def test_the_analysis_fills_the_second_half_of_the_progress_bar(page, tmp_path):
    start_slow_recording(page, tmp_path / "slow.mp4")
    assert page.eval_on_selector("#progress-bar", "bar => bar.value") >= 0.5  # the upload filled the first half
    page.get_by_role("button", name="Cancel").click()


def test_a_server_that_stops_answering_is_said_and_the_controls_come_back(page, server, tmp_path):
    job_id = start_slow_recording(page, tmp_path / "slow.mp4")
    page.route("**/api/jobs/**", lambda route: route.abort())  # as if the server had stopped
    page.goto(server.url + "/")  # the page follows the job again: the mode is a recording's
    # set once the model is described (/api/model), which can answer after the page's load event: waited for
    sync_api.expect(page.locator("input[name=mode][value=recording]")).to_be_checked()
    page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)  # the events fail, then the polling
    assert page.inner_text("#error").startswith("The server does not answer.")
    assert page.is_hidden("#progress")
    assert page.evaluate("localStorage.getItem('mmnet-job')") == job_id  # a reload follows it once it answers
    page.unroute("**/api/jobs/**")
    page.reload()
    running(page)
    page.route("**/api/jobs/*/result", lambda route: route.abort())  # the server stops as the job ends
    page.get_by_role("button", name="Cancel").focus()
    released.set()
    try:
        page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
    finally:
        released.clear()
    assert page.inner_text("#error").startswith("The server does not answer.")
    assert page.evaluate("document.activeElement.id") == "file"  # not lost with the hidden Cancel button
    assert page.is_hidden("#progress") and page.is_hidden("#result")


def test_a_server_that_stops_says_the_analysis_is_lost(page, server, tmp_path):
    from mmnet.serve.jobs import SERVER_STOPPING

    job_id = start_slow_recording(page, tmp_path / "slow.mp4")
    # what a stopping server sends as a job's last event (tests/test_serve_shutdown.py), then it is gone
    last = {"id": job_id, "kind": "recording", "name": "slow.mp4", "status": "failed", "progress": None,
            "stage": "Stopped", "error": SERVER_STOPPING}
    page.route("**/api/jobs/*/events", lambda route: route.fulfill(
        status=200, headers={"Content-Type": "text/event-stream"}, body=f"data: {json.dumps(last)}\n\n"))
    page.route("**/api/jobs/**", lambda route: route.abort() if "/events" not in route.request.url
               else route.fallback())
    try:
        page.reload()  # the page follows the job again, by its events
        page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
        assert page.inner_text("#error") == SERVER_STOPPING  # not "The server does not answer"
        assert page.is_hidden("#progress") and page.evaluate("localStorage.getItem('mmnet-job')") is None
    finally:
        page.unroute("**/api/jobs/**")
        urllib.request.urlopen(urllib.request.Request(f"{server.url}/api/jobs/{job_id}", method="DELETE")).close()


def test_the_time_left_is_shown_but_not_read_out(page, server, tmp_path):
    # a 20-minute recording gave a percentage and no idea of when it would end
    job_id = start_slow_recording(page, tmp_path / "slow.mp4")
    states = [{"id": job_id, "kind": "recording", "name": "slow.mp4", "status": "running", "progress": p,
               "eta_s": eta, "stage": f"Looking for expressions: frame {k} of {SLOW_FRAMES}"}
              for k, (p, eta) in enumerate([(0.3, None), (0.4, 185.0), (0.45, 30.0)], start=6)]
    sent = states[:2]  # as events, then the last as the state polled once they end
    page.route("**/api/jobs/*/events", lambda route: route.fulfill(
        status=200, headers={"Content-Type": "text/event-stream"},
        body="".join(f"data: {json.dumps(state)}\n\n" for state in sent)))
    page.route(f"**/api/jobs/{job_id}", lambda route: route.fulfill(status=200, json=sent[-1]))
    try:
        page.reload()  # the page follows the job again, by these events
        sync_api.expect(page.locator("#progress-text")).to_have_text(
            "Looking for expressions: frame 7 of 20 (40 % of the analysis, about 3 min left)", timeout=TIMEOUT_MS)
        said = page.inner_text("#status")
        assert "left" not in said and "min" not in said, said  # the status region says stages and quarters only
        sent = states[2:]
        page.reload()
        sync_api.expect(page.locator("#progress-text")).to_have_text(
            "Looking for expressions: frame 8 of 20 (45 % of the analysis, less than a minute left)",
            timeout=TIMEOUT_MS)
    finally:
        page.unroute("**/api/jobs/*/events")
        page.unroute(f"**/api/jobs/{job_id}")
        urllib.request.urlopen(urllib.request.Request(f"{server.url}/api/jobs/{job_id}", method="DELETE")).close()


def test_a_permuted_label_models_note_is_the_panels_warning(browser, tmp_path):
    # the panel warned only on synthetic faces: a permuted-label control (or a model of unknown data) said nothing
    note = "The model was trained with permuted labels (a control): its classes are chance by design."
    predictor = Predictor.from_checkpoint(make_checkpoint(tmp_path / "model"))
    info = {"name": "control", "synthetic": False, "permuted_labels": True, "note": note}
    with LiveServer(create_app(predictor, model_info=info, settings=ServeSettings(),
                               spotter=spotter_with_timeline())) as live:
        context = browser.new_context()
        page = context.new_page()
        page.goto(live.url + "/")
        sync_api.expect(page.locator("#model-warning")).to_have_text(note)
        assert not page.is_visible("#model-performance")  # nothing recorded, nothing shown
        context.close()
