"""The page in a real browser (Playwright, chromium) on a server with an access token: opened by the address
`mmnet serve --token` prints, it works from the cookie alone; its result can be deleted from the server."""

import json
import urllib.error
import urllib.request

import pytest

from tests.browser_helpers import launch_chromium, playwright_or_skip

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("av")
sync_api = playwright_or_skip()

from mmnet.serve import ServeSettings, create_app  # noqa: E402
from tests.serve_helpers import LiveServer, mp4_bytes, synth_frames  # noqa: E402

TOKEN = "browser-test-token_0123456789abcdef"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def server(predictor):
    with LiveServer(create_app(predictor, settings=ServeSettings(token=TOKEN))) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def _status(server, path: str) -> int:
    request = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_the_printed_address_opens_the_page_then_a_result_is_deleted(browser, server, tmp_path):
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/?token={TOKEN}")
    assert page.url == f"{server.url}/"  # the token left the address bar (and the history)
    sync_api.expect(page.locator("#model-text")).to_contain_text("classes")  # api/model answered: the cookie
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script of the page can read it
    clip = tmp_path / "p01.mp4"
    clip.write_bytes(mp4_bytes(synth_frames(n=14, apex=7, size=(96, 112))))
    with page.expect_response("**/api/predict") as posted:
        page.set_input_files("#file", str(clip))
    page.wait_for_selector("#clip-result .label", timeout=TIMEOUT_MS)
    job_id = posted.value.json()["id"]
    assert _status(server, f"/api/jobs/{job_id}") == 200
    button = page.get_by_role("button", name="Delete this result")
    button.focus()  # from the keyboard
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#status")).to_have_text("The result of p01.mp4 was deleted from the server. "
                                                          "Choose or drop a file to analyse.")
    assert page.is_hidden("#result") and page.evaluate("document.activeElement.id") == "file"
    assert _status(server, f"/api/jobs/{job_id}") == 404
    other = browser.new_context().new_page()  # another account's browser, without the token
    other.goto(f"{server.url}/")
    assert json.loads(other.inner_text("body"))["status"] == 401
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
