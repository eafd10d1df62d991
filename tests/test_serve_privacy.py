"""What the server leaves behind and who can reach it: the upload folders of a killed server are removed at the
next start; no browser cache keeps a result; the access log and the server's log name no job id; an optional
access token; the start-up lines say who can reach the server."""

import os
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet import held_folders  # noqa: E402
from mmnet.serve import ServeSettings, create_app, upload_root  # noqa: E402
from mmnet.serve.access import hide_secrets  # noqa: E402
from tests.serve_helpers import local_client, mp4_bytes, synth_frames  # noqa: E402

TOKEN = "s3cret-token-for-tests_0123456789"


def _ended_pid() -> int:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # reaped: its pid is free, as that of a server killed by kill -9 or the OOM killer
    return ended.pid


def _serve(argv, monkeypatch, capsys, *, environ=None, stderr=False):
    """`mmnet serve ARGS` up to where it would listen: the app it made and what it printed (on stdout; with
    ``stderr``, on both: (app, out, err))."""
    from mmnet.cli import main
    from mmnet.commands import serve
    from mmnet.serve import server

    served = []
    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(server, "serve", lambda app, **kwargs: served.append(app) or True)
    monkeypatch.delenv("MMNET_SERVE_TOKEN", raising=False)
    for name, value in (environ or {}).items():
        monkeypatch.setenv(name, value)
    assert main(["serve", *argv]) == 0
    printed = capsys.readouterr()
    return (served[0], printed.out, printed.err) if stderr else (served[0], printed.out)


@pytest.mark.skipif(not hasattr(os, "getuid") or held_folders.fcntl is None, reason="POSIX user ids, flock")
def test_the_upload_folders_of_a_killed_server_are_removed_at_start(checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # TMPDIR
    uid, host = os.getuid(), held_folders.host_name()
    killed = tmp_path / f"mmnet-serve-{uid}-{host}-{_ended_pid()}-abcd1234"
    (killed / "job-x").mkdir(parents=True)
    (killed / "job-x" / "video.mp4").write_bytes(b"a participant's face")
    (killed / held_folders.LOCK_NAME).touch()  # nobody holds it any more
    # a server still running, whatever its pid looks like from here (another PID namespace: a container)
    running = held_folders.hold_new_folder(tmp_path, f"mmnet-serve-{uid}-")
    monkeypatch.setattr(held_folders, "process_alive", lambda pid: False)
    other_user = tmp_path / f"mmnet-serve-{uid + 1}-{host}-{_ended_pid()}-abcd1234"  # named for another user
    other_host = tmp_path / f"mmnet-serve-{uid}-elsewhere-{_ended_pid()}-abcd1234"  # TMPDIR on a shared disk
    unrelated = tmp_path / "mmnet-serve-notes"
    for folder in (other_user, other_host, unrelated):
        folder.mkdir()
        (folder / held_folders.LOCK_NAME).touch()
    first_version = tmp_path / "mmnet-serve-k1lled_0"  # the first versions' name: no lock, no pid
    (first_version / "job-abcd_123").mkdir(parents=True)
    (first_version / "job-abcd_123" / "upload.bin").write_bytes(b"a participant's face")
    a_day_later = time.time() + upload_root.OLDEST_STALE_AFTER_S + 60
    monkeypatch.setattr(upload_root, "time", SimpleNamespace(time=lambda: a_day_later))
    app, out = _serve(["--checkpoint", str(checkpoint)], monkeypatch, capsys)
    assert not killed.exists() and running.path.is_dir()
    assert other_user.is_dir() and other_host.is_dir() and unrelated.is_dir()
    assert list(first_version.iterdir()) == []  # its upload removed; the folder kept (its server may still run)
    assert ("removed 2 upload folders left by a server that stopped without cleaning up: "
            f"{killed}, {first_version / 'job-abcd_123'}") in out
    assert app.state.root.name.startswith(f"mmnet-serve-{uid}-{host}-{os.getpid()}-")  # so that the next start knows it
    _, out = _serve(["--checkpoint", str(checkpoint)], monkeypatch, capsys)
    assert "removed" not in out  # nothing left to remove (the first app still holds its folder): no line printed
    running.release()


def test_the_upload_folder_of_an_app_never_served_is_removed_when_its_process_exits(checkpoint, tmp_path):
    """An application mounted in another (whose lifespan it never gets), or a `mmnet serve` stopped before its server
    ran (Ctrl+C, a closed standard output): no lifespan removes its folder, so the process's exit does."""
    script = ("import sys; from mmnet.infer import Predictor; from mmnet.serve import create_app; "
              "app = create_app(Predictor.from_checkpoint(sys.argv[1])); print(app.state.root)")
    done = subprocess.run([sys.executable, "-c", script, str(checkpoint)], capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(tmp_path)}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(tmp_path / "mmnet-serve-")) and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX user ids")
def test_uploads_left_by_a_first_version_server_are_removed_after_a_day(tmp_path, monkeypatch):
    """``mmnet-serve-XXXXXXXX`` (no lock, no pid): its upload folders once nothing in them changed for a day (their
    server removed each when its analysis ended); never the folder itself, which a server of that version still
    running goes on using; nothing of a folder holding anything else, of a link, or of another user."""
    killed = tmp_path / "mmnet-serve-abcd_123"
    clip, frames = killed / "job-clip_123", killed / "job-zip_1234" / "frames"
    clip.mkdir(parents=True)
    (clip / "upload.bin").write_bytes(b"a participant's face")
    frames.mkdir(parents=True)
    (frames / "img1.png").write_bytes(b"a participant's face")
    idle = tmp_path / "mmnet-serve-idle_123"  # a server of that version with nothing to analyse, maybe running
    idle.mkdir()
    notes = tmp_path / "mmnet-serve-notes_12"  # something the server never writes beside a job folder: not its
    (notes / "job-abcd_123").mkdir(parents=True)
    (notes / "notes.txt").write_text("mine")
    elsewhere = tmp_path / "elsewhere" / "job-else_123"  # links lead here: never followed
    elsewhere.mkdir(parents=True)
    (elsewhere / "upload.bin").write_bytes(b"someone's face")
    (tmp_path / "mmnet-serve-link_123").symlink_to(elsewhere.parent)
    linked = tmp_path / "mmnet-serve-linked_1"  # a job folder that is a link: not the server's
    linked.mkdir()
    (linked / "job-link_123").symlink_to(elsewhere)
    kept = sorted(p for p in tmp_path.rglob("*"))

    made = time.time()
    assert upload_root.remove_oldest_uploads(tmp_path) == []  # just changed: maybe an analysis running now
    assert upload_root.remove_oldest_uploads(tmp_path, now=made + upload_root.OLDEST_STALE_AFTER_S - 60) == []
    real_uid = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: real_uid + 1)  # another user's: kept, however old
    a_day_later = made + upload_root.OLDEST_STALE_AFTER_S + 60
    assert upload_root.remove_oldest_uploads(tmp_path, now=a_day_later) == []
    assert sorted(p for p in tmp_path.rglob("*")) == kept
    monkeypatch.setattr(os, "getuid", lambda: real_uid)
    assert upload_root.remove_oldest_uploads(tmp_path, now=a_day_later) == [clip, frames.parent]
    assert killed.is_dir() and list(killed.iterdir()) == [] and idle.is_dir()
    assert sorted(p for p in tmp_path.rglob("*")) == [p for p in kept if killed not in p.parents]


def test_results_and_pictures_are_not_kept_by_browsers(predictor):
    with local_client(create_app(predictor)) as c:
        clip = c.post("/api/predict", files={"file": ("p01.mp4", mp4_bytes(synth_frames()))})
        assert clip.status_code == 200 and clip.headers["cache-control"] == "no-store"
        answers = [c.get(f"/api/jobs/{clip.json()['id']}/result"),
                   c.get(f"/api/jobs/{clip.json()['id']}/result?format=csv"),
                   *(c.get(url) for url in clip.json()["files"].values())]
        assert [(a.status_code, a.headers.get("cache-control")) for a in answers] == [(200, "no-store")] * len(answers)


def test_the_access_log_and_the_log_name_no_job_id(predictor, capfd, caplog):
    import httpx

    from tests.test_serve_shutdown import _Served

    with _Served(create_app(predictor), shutdown_timeout_s=1, access_log=True) as served:
        clip = httpx.post(f"{served.url}/api/predict", headers={"Host": "localhost"},
                          files={"file": ("p01.mp4", mp4_bytes(synth_frames()))}).json()
        assert httpx.get(f"{served.url}/api/jobs/{clip['id']}/result", headers={"Host": "localhost"}).status_code \
            == 200
        encoded = httpx.get(f"{served.url}/api/jobs%2F{clip['id']}/result", headers={"Host": "localhost"})
        assert encoded.status_code == 200  # routed as /api/jobs/ID/result: it must be logged as such
    out, err = capfd.readouterr()
    assert (out + err).count('"GET /api/jobs/<job>/result HTTP/1.1" 200') == 2
    assert clip["id"] not in out + err

    def failing(path, **kwargs):
        raise RuntimeError("a bug")

    with local_client(create_app(predictor, spotter=failing)) as c:
        job = c.post("/api/recordings", files={"file": ("p01.mp4", mp4_bytes(synth_frames()))}).json()
        t0 = time.monotonic()
        while c.get(job["urls"]["state"]).json()["status"] != "failed":
            assert time.monotonic() - t0 < 60
            time.sleep(0.05)
    assert "failed" in caplog.text and job["id"] not in caplog.text


def test_a_token_is_needed_for_the_api_but_not_for_the_page(predictor):
    app = create_app(predictor, model_info={"name": "seed-0/fold-01/model"}, settings=ServeSettings(token=TOKEN))
    with local_client(app, follow_redirects=False) as c:
        for method, path in (("GET", "/api/model"), ("GET", "/api/jobs/x"), ("DELETE", "/api/jobs/x"),
                             ("POST", "/api/predict"), ("GET", "/api/jobs/x/events"), ("POST", "/"),
                             ("GET", "/api//model")):
            answer = c.request(method, path)
            assert answer.status_code == 401, (method, path)
            assert "access token" in answer.json()["error"] and answer.headers["www-authenticate"].startswith("Bearer")
        # the page, its files and the API's documentation hold no data: they load, and the page asks for the token
        for path in ("/", "/static/app.js", "/static/access.js", "/docs", "/openapi.json"):
            assert c.get(path).status_code == 200, path
        assert c.get("/api/model", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
        health = c.get("/api/health")
        assert health.status_code == 200 and health.json()["model"] is None  # no folder names to those without it
        assert "jobs" not in health.json() and "load" not in health.json()  # nor what the server is doing
        assert c.get("/api/model", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        clip = c.post("/api/predict", headers={"Authorization": f"Bearer {TOKEN}"},
                      files={"file": ("p01.mp4", mp4_bytes(synth_frames()))})
        assert clip.status_code == 200
        schema = app.openapi()
        assert "401" in schema["paths"]["/api/predict"]["post"]["responses"]
        assert "401" not in schema["paths"]["/api/health"]["get"]["responses"]
        assert schema["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
        assert schema["paths"]["/api/predict"]["post"]["security"] == [{"token": []}]


def test_under_a_proxys_sub_path_the_page_is_open_and_the_api_needs_the_token(predictor):
    from fastapi.testclient import TestClient
    from starlette.applications import Starlette
    from starlette.routing import Mount

    proxied = Starlette(routes=[Mount("/mmnet", create_app(predictor, settings=ServeSettings(token=TOKEN)))])
    with TestClient(proxied, base_url="http://localhost") as c:
        assert [c.get(f"/mmnet/{path}").status_code for path in ("", "static/app.js", "docs")] == [200] * 3
        assert c.get("/mmnet/api/model").status_code == 401
        assert c.get("/mmnet/api/model", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_no_cookie_and_no_token_in_the_query_is_accepted(predictor):
    """Browsers send a cookie of 127.0.0.1 to every port of it; a token in the query reaches the logs and the
    history. Only the header lets a request in; a token in the query is refused, saying where it goes."""
    with local_client(create_app(predictor, settings=ServeSettings(token=TOKEN)), follow_redirects=False) as c:
        for name in ("mmnet-token", "mmnet-token-" + "0" * 12, "token"):
            assert c.get("/api/model", headers={"Cookie": f"{name}={TOKEN}"}).status_code == 401
        for address in (f"/?token={TOKEN}", f"/?%74oken={TOKEN}", f"/api/model?token={TOKEN}",
                        f"/docs?x=1&token={TOKEN}",
                        "/%5C%5Cevil.example?token=x", "/%E2%82%AC?token=x"):
            answer = c.get(address)
            assert answer.status_code == 401, address
            assert "#token=" in answer.json()["error"] and "set-cookie" not in answer.headers, address


def test_uploads_and_deletes_from_another_origin_are_refused(predictor):
    """A page on another port of this computer is "same-site": its forms would reach the server (CSRF)."""
    clip = {"file": ("p01.mp4", mp4_bytes(synth_frames()))}
    with local_client(create_app(predictor)) as c:
        for origin in ("http://127.0.0.1:9999", "http://localhost:9999", "https://evil.example", "null"):
            answer = c.post("/api/predict", files=clip, headers={"Origin": origin})
            assert answer.status_code == 403 and "another site or port" in answer.json()["error"], origin
            assert c.delete("/api/jobs/x", headers={"Origin": origin}).status_code == 403, origin
        assert c.post("/api/predict", files=clip, headers={"Origin": "http://localhost"}).status_code == 200
        assert c.post("/api/predict", files=clip).status_code == 200  # scripts send no Origin
        assert c.get("/api/model", headers={"Origin": "http://127.0.0.1:9999"}).status_code == 200  # reads: CORS
        behind_proxy = {"Origin": "https://lab.example", "X-Forwarded-Host": "lab.example"}
        assert c.delete("/api/jobs/x", headers=behind_proxy).status_code == 404



def test_uploads_through_a_proxy_that_replaces_host_are_accepted_from_the_allowed_host(predictor):
    """nginx's plain proxy_pass sends its own address as Host and no X-Forwarded-Host: the page's Origin names the
    public name the operator gave with --allowed-host, which passes; another site and this computer's other ports
    are still refused, even when the operator lists a loopback name too."""
    settings = ServeSettings(allowed_hosts=("lab.example", "localhost", "[::1]"))
    with local_client(create_app(predictor, settings=settings)) as c:
        for origin in ("https://lab.example", "http://lab.example:8443", "https://LAB.example/"):
            assert c.delete("/api/jobs/abcdefabcdef", headers={"Origin": origin}).status_code == 404, origin
        for origin in ("https://evil.example", "https://lab.example.evil.example", "http://localhost:9999",
                       "http://[::1]:9999", "null"):
            answer = c.delete("/api/jobs/abcdefabcdef", headers={"Origin": origin})
            assert answer.status_code == 403 and "X-Forwarded-Host" in answer.json()["error"], origin


def test_the_log_shows_no_job_id_or_token_however_the_path_is_written():
    assert hide_secrets("/api/jobs%2Fabc123def/state") == "/api/jobs/<job>/state"
    assert hide_secrets("/api/jobs/abc123def%2Fstate") == "/api/jobs/<job>/state"
    assert hide_secrets("/api%2Fjobs%2Fabc123def") == "/api/jobs/<job>"
    assert hide_secrets(f"/?%74oken={TOKEN}&x=1") == "/?%74oken=<hidden>&x=1"
    assert hide_secrets(f"/?x=1&TOKEN={TOKEN}") == "/?x=1&TOKEN=<hidden>"
    assert hide_secrets("/a%0Ab") == "/a%0Ab"  # no line break in the log


def test_without_a_token_every_request_is_answered(predictor):
    app = create_app(predictor, model_info={"name": "seed-0/fold-01/model"})
    with local_client(app) as c:
        assert c.get("/api/model").status_code == 200 and c.get("/").status_code == 200
        assert c.get("/api/health").json()["model"] == "seed-0/fold-01/model"
    assert "401" not in app.openapi()["paths"]["/api/predict"]["post"]["responses"]


def test_the_start_up_lines_say_who_can_reach_the_server(checkpoint, monkeypatch, capsys):
    from fastapi.testclient import TestClient

    ckpt = ["--checkpoint", str(checkpoint)]
    _, out, err = _serve(ckpt, monkeypatch, capsys, stderr=True)
    assert "note: anyone with an account on this computer can open it; --token keeps them out" in err
    assert "reachable from the network" not in out + err
    # the warning on stderr, as the server's other warnings; stdout keeps the address to open
    _, out, err = _serve([*ckpt, "--host", "0.0.0.0"], monkeypatch, capsys, stderr=True)
    assert "warning: listening on 0.0.0.0, reachable from the network, unencrypted and without login" in err
    assert "TLS reverse proxy" in err and "http://127.0.0.1:" in out and "reachable" not in out
    _, out = _serve([*ckpt, "--host", "::"], monkeypatch, capsys)  # IPv6 only: 127.0.0.1 would be refused
    assert "http://[::1]:" in out and "127.0.0.1" not in out
    app, out, err = _serve([*ckpt, "--token", "auto"], monkeypatch, capsys, stderr=True)
    token = out.split("/#token=")[1].split()[0]
    assert len(token) >= 40 and "anyone with an account" not in out + err
    with TestClient(app, base_url="http://localhost") as c:
        assert c.get("/api/model").status_code == 401
        assert c.get("/api/model", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    app, out = _serve(ckpt, monkeypatch, capsys, environ={"MMNET_SERVE_TOKEN": TOKEN})
    # a token from the environment is not printed: standard output may be kept (nohup.out, a journal)
    assert "/#token=<the value of $MMNET_SERVE_TOKEN> in a browser" in out and TOKEN not in out
    with TestClient(app, base_url="http://localhost") as c:
        assert c.get("/api/model", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_short_token_is_refused(checkpoint, monkeypatch, capsys):
    from mmnet.cli import main
    from mmnet.commands import serve

    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    assert main(["serve", "--checkpoint", str(checkpoint), "--token", "abc"]) != 0
    assert "--token must be at least 16 characters" in capsys.readouterr().err
