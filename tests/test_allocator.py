import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmnet.runtime import mimalloc_environment, mimalloc_library

SCRIPT = """
import sys
from mmnet.runtime import active_allocator, reexec_with_mimalloc
print("started", flush=True)
reexec_with_mimalloc()
print(active_allocator(), sys.argv[1:])
"""


def test_environment_preloads_mimalloc_and_keeps_user_settings():
    lib = Path("/x/libmimalloc.so")
    env = mimalloc_environment({"LD_PRELOAD": "/y/libother.so", "MIMALLOC_PURGE_DELAY": "10"}, lib)
    assert env["LD_PRELOAD"] == "/x/libmimalloc.so:/y/libother.so"
    assert env["MIMALLOC_PURGE_DELAY"] == "10"  # the user's value wins
    assert mimalloc_environment({}, lib)["MIMALLOC_PURGE_DELAY"] == "-1"


def _run(tmp_path, **env):
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT)
    environ = {k: v for k, v in os.environ.items() if k not in ("MMNET_ALLOCATOR", "MMNET_ALLOCATOR_REEXEC")}
    r = subprocess.run([sys.executable, str(script), "--flag", "value with spaces"], capture_output=True, text=True,
                       env={**environ, **env}, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


@pytest.mark.skipif(sys.platform != "linux" or mimalloc_library() is None, reason="needs cmeel-mimalloc on Linux")
def test_process_restarts_once_on_mimalloc_with_its_arguments(tmp_path):
    lines = _run(tmp_path)
    # "started" twice: the original process, then the re-executed one (which does not restart again).
    assert lines == ["started", "started", "mimalloc ['--flag', 'value with spaces']"]


def test_system_allocator_on_request(tmp_path):
    assert _run(tmp_path, MMNET_ALLOCATOR="system") == ["started", "system ['--flag', 'value with spaces']"]
