"""/docs' "Try it out" in a real headless browser calls the API where the page is, also behind a reverse proxy
that serves mmnet under a sub-path (https://lab.example/mmnet/ passed on as /). Skips without chromium/Playwright."""

import pytest

from tests.browser_helpers import launch_chromium, playwright_or_skip

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("fastapi_offline")
sync_api = playwright_or_skip()

from mmnet.serve import create_app  # noqa: E402
from tests.serve_helpers import LiveServer  # noqa: E402

PROXIED = "http://lab.example/mmnet/"  # the proxy's address for the app; nothing else exists on that host


@pytest.mark.parametrize("behind_proxy", [False, True], ids=["direct", "proxy-sub-path"])
def test_try_it_out_calls_the_api_under_the_pages_path(predictor, behind_proxy):
    with LiveServer(create_app(predictor)) as live, sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page()
        base = f"{live.url}/"
        if behind_proxy:
            base = PROXIED

            def proxy(route):  # strips the prefix as the proxy does; a request outside it is the bug
                url = route.request.url
                if not url.startswith(PROXIED):
                    route.fulfill(status=404, body="outside the proxy's sub-path")
                    return
                route.fulfill(response=route.fetch(url=f"{live.url}/{url.removeprefix(PROXIED)}",
                                                   headers={**route.request.headers, "host": "localhost"}))

            page.route("http://lab.example/**", proxy)
        called = []
        page.on("request", lambda r: called.append(r.url) if "/api/" in r.url else None)
        page.goto(base + "docs")
        page.locator(".opblock-summary", has_text="/api/health").click()
        page.get_by_role("button", name="Try it out").click()
        page.get_by_role("button", name="Execute").click()
        sync_api.expect(page.locator(".live-responses-table tr.response .response-col_status")).to_have_text("200")
        browser.close()
    assert called == [base + "api/health"]
