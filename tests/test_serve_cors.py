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
