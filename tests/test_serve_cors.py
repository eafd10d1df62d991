"""Pages of origins listed with --allow-origin may call the API from a browser (CORS); every other origin stays
refused, and '*' is never accepted."""

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.errors import ConfigError  # noqa: E402
from mmnet.serve import ServeSettings, create_app  # noqa: E402
from mmnet.serve.cors import parse_allowed_origins  # noqa: E402
from tests.serve_helpers import local_client, mp4_bytes, synth_frames  # noqa: E402

DEV = "http://localhost:5173"
TOKEN = "s3cret-token-0123456789"


@pytest.fixture(scope="module")
def client(predictor):
    settings = ServeSettings(allow_origins=parse_allowed_origins([DEV, "https://Dash.Lab.example:443/"]),
                             token=TOKEN)
    with local_client(create_app(predictor, settings=settings)) as c:
        yield c


def test_a_listed_origin_gets_its_preflight_and_may_upload(client):
    preflight = client.options("/api/predict", headers={"Origin": DEV, "Access-Control-Request-Method": "POST",
                                                        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == DEV and "Origin" in preflight.headers["Vary"]
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, POST, DELETE"
    assert preflight.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    headers = {"Origin": DEV, "Authorization": f"Bearer {TOKEN}"}
    answer = client.post("/api/predict", files={"file": ("c.mp4", mp4_bytes(synth_frames()))}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == DEV
    assert answer.headers["Access-Control-Expose-Headers"] == "Content-Disposition, Retry-After, Location"
    csv = client.get(f"/api/jobs/{answer.json()['id']}/result?format=csv", headers=headers)
    assert csv.headers["Access-Control-Allow-Origin"] == DEV
    # its refusals are readable by the page too (a missing token)
    refused = client.get("/api/model", headers={"Origin": DEV})
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == DEV
    dash = client.delete("/api/jobs/x", headers={"Origin": "https://dash.lab.example",
                                                 "Authorization": f"Bearer {TOKEN}"})
    assert dash.status_code == 404 and dash.headers["Access-Control-Allow-Origin"] == "https://dash.lab.example"


@pytest.mark.parametrize("origin", ["http://localhost:5174", "https://localhost:5173", "http://127.0.0.1:5173",
                                    "https://evil.example", "null"])
def test_other_origins_stay_refused(client, origin):
    preflight = client.options("/api/predict", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code != 204 and "Access-Control-Allow-Origin" not in preflight.headers
    answer = client.delete("/api/jobs/x", headers={"Origin": origin, "Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden_origin"
    assert "Access-Control-Allow-Origin" not in answer.headers and answer.headers["Vary"] == "Origin"


@pytest.mark.parametrize("value", ["*", "localhost:5173", "http://localhost:5173/app", "ftp://x.example", "null"])
def test_what_is_not_an_origin_is_refused_at_start(value):
    with pytest.raises(ConfigError, match="--allow-origin"):
        parse_allowed_origins([value])


def test_serve_passes_allow_origin_to_the_app(checkpoint, monkeypatch):
    from mmnet.cli import main
    from mmnet.commands import serve
    from mmnet.serve import server

    served = []
    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(server, "serve", lambda app, **kwargs: served.append(app) or True)
    assert main(["serve", "--checkpoint", str(checkpoint), "--allow-origin", DEV]) == 0
    with local_client(served[0]) as c:
        answer = c.post("/api/predict", files={"file": ("c.mp4", mp4_bytes(synth_frames()))}, headers={"Origin": DEV})
        assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == DEV


def test_a_listed_origin_reads_the_host_checks_400_and_others_do_not(client):
    for host in ("evil.example", "localhost"):  # a name the server does not answer; the right one for the preflight
        preflight = client.options("/api/model", headers={"Origin": DEV, "Access-Control-Request-Method": "GET",
                                                          "Host": host})
        assert preflight.status_code == 204, host  # else the browser never sends the request, and shows no answer
    refused = client.get("/api/model", headers={"Origin": DEV, "Authorization": f"Bearer {TOKEN}",
                                                "Host": "evil.example"})
    assert refused.status_code == 400 and refused.json()["code"] == "bad_host"
    assert refused.headers["Access-Control-Allow-Origin"] == DEV and "Origin" in refused.headers["Vary"]
    rebound = client.get("/api/model", headers={"Origin": "http://evil.example", "Host": "evil.example"})
    assert rebound.status_code == 400 and rebound.json()["code"] == "bad_host"
    assert "Access-Control-Allow-Origin" not in rebound.headers and rebound.headers["Vary"] == "Origin"


def test_a_bug_is_a_json_500_that_a_listed_origin_reads(predictor, monkeypatch, caplog):
    from mmnet.serve import app as app_module

    def broken(settings):
        raise RuntimeError("bug in private/secret.py")  # a path the answer must not show

    monkeypatch.setattr(app_module, "server_limits", broken)  # GET /api/model fails
    settings = ServeSettings(allow_origins=(DEV,))
    with local_client(create_app(predictor, settings=settings), raise_server_exceptions=False) as c:
        for origin in (DEV, "https://evil.example", None):
            answer = c.get("/api/model", headers={"Origin": origin} if origin else {})
            assert answer.status_code == 500, origin
            body = answer.json()
            assert (body["status"], body["code"]) == (500, "internal") and "server's log" in body["error"]
            assert "secret" not in answer.text and "Traceback" not in answer.text
            assert answer.headers.get("Access-Control-Allow-Origin") == (DEV if origin == DEV else None), origin
            assert answer.headers["Vary"] == "Origin"
    assert "secret.py" in caplog.text and "RuntimeError" in caplog.text  # the traceback is in the log
