"""What the page of `mmnet serve` shows again after a reload, Back or Forward, in a real headless browser: a tab
follows its own job (not another tab's newer one), a result comes back from the address (#job=ID) while the server
keeps it, and a job that is gone is said with its file's name, not its id. Reuses test_serve_browser's server (one
worker for recordings, a slow stand-in spotter). Skips without chromium."""

import json
import re
import urllib.request

import pytest

from tests.browser_helpers import playwright_or_skip, wait_until

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("av")
sync_api = playwright_or_skip()

from tests import test_serve_browser as shared  # noqa: E402
from tests.serve_helpers import mp4_bytes, synth_frames  # noqa: E402
from tests.test_serve_browser import (  # noqa: E402
    TIMEOUT_MS,
    _recording,
    job_status,
    released,
    running,
    start_slow_recording,
)
from tests.test_serve_page_jobs_browser import open_tab  # noqa: E402

server, browser, page = shared.server, shared.browser, shared.page

# a recording's name longer than the server shows (80 characters): shortened in its middle, the same everywhere
LONG = "Séance 3 – patiente P07, entretien clinique du 12 décembre (caméra frontale, lumière du jour) prise 1.mp4"
SHOWN = "Séance 3 – patiente P07, entretien clinique du 12 … lumière du jour) prise 1.mp4"


def delete(server, job_id):
    urllib.request.urlopen(urllib.request.Request(f"{server.url}/api/jobs/{job_id}", method="DELETE")).close()


def test_a_reload_follows_the_tabs_own_job_not_another_tabs_newer_one(page, server, tmp_path):
    mine = start_slow_recording(page, tmp_path / LONG)
    other = open_tab(page.context, server)
    running(other)  # a new tab takes up the running job
    other.set_input_files("#file", str(_recording(tmp_path, "second.mp4")))  # it waits for the first tab's job
    other.wait_for_selector("#cancel-other:not([hidden])", timeout=TIMEOUT_MS)
    # the waiting note names the first tab's file as its result's heading will
    assert other.inner_text("#cancel-other") == f"Cancel the analysis of {SHOWN}"
    theirs = other.evaluate("sessionStorage.getItem('mmnet-tab-job')")
    assert theirs not in (None, mine) and page.evaluate("localStorage.getItem('mmnet-job')") == theirs
    page.reload()  # it followed the other tab's job, the newest of the browser, and offered to cancel it
    running(page)
    assert page.evaluate("sessionStorage.getItem('mmnet-tab-job')") == mine
    assert page.evaluate("location.hash") == f"#job={mine}"
    assert page.is_hidden("#waiting")  # its own job runs: it waits for nothing
    assert job_status(server, theirs) == "queued"
    released.set()
    try:
        page.wait_for_selector("#timeline rect.interval", timeout=TIMEOUT_MS)
        other.wait_for_selector("#timeline rect.interval", timeout=TIMEOUT_MS)
    finally:
        released.clear()
    assert page.inner_text("#result-name") == f"— {SHOWN}"
    assert other.inner_text("#result-name") == "— second.mp4"
    other.close()


def test_a_job_the_server_no_longer_knows_is_named_after_a_reload(page, server, tmp_path):
    mine = start_slow_recording(page, tmp_path / "interview.mp4")
    unknown = {"error": f"There is no job '{mine}' on this server (results are kept 30 minutes after they are "
               "ready, the last 500 at most; a restart forgets them).", "status": 404, "code": "job_unknown"}
    # as after a restart of the server: it answers, but knows no job
    page.route(f"**/api/jobs/{mine}**", lambda route: route.fulfill(status=404, body=json.dumps(unknown),
                                                                   headers={"Content-Type": "application/json"}))
    try:
        page.reload()
        page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
    finally:
        page.unroute(f"**/api/jobs/{mine}**")
        delete(server, mine)
    text = page.inner_text("#error")
    assert text.startswith("There is no analysis of interview.mp4 on this server") and mine not in text, text
    assert page.evaluate("location.hash") == "" and page.evaluate("sessionStorage.getItem('mmnet-tab-job')") is None


def test_a_result_comes_back_after_a_reload_and_back(page, server, tmp_path):
    clip = tmp_path / "p01 clip.mp4"
    clip.write_bytes(mp4_bytes(synth_frames(n=14, apex=7, size=(96, 112))))
    with page.expect_response("**/api/predict") as posted:
        page.set_input_files("#file", str(clip))
    page.wait_for_selector("#clip-result:not([hidden])", timeout=TIMEOUT_MS)
    job_id = posted.value.json()["id"]
    assert page.evaluate("location.hash") == f"#job={job_id}"  # the address names it; never the access token
    page.reload()
    page.wait_for_selector("#clip-result:not([hidden])", timeout=TIMEOUT_MS)
    assert page.inner_text("#result-name") == "— p01 clip.mp4" and page.is_checked("input[value=clip]")
    page.goto("about:blank")
    page.go_back()  # Back to the page: its result again, and its Delete button
    page.wait_for_selector("#clip-result:not([hidden])", timeout=TIMEOUT_MS)
    page.click("#delete-result")
    page.wait_for_selector("#note:not([hidden])")
    assert page.evaluate("location.hash") == ""
    page.reload()  # deleted here: nothing to reopen, no error
    sync_api.expect(page.locator("#model-text")).to_contain_text("classes")
    page.wait_for_timeout(500)
    assert page.is_hidden("#result") and page.is_hidden("#error") and page.is_hidden("#progress")

    # a recording's result, deleted elsewhere: a reload says so, naming its file
    page.check("input[name=mode][value=recording]")
    with page.expect_response("**/api/recordings") as posted:
        page.set_input_files("#file", str(_recording(tmp_path, "p02.mp4")))
    page.wait_for_selector("#timeline rect.interval", timeout=TIMEOUT_MS)
    job_id = posted.value.json()["id"]
    page.reload()
    page.wait_for_selector("#timeline rect.interval", timeout=TIMEOUT_MS)
    assert page.inner_text("#result-name") == "— p02.mp4"
    delete(server, job_id)
    page.reload()
    page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
    assert page.inner_text("#error") == ("The analysis of p02.mp4 was cancelled, or its result deleted, in another "
                                         "tab or window.")


def test_a_result_gone_from_the_server_says_so_in_place_of_its_pictures(page, server, tmp_path):
    page.check("input[name=mode][value=recording]")
    with page.expect_response("**/api/recordings") as posted:
        page.set_input_files("#file", str(_recording(tmp_path, "gone.mp4")))
    page.wait_for_selector("#timeline rect.interval", timeout=TIMEOUT_MS)
    delete(server, posted.value.json()["id"])  # in another tab, or expired
    page.locator("#intervals tbody tr button").nth(1).click()
    page.wait_for_selector("#interval-detail .pictures-gone", timeout=TIMEOUT_MS)
    said = ("The pictures could not be shown. The result of gone.mp4 was deleted from the server, in another tab or "
            "window.")
    assert page.inner_text("#interval-detail .pictures-gone") == said
    wait_until(page, "[...document.querySelectorAll('#interval-detail img')].every((i) => i.closest('figure').hidden)")
    page.click("#dl-csv")
    page.wait_for_selector("#download-error:not([hidden])")
    text = page.inner_text("#download-error")
    assert text == ("gone.csv could not be downloaded. The result of gone.mp4 was deleted from the server, in another "
                    "tab or window. Analyse the file again to download its result."), text
    assert not re.search(r"[0-9a-f]{32}", text) and "keeps results" not in text


def test_a_job_cancelled_in_another_tab_is_named_by_its_file(page, server, tmp_path):
    mine = start_slow_recording(page, tmp_path / "slow.mp4")
    other = open_tab(page.context, server)
    running(other)  # it follows the first tab's job
    page.click("#cancel")
    other.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
    assert other.inner_text("#error") == ("The analysis of slow.mp4 was cancelled, or its result deleted, in another "
                                          "tab or window.")
    assert mine not in other.inner_text("#error")
    other.close()


def test_the_job_of_a_closed_tab_gone_meanwhile_is_named_by_its_file(page, server, tmp_path):
    mine = start_slow_recording(page, tmp_path / "closed tab.mp4")
    context = page.context
    page.close(run_before_unload=False)  # the job runs on, then is gone (expired, say) before a new tab opens
    delete(server, mine)
    tab = open_tab(context, server)
    tab.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
    assert tab.inner_text("#error").startswith("The analysis of closed tab.mp4 was cancelled"), tab.inner_text("#error")
    tab.close()
