"""The page of `mmnet serve --root-path /mmnet` behind a reverse proxy that serves it under /mmnet/ and strips the
prefix (as nginx's ``location /mmnet/ { proxy_pass http://127.0.0.1:8000/; }`` does), in a real headless browser:
a clip and a recording run through the page, every request it makes stays under the prefix, and its pictures,
progress events and downloads arrive. Skips when chromium or Playwright is absent."""

import pytest

from tests.browser_helpers import chromium_session, playwright_or_skip, wait_until

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("av")
sync_api = playwright_or_skip()

from mmnet.infer import Predictor  # noqa: E402
from mmnet.serve import create_app  # noqa: E402
from tests.serve_helpers import CLASSES, LiveServer, fake_spotter, make_checkpoint, mp4_bytes, synth_frames  # noqa: E402

PREFIX = "/mmnet"
TIMEOUT_MS = 60_000
# hop-by-hop headers, and the length: the proxy's own connection and framing carry the body
_NOT_PASSED = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade", b"content-length"}


def prefix_proxy(backend: str, prefix: str):
    """An ASGI reverse proxy serving ``backend`` under ``prefix``, stripped before the request is passed on, the
    client's Host header passed on (nginx: ``proxy_set_header Host $http_host``); answers streamed as they come
    (the progress's server-sent events). ``prefix`` alone is redirected to ``prefix/``, as nginx does."""
    import httpx

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            return await send({"type": "lifespan.shutdown.complete"})
        path = scope["raw_path"].decode("latin-1")
        if not path.startswith(f"{prefix}/"):
            where = [(b"location", f"{prefix}/".encode())] if path == prefix else []
            await send({"type": "http.response.start", "status": 301 if where else 404, "headers": where})
            return await send({"type": "http.response.body", "body": b""})
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        query = scope["query_string"].decode("latin-1")
        url = backend + path[len(prefix):] + (f"?{query}" if query else "")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _NOT_PASSED]
        async with httpx.AsyncClient(timeout=None) as client, \
                client.stream(scope["method"], url, headers=headers, content=body) as answer:
            await send({"type": "http.response.start", "status": answer.status_code,
                        "headers": [(k, v) for k, v in answer.headers.raw if k.lower() not in _NOT_PASSED]})
            async for chunk in answer.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """The proxy's address, under which the server answers (``--root-path /mmnet``)."""
    predictor = Predictor.from_checkpoint(make_checkpoint(tmp_path_factory.mktemp("prefix") / "model"))
    with LiveServer(create_app(predictor, spotter=fake_spotter()), root_path=PREFIX) as backend, \
            LiveServer(prefix_proxy(backend.url, PREFIX), timeout_graceful_shutdown=2) as proxy:
        yield f"{proxy.url}{PREFIX}"


@pytest.fixture(scope="module")
def browser():
    yield from chromium_session(sync_api)


def test_a_clip_and_a_recording_run_through_the_page_under_the_prefix(browser, proxied, tmp_path):
    context = browser.new_context(viewport={"width": 1100, "height": 1200})
    page = context.new_page()
    errors, requested, failed = [], [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requested.append(request.url))
    page.on("response", lambda response: response.status >= 400 and failed.append(f"{response.status} {response.url}"))
    page.goto(proxied)  # without the slash: redirected to the page's address
    assert page.url == f"{proxied}/"
    sync_api.expect(page.locator("#model-text")).to_contain_text("classes")

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(mp4_bytes(synth_frames(n=14, apex=7, size=(96, 112))))
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#clip-result .label", timeout=TIMEOUT_MS)
    assert page.inner_text("#clip-result .label") in CLASSES
    for picture in ("attention", "onset", "apex"):  # fetched from the URLs the API gave, prefix and all
        wait_until(page, f"document.querySelector('#clip-result img.{picture}').naturalWidth > 0",
                   timeout_ms=TIMEOUT_MS)

    recording = tmp_path / "session.mp4"
    recording.write_bytes(mp4_bytes(synth_frames(n=30, apex=18, size=(96, 112), seed=2)))
    page.check("input[name=mode][value=recording]")
    page.set_input_files("#file", str(recording))  # followed by its events, read through the proxy
    page.wait_for_selector("#timeline rect.interval", timeout=TIMEOUT_MS)
    page.locator("#intervals tbody tr").nth(0).click()
    wait_until(page, "document.querySelector('#interval-detail img.attention').naturalWidth > 0",
               timeout_ms=TIMEOUT_MS)
    assert page.get_attribute("#dl-csv", "href").startswith("api/jobs/")  # relative to the page: under the prefix
    with page.expect_download() as csv_download:
        page.click("#dl-csv")
    assert csv_download.value.suggested_filename == "session.csv" and csv_download.value.failure() is None
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
    assert failed == [], failed
    outside = [url for url in requested[1:] if url.startswith("http") and not url.startswith(f"{proxied}/")]
    assert requested[0] == proxied and outside == [], requested  # after the redirect, nothing left the prefix
    assert any("/events" in url for url in requested)
