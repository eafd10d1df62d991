"""The page of `mmnet serve --no-deletion-check` in a headless browser: under a clip's attention figure it says
that the Grad-CAM map was not tested for faithfulness; a server that makes the check says what it found instead.
Next to the figure's download, the page says whose agreement the faces in it are published under.
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
        # the figure's heading (the branches' shares, the check's numbers) and its panels' titles (the maps' ranges),
        # pixels only before: written out under it, as the JSON gives them
        words = page.locator("#clip-result .figure-text")
        sync_api.expect(words).to_contain_text("The figure's heading: Inputs, and class-specific Grad-CAM of ")
        sync_api.expect(words).to_contain_text("removing the motion in its top " if made else "not tested for")
        sync_api.expect(words).to_contain_text("Its panels' titles: Grad-CAM, ")
        sync_api.expect(words).to_contain_text("; stage 4: ")
        # next to the figure's download: the faces in it are for the recordings' agreement to allow publishing
        sync_api.expect(page.locator("#faces-note")).to_be_visible()
        sync_api.expect(page.locator("#faces-note")).to_contain_text("publish it only as the agreement covering")
        context.close()
        assert errors == [], f"JavaScript errors on the page: {errors}"


def test_a_model_without_attention_blocks_shows_its_figure_and_says_what_stands_for_the_gates(browser, tmp_path):
    # the server sent no figure ("no attention maps to draw"), and the figure's text alternative spoke of four gates
    from mmnet import MMNet
    from mmnet.infer import Predictor
    from mmnet.model import CheckpointInfo
    from mmnet.serve.model_info import describe_checkpoint
    from tests.serve_helpers import CLASSES

    MMNet(num_classes=len(CLASSES), image_size=32, use_ca=False).save_pretrained(
        tmp_path / "noca", CheckpointInfo(class_names=list(CLASSES), preprocessing={"image_size": 32}))
    predictor = Predictor.from_checkpoint(tmp_path / "noca")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(mp4_bytes(synth_frames()))
    with LiveServer(create_app(predictor, model_info=describe_checkpoint(tmp_path / "noca", predictor))) as live:
        context = browser.new_context()
        page = context.new_page()
        page.goto(live.url + "/")
        sync_api.expect(page.locator("#model-text")).to_contain_text("classes")
        page.set_input_files("#file", str(clip))
        page.wait_for_selector("#clip-result .label", timeout=TIMEOUT_MS)
        assert page.locator("#clip-result .attention-figure").is_visible()
        sync_api.expect(page.locator("#clip-result .attention-note")).to_contain_text("Grad-CAM deletion check: ")
        alt = page.locator("#clip-result img.attention").get_attribute("alt")
        assert "no attention blocks" in alt and "four stages" not in alt, alt
        context.close()
