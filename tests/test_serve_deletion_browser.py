"""The page of `mmnet serve --no-deletion-check` in a headless browser: under a clip's attention figure it says
that the Grad-CAM map was not tested for faithfulness; a server that makes the check says what it found instead.
Skips when chromium or Playwright is absent."""

import pytest

from tests.browser_helpers import chromium_session, playwright_or_skip

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("av")
sync_api = playwright_or_skip()

from mmnet.serve import ServeSettings, create_app  # noqa: E402
from mmnet.serve.analysis import DELETION_SKIPPED  # noqa: E402
from tests.serve_helpers import LiveServer, mp4_bytes, synth_frames  # noqa: E402

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser():
    yield from chromium_session(sync_api)


@pytest.mark.parametrize("made", [False, True])
def test_the_page_says_when_the_check_was_skipped(browser, predictor, tmp_path, made):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(mp4_bytes(synth_frames()))
    with LiveServer(create_app(predictor, settings=ServeSettings(deletion_check=made))) as live:
        context = browser.new_context()
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(live.url + "/")
        sync_api.expect(page.locator("#model-text")).to_contain_text("classes")
        page.set_input_files("#file", str(clip))
        page.wait_for_selector("#clip-result .label", timeout=TIMEOUT_MS)
        note = page.locator("#clip-result .attention-note")
        assert page.locator("#clip-result .attention-figure").is_visible()
        if made:  # the verdict the figure's heading gives, as text: the page said nothing of it
            sync_api.expect(note).to_contain_text("Grad-CAM deletion check: the map ")
            sync_api.expect(note).to_contain_text("point at the motion behind this prediction")
        else:
            sync_api.expect(note).to_have_text(DELETION_SKIPPED)
        context.close()
        assert errors == [], f"JavaScript errors on the page: {errors}"
