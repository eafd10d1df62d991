"""/openapi.json says what the server answers (every error as {"error", "status"}, the media types it sends;
``serve_helpers.local_client`` checks each answer of the other serve tests against it), and the server answers
only requests that name it as this computer does (no DNS rebinding)."""

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from fastapi.testclient import TestClient  # noqa: E402

from mmnet.serve import ServeSettings, create_app  # noqa: E402
from mmnet.serve.settings import is_loopback  # noqa: E402
from tests.serve_helpers import fake_spotter, local_client, mp4_bytes, synth_frames  # noqa: E402

ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture(scope="module")
def client(predictor):
    with local_client(create_app(predictor, spotter=fake_spotter()), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def schema(client):
    return client.get("/openapi.json").json()


def test_every_error_is_documented_as_the_error_body_the_server_sends(schema):
    assert schema["components"]["schemas"]["ErrorBody"]["required"] == ["error", "status", "code"]
    assert "HTTPValidationError" not in str(schema) and "ValidationError" not in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            errors = {code: r for code, r in operation["responses"].items() if int(code) >= 400}
            assert "500" in errors, (method, path)
            for code, response in errors.items():
                assert response["content"] == {"application/json": {"schema": ERROR_BODY}}, (method, path, code)


@pytest.mark.parametrize("method, path, codes", [
    ("post", "/api/predict", {"200", "400", "403", "413", "415", "422", "500", "503", "504", "507"}),
    ("post", "/api/recordings", {"202", "400", "403", "413", "415", "422", "500", "501", "503", "507"}),
    ("get", "/api/jobs/{job_id}", {"200", "400", "404", "500"}),  # 400: the Host check
    ("get", "/api/jobs/{job_id}/result", {"200", "400", "404", "409", "422", "500"}),  # a failed job: 409 job_failed
    ("delete", "/api/jobs/{job_id}", {"204", "400", "403", "404", "500"}),  # 403: from another site's page
])
def test_each_endpoint_declares_the_statuses_it_answers(schema, method, path, codes):
    assert set(schema["paths"][path][method]["responses"]) == codes


def test_every_operation_but_the_health_check_declares_the_host_checks_400(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert ("400" in operation["responses"]) is (path != "/api/health"), (method, path)


def test_media_types_and_bodies_are_those_sent(schema, client):
    paths = schema["paths"]
    assert list(paths["/api/jobs/{job_id}/events"]["get"]["responses"]["200"]["content"]) == ["text/event-stream"]
    assert list(paths["/api/jobs/{job_id}/files/{name}"]["get"]["responses"]["200"]["content"]) == ["image/png"]
    result = paths["/api/jobs/{job_id}/result"]["get"]
    assert set(result["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert [p["schema"]["enum"] for p in result["parameters"] if p["name"] == "format"] == [["json", "csv"]]
    components = schema["components"]["schemas"]
    assert {"id", "status", "progress", "stage", "urls"} <= set(components["JobState"]["properties"])
    assert {"label", "probabilities", "onset", "apex", "files"} <= set(components["Prediction"]["properties"])
    assert {"intervals", "fps", "curve", "files"} <= set(components["RecordingResult"]["properties"])
    for path, operation in (("/api/predict", "post"), ("/api/health", "get"), ("/api/model", "get")):
        assert paths[path][operation]["responses"]["200"]["content"]["application/json"]["schema"] != {}, path

    # what the server sends for them, checked against the schema by local_client
    video = mp4_bytes(synth_frames())
    clip = client.post("/api/predict", files={"file": ("c.mp4", video)}).json()
    assert client.get(clip["files"]["apex.png"]).headers["content-type"] == "image/png"
    assert client.get(f"/api/jobs/{clip['id']}/result?format=csv").headers["content-type"].startswith("text/csv")
    wrong = client.get(f"/api/jobs/{clip['id']}/result?format=xml")
    assert wrong.status_code == 422 and "format: must be json or csv" in wrong.json()["error"], wrong.text
    job = client.post("/api/recordings", files={"file": ("r.mp4", video)}).json()
    with client.stream("GET", job["urls"]["events"]) as events:
        assert events.headers["content-type"].startswith("text/event-stream")
    assert client.get("/api/jobs/nope/files/x.png").status_code == 404
    assert client.delete("/api/jobs/nope").status_code == 404


def test_an_undeclared_answer_is_caught(schema, client):
    from tests.serve_helpers import assert_documented

    answer = client.get("/api/health")
    answer.status_code = 409
    with pytest.raises(AssertionError, match="does not declare"):
        assert_documented(schema, answer)


def test_requests_naming_another_host_are_refused(predictor):
    with TestClient(create_app(predictor), base_url="http://localhost") as c:  # the default: 127.0.0.1
        refused = c.get("/api/model", headers={"Host": "evil.example"})
        assert refused.status_code == 400 and refused.json()["status"] == 400  # JSON, as every other error
        assert "'evil.example'" in refused.json()["error"] and "--allowed-host evil.example" in refused.json()["error"]
        assert "localhost" in refused.json()["error"]  # the names it answers
        assert c.get("/", headers={"Host": "evil.example:8000"}).status_code == 400
        assert c.get("/", headers={"Host": ""}).json()["status"] == 400
        for host in ("localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000"):
            assert c.get("/api/health", headers={"Host": host}).status_code == 200, host
        assert c.get("/").status_code == 200 and c.get("/api/model").status_code == 200
    settings = ServeSettings(host="192.168.1.5", allowed_hosts=("mmnet.lab.example", "Proxy.Lab.Example:8443"))
    with TestClient(create_app(predictor, settings=settings)) as c:
        for host, status in (("192.168.1.5:8000", 200), ("mmnet.lab.example", 200), ("evil.example", 400),
                             ("proxy.lab.example", 200), ("PROXY.lab.example:80", 200), ("lab.example", 400)):
            assert c.get("/api/model", headers={"Host": host}).status_code == status, host
    assert ServeSettings(host="0.0.0.0").trusted_hosts == ["*"]  # every interface: every name, unless told
    assert "evil.example" not in ServeSettings(host="::", allowed_hosts=("mmnet.lab.example",)).trusted_hosts


def test_every_spelling_of_every_interface_answers_network_names(predictor):
    """::0, 0 and the long IPv6 zero listen on every interface as 0.0.0.0 and :: do: a request by the machine's
    address must not be refused (400 bad_host), and an IPv6 address typed long is answered as clients shorten it."""
    for host in ("0.0.0.0", "::", "::0", "0", "0:0:0:0:0:0:0:0", "[::]"):
        assert ServeSettings(host=host).trusted_hosts == ["*"], host
    assert "[fe80::1]" in ServeSettings(host="fe80:0:0::1").trusted_hosts
    assert "127.0.0.1" in ServeSettings(host="127.1").trusted_hosts  # inet_aton's short form, bound as 127.0.0.1
    assert is_loopback("127.1") and not is_loopback("0") and not is_loopback("lab.example")
    with TestClient(create_app(predictor, settings=ServeSettings(host="::0"))) as c:
        assert c.get("/api/model", headers={"Host": "192.168.1.5:8000"}).status_code == 200
    with TestClient(create_app(predictor, settings=ServeSettings(host="fe80:0:0::1"))) as c:
        assert c.get("/api/model", headers={"Host": "[fe80::1]:8000"}).status_code == 200
        assert c.get("/api/model", headers={"Host": "evil.example"}).status_code == 400


def test_health_probes_are_answered_whatever_the_host(predictor):
    """kubelet and Docker probe /api/health by the pod's or container's address, which --allowed-host cannot list."""
    settings = ServeSettings(host="0.0.0.0", allowed_hosts=("proxy.example",))
    with TestClient(create_app(predictor, settings=settings)) as c:
        probe = c.get("/api/health", headers={"Host": "192.0.2.2:8732"})
        assert probe.status_code == 200 and probe.json()["status"] == "ok"
        assert c.head("/api/health", headers={"Host": "192.0.2.2"}).status_code == 200
        for method, path in (("GET", "/api/model"), ("GET", "/api/health/"), ("POST", "/api/health"),
                             ("GET", "/api/jobs/x"), ("GET", "/")):
            assert c.request(method, path, headers={"Host": "192.0.2.2:8732"}).status_code == 400, (method, path)


def test_serve_passes_host_and_allowed_hosts_to_the_app(checkpoint, monkeypatch):
    from mmnet.cli import main
    from mmnet.commands import serve
    from mmnet.serve import server

    served = []
    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(server, "serve", lambda app, **kwargs: served.append(app) or True)
    assert main(["serve", "--checkpoint", str(checkpoint), "--allowed-host", "mmnet.lab.example"]) == 0
    with TestClient(served[0]) as c:
        for host, status in (("mmnet.lab.example", 200), ("127.0.0.1:8000", 200), ("evil.example", 400)):
            assert c.get("/api/model", headers={"Host": host}).status_code == status, host


def test_every_field_sent_is_declared(predictor, checkpoint):
    """The keys of a prediction, the model's description and a recording's result (an interval's too) are all
    in their /openapi.json models, so that the schema cannot fall behind what is sent."""
    from mmnet.serve.model_info import describe_checkpoint
    from tests.serve_helpers import recording_done

    app = create_app(predictor, spotter=fake_spotter(), model_info=describe_checkpoint(checkpoint, predictor))
    with local_client(app) as c:
        models = c.get("/openapi.json").json()["components"]["schemas"]

        def undeclared(answer: dict, model: str) -> set:
            return set(answer) - set(models[model]["properties"])

        video = mp4_bytes(synth_frames())
        clip = c.post("/api/predict", files={"file": ("c.mp4", video)}).json()
        assert undeclared(clip, "Prediction") == set()
        assert undeclared(c.get(f"/api/jobs/{clip['id']}/result").json(), "Prediction") == set()
        assert undeclared(c.get("/api/model").json(), "ModelInfo") == set()
        assert undeclared(c.get("/api/health").json(), "Health") == set()
        job = recording_done(c, video)
        result = c.get(job["urls"]["result"]).json()
        assert undeclared(result, "RecordingResult") == set()
        assert result["intervals"] and all(undeclared(iv, "Interval") == set() for iv in result["intervals"])
        assert undeclared(result["curve"], "Curve") == set()
        assert undeclared(job, "JobState") == set() and undeclared(c.get(job["urls"]["state"]).json(), "JobState") \
            == set()


def test_the_page_works_under_a_proxys_sub_path(predictor):
    """A reverse proxy may serve the page under a prefix (/mmnet/ -> /): its assets and the API are asked for
    relative to the page, never by absolute paths that would miss the prefix."""
    import re
    from urllib.parse import urljoin

    from starlette.applications import Starlette
    from starlette.routing import Mount

    from mmnet.serve.app import STATIC

    proxied = Starlette(routes=[Mount("/mmnet", create_app(predictor))])
    with TestClient(proxied, base_url="http://localhost") as c:
        page = c.get("/mmnet/")
        assert page.status_code == 200
        links = [u for u in re.findall(r'(?:src|href)="([^"]+)"', page.text) if not u.startswith("data:")]
        assert {"static/app.js", "static/access.js", "static/style.css", "docs"} <= set(links), links
        for link in links:
            assert c.get(urljoin("http://localhost/mmnet/", link)).status_code == 200, link
    script = (STATIC / "app.js").read_text(encoding="utf-8") + (STATIC / "access.js").read_text(encoding="utf-8")
    assert re.findall(r"""[("'`]/(?:api|static|docs)\b""", script) == []  # fetch("/api/...") would miss it
    assert re.search(r"""api\("api/model"\)""", script)


def test_fields_sent_only_at_times_are_declared_too(schema):
    """A clip's `note` (no attention figure), a recording's `note` (pictures of the first 200 intervals only), a
    failed job's `error_status` and `error_code`, every result's `model`: sent only in some cases, declared always."""
    models = schema["components"]["schemas"]
    assert {"note", "model"} <= set(models["Prediction"]["properties"])
    assert {"note", "model"} <= set(models["RecordingResult"]["properties"])
    assert {"error_status", "error_code"} <= set(models["JobState"]["properties"])
    assert {"sha256", "model"} <= set(models["ModelInfo"]["properties"])
