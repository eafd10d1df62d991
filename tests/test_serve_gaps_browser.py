"""A recording's stretches without a face on the page: said in the summary, hatched on the timeline, rows of the CSV
download; notes that begin with the file name keep its spelling. Chromium driven by Playwright (browser_helpers)."""

import csv
import io

import pytest

from tests.browser_helpers import chromium_session, playwright_or_skip, wait_until

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("av")
sync_api = playwright_or_skip()

from mmnet.infer import Predictor  # noqa: E402
from mmnet.serve import ServeSettings, create_app  # noqa: E402
from tests.serve_helpers import LiveServer, fake_spotter, make_checkpoint, mp4_bytes, synth_frames  # noqa: E402

TIMEOUT_MS = 60_000


def spotter_with_gaps():
    """The stand-in spotter, with the server's own spotter's gaps (no seconds: the server adds them) and a note that
    begins with the recording's path, as the spotter's notes do."""
    inner = fake_spotter()

    def spot(path, **kwargs):
        out = inner(path, **kwargs)
        # a phone's variable rate: frames 0-14 at 30 fps, then 15 fps (1.43 s in all, not 0.97 s at 30 fps)
        seconds = [round(f / 30 if f <= 15 else 0.5 + (f - 15) / 15, 3) for f in out["curve"]["frames"]]
        return {**out, "curve": {**out["curve"], "seconds": seconds}, "time_base": "presentation_time",
                "gaps": [{"first": 0, "last": 2, "reason": "no face"}],
                "notes": [f"{path}: the video's frame rate varies"]}

    return spot


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    predictor = Predictor.from_checkpoint(make_checkpoint(tmp_path_factory.mktemp("gaps") / "model"))
    with LiveServer(create_app(predictor, settings=ServeSettings(), spotter=spotter_with_gaps())) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    yield from chromium_session(sync_api)


def test_a_stretch_without_a_face_is_said_hatched_and_downloaded(browser, server, tmp_path):
    """The page showed neither the gaps of the JSON (frames 0-59: no face) nor any in its CSV: a stretch that was not
    analysed looked like one without expressions. A note beginning with the file name was capitalised (Vfr.mp4)."""
    context = browser.new_context(viewport={"width": 1100, "height": 1200})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/")
    sync_api.expect(page.locator("#model-text")).to_contain_text("classes")
    recording = tmp_path / "phone.mp4"
    recording.write_bytes(mp4_bytes(synth_frames(n=30, apex=18, size=(96, 112), seed=2)))
    page.check("input[name=mode][value=recording]")
    page.set_input_files("#file", str(recording))
    page.wait_for_selector("#timeline rect.interval", timeout=TIMEOUT_MS)
    summary = page.inner_text("#recording-summary")
    assert "Frames 0–2 (0:00.000–0:00.100): no face, not analysed." in summary, summary  # to the end of frame 2
    assert " phone.mp4: the video's frame rate varies." in summary and "Phone.mp4" not in summary
    hatched = page.locator("#timeline rect.gap")
    assert hatched.count() == 1 and hatched.get_attribute("fill") == "url(#gap-hatch)"
    assert page.locator("#timeline pattern#gap-hatch").count() == 1
    assert "no face: not analysed" in page.inner_text("#legend")
    # the key says where frame numbers start (the CLI's legend does; the page's said only "frame numbers")
    assert "a video's first frame is 0" in page.inner_text("#intervals-key")
    # the last cell (a class score, or why there is none) wraps inside the scroll box: it ran past the card and a
    # screenshot or printout lacked it
    fits = page.evaluate("""() => {
        const box = document.querySelector('.table-scroll').getBoundingClientRect();
        return [...document.querySelectorAll('#intervals tbody td:last-child')].map((td) => {
            const r = td.getBoundingClientRect();
            return [getComputedStyle(td).whiteSpace, r.right <= box.right + 0.5, td.textContent];
        });
    }""")
    assert fits and all(space == "normal" and inside for space, inside, _ in fits), fits
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('.table-scroll')).overflowX") == "visible"
    page.emulate_media(media="screen")
    # the time axis follows the frames' own times: 1 s is frame 22.5 (15 frames at 30 fps, 7.5 at 15), and the
    # axis reaches 1.4 s; at a constant 30 fps it ended at 0.9 s
    labels = page.locator("#timeline text[text-anchor=middle]")
    ticks = {labels.nth(k).text_content(): float(labels.nth(k).get_attribute("x")) for k in range(labels.count())}
    width = float(page.get_attribute("#timeline", "viewBox").split()[2])
    assert "0:01.4" in ticks and ticks["0:01.0"] == pytest.approx(8 + 22.5 / 29 * (width - 16), abs=0.5), ticks
    wait_until(page, "document.querySelector('#dl-csv').href")
    text = page.evaluate("fetch(document.querySelector('#dl-csv').href).then(r => r.text())")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["type"] for r in rows] == ["micro", "macro", "no_face", "note"]
    gap = (rows[2]["onset"], rows[2]["offset"], rows[2]["onset_s"], rows[2]["offset_s"], rows[2]["end_s"])
    assert gap == ("0", "2", "0.000", "0.067", "0.100")
    assert rows[3]["note"] == "phone.mp4: the video's frame rate varies" and rows[3]["onset"] == ""
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
