"""`mmnet serve --port 0`: the system picks a free port and the address printed is the one served, so that several
people sharing one machine (a class) each start a server without choosing ports."""

import re
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

import httpx  # noqa: E402

ADDRESS = re.compile(r"open http://127\.0\.0\.1:(\d+)/ in a browser")


def _address_printed(server: subprocess.Popen, limit_s: float = 120) -> int:
    """The port of the 'open http://...' line a starting `mmnet serve` prints."""
    t0 = time.monotonic()
    for line in server.stdout:
        if found := ADDRESS.search(line):
            return int(found.group(1))
        assert time.monotonic() - t0 < limit_s, "no address printed"
    raise AssertionError(f"the server ended without an address: {server.stderr.read()}")


def test_port_0_serves_on_the_free_port_it_prints(checkpoint):
    command = [sys.executable, "-m", "mmnet", "serve", "--checkpoint", str(checkpoint), "--port", "0",
               "--shutdown-timeout", "1"]
    servers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]  # two people on one machine, neither choosing a port
    try:
        ports = [_address_printed(server) for server in servers]
        assert 0 not in ports and ports[0] != ports[1], ports
        for port in ports:
            t0 = time.monotonic()
            while True:  # the address is printed just before uvicorn starts listening
                try:
                    answer = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10)
                    break
                except httpx.ConnectError:
                    assert time.monotonic() - t0 < 30, f"nothing listens on the port printed ({port})"
                    time.sleep(0.1)
            assert answer.status_code == 200 and answer.json()["status"] == "ok", answer.text
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM if hasattr(signal, "SIGTERM") else signal.SIGINT)
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            server.stdout.close(), server.stderr.close()
