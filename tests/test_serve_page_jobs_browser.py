"""The page of `mmnet serve` with long recordings, in a real headless browser: a job outlives its tab (a new tab of
the same browser follows it, the page asks before leaving it), a job waiting for a worker says whose job it waits
for, an upload over the limit is refused before it is sent, a recording too short to search says so first. Reuses
test_serve_browser's server (one worker for recordings, a slow stand-in spotter). Skips without chromium."""

import re
from pathlib import Path

import pytest

from tests.browser_helpers import playwright_or_skip, wait_until

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("av")
sync_api = playwright_or_skip()

import httpx  # noqa: E402

from tests import test_serve_browser as shared  # noqa: E402
from tests.serve_helpers import mp4_bytes, synth_frames  # noqa: E402
from tests.test_serve_browser import (  # noqa: E402
    MICRO_WINDOW,
    SLOW_FRAMES,
    TIMEOUT_MS,
    TOO_SHORT,
    _recording,
    job_status,
    recording_zip,
    running,
    start_slow_recording,
)

# its fixtures: the server (one worker for recordings, a slow stand-in spotter), the browser, a page on the server
server, browser, page = shared.server, shared.browser, shared.page


def open_tab(context, server):
    """Another tab of the same browser (its localStorage shared), on the page."""
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.goto(server.url + "/")
    sync_api.expect(tab.locator("#model-text")).to_contain_text("classes")
    return tab


def test_a_new_tab_follows_the_job_of_a_closed_tab(page, server, tmp_path):
    job_id = start_slow_recording(page, tmp_path / "slow.mp4")
    # leaving asks first (the browser's own words): the page cancels the beforeunload event
    assert page.evaluate("(() => { const e = new Event('beforeunload', {cancelable: true}); "
                         "window.dispatchEvent(e); return e.defaultPrevented; })()")
    context = page.context
    page.close()  # the tab closed while its recording is analysed: the job runs on
    tab = open_tab(context, server)
    running(tab)  # followed again, as a reload follows it
    assert tab.evaluate("localStorage.getItem('mmnet-job')") == job_id
    tab.click("#cancel")
    tab.wait_for_selector("#note:not([hidden])")
    assert job_status(server, job_id) == f"Job {job_id} was deleted."
    assert tab.evaluate("localStorage.getItem('mmnet-job')") is None
    # nothing to leave once it ended: no question
    assert not tab.evaluate("(() => { const e = new Event('beforeunload', {cancelable: true}); "
                            "window.dispatchEvent(e); return e.defaultPrevented; })()")


def test_a_waiting_job_says_whose_job_it_waits_for(page, server, tmp_path):
    other = open_tab(page.context, server)  # a second tab, open before the first one's job starts
    slow = start_slow_recording(page, tmp_path / "slow.mp4")
    other.check("input[name=mode][value=recording]")
    other.set_input_files("#file", str(_recording(tmp_path, "next.mp4")))
    other.wait_for_selector("#cancel-other:not([hidden])", timeout=TIMEOUT_MS)
    assert "an analysis started in this browser, of slow.mp4" in other.inner_text("#waiting-text")
    assert other.inner_text("#cancel-other") == "Cancel the analysis of slow.mp4"
    # the wait and its button are said with the stage, not only shown
    sync_api.expect(other.locator("#status")).to_have_text(
        "Waiting: another analysis is running. It waits for an analysis started in this browser, of slow.mp4 (in "
        "another tab, or in a tab closed since): cancel that one to start this one now.")
    other.evaluate("window.focused = []; document.addEventListener('focusin', (e) => focused.push(e.target.id))")
    other.focus("#cancel-other")
    other.keyboard.press("Enter")
    other.wait_for_selector("#timeline rect.interval", timeout=20_000)  # it starts at once, not 40 s later
    assert job_status(server, slow) == f"Job {slow} was deleted." and other.is_hidden("#waiting")
    # the button hidden under the focus: focus went to the progress's Cancel, not to the page's body
    assert other.evaluate("focused")[:2] == ["cancel-other", "cancel"], other.evaluate("focused")
    other.close()


def test_a_job_waiting_for_someone_elses_says_so(page, server, tmp_path):
    video = mp4_bytes(synth_frames(n=SLOW_FRAMES, apex=10, size=(96, 112), seed=3))
    theirs = httpx.post(f"{server.url}/api/recordings", files={"file": ("theirs.mp4", video)}).json()["id"]
    try:
        page.check("input[name=mode][value=recording]")
        page.set_input_files("#file", str(_recording(tmp_path, "mine.mp4")))
        page.wait_for_selector("#waiting:not([hidden])", timeout=TIMEOUT_MS)
        assert "someone else's analysis" in page.inner_text("#waiting-text")
        assert page.is_hidden("#cancel-other")
    finally:
        httpx.delete(f"{server.url}/api/jobs/{theirs}")
    page.wait_for_selector("#timeline rect.interval", timeout=20_000)


def test_a_file_over_the_limit_is_refused_before_it_is_sent(page, tmp_path):
    recording = tmp_path / "interview.mp4"
    recording.write_bytes(bytes(300 * 1024))  # 0.29 MB, never read: refused by its size alone
    page.evaluate("model.max_upload_mb = 0.25")  # as a server started with --max-upload-mb 0.25 says
    sent = []
    page.on("request", lambda request: sent.append(request.url) if "api/recordings" in request.url else None)
    page.check("input[name=mode][value=recording]")
    page.set_input_files("#file", str(recording))
    page.wait_for_selector("#error:not([hidden])", timeout=5_000)
    text = page.inner_text("#error")
    assert text.startswith("interview.mp4 is 0.29 MB, larger than this server's limit of 0.25 MB."), text
    assert "ask the person who runs this server to raise the limit" in text
    assert sent == [] and page.is_hidden("#progress")


def test_a_recording_too_short_to_search_says_so_first(page, tmp_path):
    page.check("input[name=mode][value=recording]")
    page.click("#options summary")
    page.fill("#fps", "30")
    page.set_input_files("#file", str(recording_zip(tmp_path, "tiny.zip", n=TOO_SHORT)))
    page.wait_for_selector("#recording-result:not([hidden])", timeout=TIMEOUT_MS)
    summary = page.inner_text("#recording-summary")
    needed = round(MICRO_WINDOW / 30, 2)
    assert summary.startswith(f"This recording is too short to be searched ({round(TOO_SHORT / 30, 2)} s; "
                              f"at least {needed:g} s is needed). No micro- or macro-expression was found"), summary
    # the API's names are for programs (the JSON keeps them), not for the page's user
    assert "API" not in summary and "/api/" not in summary
    assert re.search(r"choose \"A short clip\" and upload it again\.", summary), summary
    wait_until(page, "document.activeElement.id === 'result-heading'")
    # so for the server's other sentences that name the API, as errors and notes show them
    import json

    from mmnet.serve.messages import ZIP_WITHOUT_RATE, frame_numbers

    for said in (ZIP_WITHOUT_RATE, frame_numbers()):
        shown = page.evaluate(f"forPage({json.dumps(said)})")
        assert "API" in said and "API" not in shown and shown.endswith("."), shown


def test_the_csv_for_excel_has_semicolons_and_decimal_commas(page, server, tmp_path):
    import csv
    import io

    page.check("input[name=mode][value=recording]")
    with page.expect_response("**/api/recordings") as posted:
        page.set_input_files("#file", str(_recording(tmp_path, "interview; part 1.mp4")))
    page.wait_for_selector("#timeline rect.interval", timeout=TIMEOUT_MS)
    assert page.get_attribute("#dl-excel", "download") == "interview; part 1-excel.csv"
    with page.expect_download() as download:
        page.click("#dl-excel")
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbfsource;")  # a BOM, as the CSV: Excel reads it as UTF-8
    excel = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    job = posted.value.json()["id"]
    original = list(csv.reader(io.StringIO(httpx.get(f"{server.url}/api/jobs/{job}/result?format=csv").text)))
    number = re.compile(r"-?\d+\.\d+")
    # the CSV's cells, with decimal commas, then its onset_s and end_s as the page shows them (m:ss.mmm)
    on, end = original[0].index("onset_s"), original[0].index("end_s")
    clock = [["onset_hms", "end_hms"]] + [[f"0:{float(row[k]):06.3f}" if row[k] else "" for k in (on, end)]
                                          for row in original[1:]]
    assert excel == [[number.fullmatch(v) and v.replace(".", ",") or v for v in row] + hms
                     for row, hms in zip(original, clock)]
    assert excel[1][0] == "interview; part 1.mp4" and any("," in v for v in excel[1][1:])  # a decimal comma


def test_a_new_upload_in_a_new_tab_leaves_the_other_tabs_job_running(page, server, tmp_path):
    slow = start_slow_recording(page, tmp_path / "slow.mp4")
    tab = open_tab(page.context, server)
    running(tab)  # it follows the first tab's job
    tab.set_input_files("#file", str(_recording(tmp_path, "next.mp4")))  # not a Cancel: the first tab's job goes on
    tab.wait_for_selector("#cancel-other:not([hidden])", timeout=TIMEOUT_MS)
    assert job_status(server, slow) == "running"
    assert tab.inner_text("#cancel-other") == "Cancel the analysis of slow.mp4"
    running(page)  # still shown in its own tab
    tab.click("#cancel-other")
    tab.wait_for_selector("#timeline rect.interval", timeout=20_000)
    assert job_status(server, slow) == f"Job {slow} was deleted."
    tab.close()


def test_a_copy_of_the_tab_takes_up_its_job_and_a_new_upload_there_leaves_it_running(page, server, tmp_path):
    slow = start_slow_recording(page, tmp_path / "slow.mp4")
    with page.expect_popup() as popup:  # as Chrome's Duplicate: the tab's sessionStorage copied, its job with it
        page.evaluate("window.open(location.href)")
    copy = popup.value
    copy.on("dialog", lambda dialog: dialog.accept())
    running(copy)
    wait_until(copy, "JSON.parse(sessionStorage.getItem('mmnet-tab-info')).adopted")  # the first tab said so
    copy.set_input_files("#file", str(_recording(tmp_path, "next.mp4")))
    copy.wait_for_selector("#cancel-other:not([hidden])", timeout=TIMEOUT_MS)
    assert job_status(server, slow) == "running"
    running(page)  # still the first tab's, shown there
    copy.click("#cancel-other")
    copy.wait_for_selector("#timeline rect.interval", timeout=20_000)
    copy.close()


def test_an_error_on_a_field_is_tied_to_it_and_focuses_it(page, tmp_path):
    # the error named the "Onset frame" field, closed under Options, and nothing marked it or went there
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(mp4_bytes(synth_frames(n=14, apex=7, size=(96, 112))))
    page.click("#options summary")
    page.fill("#onset", "9999")  # the clip has 14 frames
    page.click("#options summary")  # closed again, as most users leave it
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
    assert "Onset frame" in page.inner_text("#error")
    assert page.evaluate("document.getElementById('options').open")
    assert page.get_attribute("#onset", "aria-invalid") == "true"
    assert page.get_attribute("#onset", "aria-describedby") == "error"
    assert page.evaluate("document.activeElement.id") == "onset"
    assert page.get_attribute("#fps", "aria-invalid") is None  # the recording's field, hidden in clip mode
    # the error region (an alert) says it: the status region no longer holds "Analysing" for browse mode to find
    assert page.inner_text("#status").strip() == ""
    page.fill("#onset", "")  # corrected: no longer marked
    assert page.get_attribute("#onset", "aria-invalid") is None
    assert page.get_attribute("#onset", "aria-describedby") is None


def test_forced_colours_keep_the_keys_and_the_marks(page, tmp_path):
    page.emulate_media(forced_colors="active")
    page.check("input[name=mode][value=recording]")
    page.set_input_files("#file", str(_recording(tmp_path, "contrast.mp4")))
    page.wait_for_selector("#intervals tbody tr button", timeout=TIMEOUT_MS)
    # the class swatches and the timeline keep their colours, so that the legend still matches the bands
    adjust = "(node) => getComputedStyle(node).forcedColorAdjust"
    assert page.eval_on_selector("#legend i", adjust) == "none"
    assert page.eval_on_selector("#timeline", adjust) == "none"
    assert page.eval_on_selector("#clip-result .swatch, #interval-detail .swatch", adjust) == "none"
    # the curves' keys are drawn as the curves are: colour and dash pattern (not colour alone)
    keys = page.evaluate("[...document.querySelectorAll('#legend svg.key line')].map((l) => "
                         "[l.getAttribute('stroke'), l.getAttribute('stroke-dasharray')])")
    drawn = page.evaluate("[...document.querySelectorAll('#timeline path.curve, #timeline line.threshold')].map((l)"
                          " => [l.getAttribute('stroke'), l.getAttribute('stroke-dasharray')])")
    assert keys and sorted(keys) == sorted(drawn), (keys, drawn)
    # the row shown and its pressed button: marked by a system colour's border, not by bold alone
    row = page.eval_on_selector("#intervals tbody tr.selected td", "(td) => getComputedStyle(td).borderTopWidth")
    assert row == "2px"
    pressed = page.eval_on_selector("#intervals button[aria-pressed=true]",
                                    "(b) => getComputedStyle(b).borderTopWidth")
    assert pressed == "3px"
    assert page.eval_on_selector("label.button", "(l) => getComputedStyle(l).borderTopStyle") == "solid"
    # the axis and its ticks: 3:1 at least on the plot (#999 on #fafbfd was 2.75:1)
    assert set(page.evaluate("[...document.querySelectorAll('#timeline > line:not(.threshold)')].map((l) =>"
                             " l.getAttribute('stroke'))")) == {"#767676"}
    # the result said briefly: the summary is the paragraph after the heading that gets focus
    sync_api.expect(page.locator("#status")).to_have_text("Result ready: 2 intervals found")
