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


#: The commands that run the network: the `mmnet` command restarts on mimalloc for them (docs/performance.md).
TENSOR_COMMANDS = {"demo", "train", "sweep", "predict", "explain", "spot", "train-spotter", "export", "serve"}


def test_the_commands_doing_tensor_work_are_those_restarted_on_mimalloc():
    import importlib

    from mmnet.cli import COMMANDS

    marked = {name for name, module in COMMANDS.items() if getattr(importlib.import_module(module), "ON_MIMALLOC", 0)}
    assert marked == TENSOR_COMMANDS


class _Restarted(Exception):
    pass


def _restarts(monkeypatch, *argv: str) -> bool:
    """Whether `mmnet ARGV` (a command line: argv None) asks for the restart, stopped there."""
    from mmnet import cli, runtime

    def restart():
        raise _Restarted

    monkeypatch.setattr(runtime, "reexec_with_mimalloc", restart)
    monkeypatch.setattr(sys, "argv", ["mmnet", *argv])  # (conftest sets back the variables it sets)
    try:
        cli.main(None)
    except _Restarted:
        return True
    except SystemExit:  # --help
        pass
    return False


def test_a_command_line_restarts_only_once_parsed_and_for_tensor_work(tmp_path, monkeypatch, capsys):
    assert _restarts(monkeypatch, "export", "--checkpoint", str(tmp_path / "none"))
    assert _restarts(monkeypatch, "train", "--dataset", "table", "--root", str(tmp_path))
    assert not _restarts(monkeypatch, "--help")
    assert not _restarts(monkeypatch, "train", "--help")  # parsed first: help needs no restart
    assert not _restarts(monkeypatch, "check-data", "table", "--root", str(tmp_path / "none"))
    assert not _restarts(monkeypatch, "train", "--no-such-option")  # the usage error comes once, from one process
    capsys.readouterr()


@pytest.mark.skipif(sys.platform != "linux" or mimalloc_library() is None, reason="needs cmeel-mimalloc on Linux")
def test_help_starts_python_once_and_a_tensor_command_twice(tmp_path):
    # -X importtime travels with the restart (sys.orig_argv): each process lists its import of mmnet
    environ = {k: v for k, v in os.environ.items() if k not in ("MMNET_ALLOCATOR", "MMNET_ALLOCATOR_REEXEC")}

    def starts(*argv: str) -> int:
        r = subprocess.run([sys.executable, "-X", "importtime", "-m", "mmnet", *argv], capture_output=True,
                           text=True, env=environ, timeout=120)
        return sum(line.rstrip().endswith("| mmnet") for line in r.stderr.splitlines())

    assert starts("--help") == 1
    assert starts("export", "--checkpoint", str(tmp_path / "none")) == 2
