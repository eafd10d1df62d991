"""`mmnet serve --root-path /mmnet`: behind a reverse proxy that serves the app under a path prefix and strips it,
the API's URLs carry the prefix and every part of the server reads the path the app routes. The requests here are
as uvicorn passes them with root_path (ASGI: the scope's path begins with the prefix)."""

import logging
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.errors import ConfigError  # noqa: E402
from mmnet.serve import ServeSettings, create_app  # noqa: E402
from mmnet.serve.root_path import check_root_path, public_path, route_path  # noqa: E402
from tests.serve_helpers import fake_spotter, mp4_bytes, synth_frames  # noqa: E402

ROOT = "/mmnet"


def _client(app, **kwargs):
    from fastapi.testclient import TestClient

    return TestClient(app, base_url="http://localhost", root_path=ROOT, raise_server_exceptions=False, **kwargs)


@pytest.fixture
def app(predictor):  # one a test: a client's end stops it (its upload folder removed)
    return create_app(predictor, spotter=fake_spotter(), settings=ServeSettings(max_upload_mb=0.5))


def test_a_clips_pictures_are_named_and_fetched_under_the_prefix(app):
    with _client(app) as c:
        answer = c.post(f"{ROOT}/api/predict", files={"file": ("c.mp4", mp4_bytes(synth_frames()))})
        assert answer.status_code == 200, answer.text
        files = answer.json()["files"]
        assert files and all(url.startswith(f"{ROOT}/api/jobs/") for url in files.values()), files
        for url in files.values():
            picture = c.get(url)
            assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG"), url


def test_a_recordings_urls_location_and_events_carry_the_prefix(app):
    with _client(app) as c:
        started = c.post(f"{ROOT}/api/recordings", files={"file": ("r.mp4", mp4_bytes(synth_frames(n=30)))})
        assert started.status_code == 202, started.text
        urls = started.json()["urls"]
        assert started.headers["location"] == urls["state"] == f"{ROOT}/api/jobs/{started.json()['id']}"
        assert all(url.startswith(f"{ROOT}/api/jobs/") for url in urls.values()), urls
        t0 = time.monotonic()
        while (state := c.get(urls["state"]).json())["status"] not in ("done", "failed"):
            assert time.monotonic() - t0 < 120, state
            time.sleep(0.05)
        assert state["status"] == "done" and state["urls"] == urls, state
        with c.stream("GET", urls["events"]) as events:
            first = next(line for line in events.iter_lines() if line.startswith("data: "))
        assert f'"events": "{urls["events"]}"' in first
        result = c.get(urls["result"]).json()
        shown = [*result["files"].values(), *(u for iv in result["intervals"] for u in iv["files"].values())]
        assert shown and all(url.startswith(f"{ROOT}/api/jobs/") for url in shown), shown
        assert c.get(shown[0]).status_code == 200
        csv = c.get(urls["csv"])
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert c.delete(urls["state"]).status_code == 204


def test_the_page_redirects_and_errors_name_the_prefix(app):
    with _client(app, follow_redirects=False) as c:
        bare = c.get(ROOT)  # the page's address without its slash: its relative URLs would miss the prefix
        assert bare.status_code in (301, 307, 308) and bare.headers["location"].endswith(f"{ROOT}/")
        page = c.get(f"{ROOT}/")
        assert page.status_code == 200 and 'src="static/app.js"' in page.text
        assert c.get(f"{ROOT}/static/app.js").status_code == 200
        missing = c.get(f"{ROOT}/nothing")
        assert missing.status_code == 404
        error = missing.json()["error"]  # the same path reaches the app through the proxy and at its own address
        assert f"The page is at {ROOT}/ and the API's endpoints are listed at {ROOT}/docs through the proxy" in error
        assert f"at the server's own address (not through the proxy) they are at / and /docs, without {ROOT}." in error
        wrong_method = c.get(f"{ROOT}/api/predict")
        assert wrong_method.status_code == 405 and f"see {ROOT}/docs for what each endpoint takes" in \
            wrong_method.json()["error"]
        assert c.get(f"{ROOT}/openapi.json").json()["servers"][0]["url"] == ROOT


def test_a_health_probe_under_the_prefix_is_answered_whatever_the_host(app):
    with _client(app) as c:
        assert c.get(f"{ROOT}/api/health", headers={"Host": "10.1.2.3:8000"}).status_code == 200
        refused = c.get(f"{ROOT}/api/model", headers={"Host": "10.1.2.3:8000"})
        assert refused.status_code == 400 and refused.json()["code"] == "bad_host"


def test_a_too_large_clip_is_called_a_clip_under_the_prefix(app):
    with _client(app) as c:
        answer = c.post(f"{ROOT}/api/predict", files={"file": ("big.mp4", b"\0" * (2 * 2**20))})
    assert answer.status_code == 413 and "Send a shorter clip" in answer.json()["error"], answer.text


def test_the_log_shows_the_path_with_the_prefix_once(app, caplog):
    caplog.set_level(logging.INFO, logger="mmnet.serve")
    with _client(app) as c:
        assert c.get(f"{ROOT}/nothing", headers={"X-Request-ID": "prefixed-1"}).status_code == 404
    lines = [r.getMessage() for r in caplog.records if "prefixed-1" in r.getMessage()]
    assert any(line.startswith(f"request prefixed-1: GET {ROOT}/nothing answered 404") for line in lines), lines
    assert not any(f"{ROOT}{ROOT}" in line for line in lines), lines


@pytest.mark.parametrize(("path", "root", "routed", "public"), [
    ("/mmnet/api/health", "/mmnet", "/api/health", "/mmnet/api/health"),  # uvicorn's form
    ("/api/health", "/mmnet", "/api/health", "/mmnet/api/health"),  # a test client's form
    ("/mmnet", "/mmnet", "/", "/mmnet/"),
    ("/mmnetx/api", "/mmnet", "/mmnetx/api", "/mmnet/mmnetx/api"),  # another path that only begins alike
    ("/api/health", "", "/api/health", "/api/health"),
])
def test_route_and_public_paths(path, root, routed, public):
    scope = {"path": path, "root_path": root}
    assert route_path(scope) == routed and public_path(scope) == public


@pytest.mark.parametrize(("given", "taken"), [("/mmnet", "/mmnet"), ("/mmnet/", "/mmnet"), ("/", ""), ("", ""),
                                              ("/lab/mm-net_2", "/lab/mm-net_2")])
def test_a_root_path_is_taken_without_its_trailing_slash(given, taken):
    assert check_root_path(given) == taken


@pytest.mark.parametrize("given", ["mmnet", "/mm net", "/mmnet?x=1", "/mm%20net", "/mmnet//x", "/../x", "/müll"])
def test_a_root_path_that_is_no_plain_path_is_refused(given):
    with pytest.raises(ValueError, match="--root-path"):
        check_root_path(given)


def test_serve_passes_the_root_path_to_uvicorn_and_refuses_a_bad_one(checkpoint, monkeypatch, capsys):
    from mmnet.cli import main
    from mmnet.commands import serve
    from mmnet.serve import server

    served = []
    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(server, "serve", lambda app, **kwargs: served.append(kwargs) or True)
    assert main(["serve", "--checkpoint", str(checkpoint), "--root-path", "/mmnet/"]) == 0
    assert served[0]["root_path"] == "/mmnet"
    assert "root path: /mmnet" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="--root-path"):
        serve.run(serve_args(checkpoint, "--root-path", "mmnet"))
    assert len(served) == 1


def serve_args(checkpoint, *extra):
    import argparse

    from mmnet.commands import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return parser.parse_args(["--checkpoint", str(checkpoint), *extra])
