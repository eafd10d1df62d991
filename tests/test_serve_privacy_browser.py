"""The page in a real browser (Playwright, chromium) on a server with an access token: opened by the address
`mmnet serve --token` prints (the token in its fragment), it sends the token as a header, shows its pictures and
deletes its result; without the token it says how to give it, and a pasted token works."""

import urllib.error
import urllib.request

import pytest

from tests.browser_helpers import chromium_session, playwright_or_skip, wait_until

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
    yield from chromium_session(sync_api)


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
    errors, asked = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{server.url}/#token={TOKEN}")
    sync_api.expect(page.locator("#model-text")).to_contain_text("classes")  # api/model answered: the header
    assert page.url == f"{server.url}/"  # the token left the address bar (replaceState: this history entry too)
    assert context.cookies() == [] and all(TOKEN not in url for url in asked)  # no cookie; never sent in an address
    assert page.is_hidden("#login")
    clip = tmp_path / "p01.mp4"
    clip.write_bytes(mp4_bytes(synth_frames(n=14, apex=7, size=(96, 112))))
    with page.expect_response("**/api/predict") as posted:
        page.set_input_files("#file", str(clip))
    page.wait_for_selector("#clip-result .label", timeout=TIMEOUT_MS)
    # the address names the result for a reload, never the token: a link to it is no key to the server
    assert page.url == f"{server.url}/#job={posted.value.json()['id']}"
    # the pictures come from the API, which wants the token: fetched with it, shown from blobs
    wait_until(page, "document.querySelector('#clip-result img.attention').naturalWidth > 300",
               timeout_ms=TIMEOUT_MS)
    assert page.get_attribute("#clip-result img.onset", "src").startswith("blob:")
    job_id = posted.value.json()["id"]
    assert _status(server, f"/api/jobs/{job_id}") == 200
    # a job's progress events, which an EventSource could not ask for with the token: read by fetch
    statuses = page.evaluate("""async (id) => { const got = [];
      await readEvents(`api/jobs/${id}/events`, {}, (data) => got.push(JSON.parse(data).status)); return got; }""",
                             job_id)
    assert statuses == ["done"]
    with page.expect_download() as csv_download:  # a download too
        page.click("#dl-csv")
    assert csv_download.value.suggested_filename == "p01.csv" and page.is_hidden("#download-error")
    page.reload()  # the tab keeps its token
    sync_api.expect(page.locator("#model-text")).to_contain_text("classes")
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#clip-result .label", timeout=TIMEOUT_MS)
    button = page.get_by_role("button", name="Delete this result")
    button.focus()  # from the keyboard
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("#status")).to_have_text("The result of p01.mp4 was deleted from the server. "
                                                          "Choose or drop a file to analyse.")
    assert page.is_hidden("#result") and page.evaluate("document.activeElement.id") == "file"
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_without_the_token_the_page_says_how_to_give_it(browser, server):
    context = browser.new_context()  # another account's browser, without the token
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/")
    sync_api.expect(page.locator("#login-text")).to_have_text(
        "This server needs its access token: open the address printed when it started (it ends in #token=…), "
        "or paste the token below.")
    assert page.evaluate("document.activeElement.id") == "token"
    assert page.get_by_label("Access token", exact=True).is_visible()
    page.get_by_label("Access token", exact=True).fill("wrong-token-0123456789")
    page.get_by_role("button", name="Use this token").click()
    sync_api.expect(page.locator("#login-text")).to_contain_text("The server refused the access token")
    page.get_by_label("Access token", exact=True).fill(f"{server.url}/#token={TOKEN}")  # the whole address works
    page.get_by_role("button", name="Use this token").click()
    sync_api.expect(page.locator("#model-text")).to_contain_text("classes")
    assert page.is_hidden("#login")
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_the_printed_address_pasted_into_an_open_page_gives_its_token(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.url}/")
    sync_api.expect(page.locator("#login-text")).to_contain_text("This server needs its access token")
    page.goto(f"{server.url}/#token={TOKEN}")  # the same page, another fragment: a hash change, no load
    sync_api.expect(page.locator("#model-text")).to_contain_text("classes")
    assert page.is_hidden("#login") and page.url == f"{server.url}/"  # the token out of the address bar
    assert page.evaluate("sessionStorage.getItem('mmnet-token')") == TOKEN
    context.close()


def test_opening_the_page_forgets_the_names_of_this_browsers_ended_jobs(browser, server):
    # {job id: file name} of a job whose tab was closed stayed in localStorage until a later job had to wait
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.url}/#token={TOKEN}")
    sync_api.expect(page.locator("#model-text")).to_contain_text("classes")
    page.evaluate("localStorage.setItem('mmnet-jobs', JSON.stringify({'0123456789abcdef': 'p07_session2.mp4'}))")
    page.reload()  # the tab keeps its token
    sync_api.expect(page.locator("#model-text")).to_contain_text("classes")
    wait_until(page, "!(localStorage.getItem('mmnet-jobs') || '').includes('p07_session2')")
    context.close()
