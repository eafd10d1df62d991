"""`mmnet spot --out DIR` holds a lock on DIR while it runs: a second spot into the same folder is refused, naming
the first (both exited 0, one's results silently replacing the other's, and the second's start deleted the first's
progress being written, which then could not be saved)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmnet.cli import main
from mmnet.commands import spot

pytest.importorskip("fcntl")


def _recording(folder: Path) -> Path:
    """A recording that exists (spot says a missing one before anything else; _spot, which would read it, is
    replaced in these tests)."""
    path = folder / "recording.mp4"
    path.touch()
    return path

# A spot whose spotting writes a progress temporary, then waits for the gate file before it ends (writing nothing).
FIRST = """import sys, time
from pathlib import Path
from mmnet.cli import main
from mmnet.commands import spot

def spotting(args):
    (args.out / ".mmnet-spot-partial.npz.1.tmp").write_bytes(b"being written")
    print("spotting", flush=True)
    deadline = time.monotonic() + 60
    while not Path(sys.argv[2]).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    (args.out / ".mmnet-spot-partial.npz.1.tmp").unlink()
    return 0

spot._spot = spotting
sys.exit(main(["spot", sys.argv[3], "--out", sys.argv[1], "--no-progress"]))
"""


def test_a_second_spot_into_the_same_out_folder_is_refused_naming_the_first(tmp_path, monkeypatch, capsys):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    out, gate = tmp_path / "spots", tmp_path / "go"
    first = subprocess.Popen([sys.executable, "-c", FIRST, str(out), str(gate), str(_recording(tmp_path))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    spotted = []
    monkeypatch.setattr(spot, "_spot", lambda args: spotted.append(args.out) or 0)
    try:
        assert first.stdout.readline().strip() == "spotting", first.communicate()
        assert main(["spot", str(_recording(tmp_path)), "--out", str(out), "--no-progress"]) == 3
    finally:
        gate.touch()
        first.communicate(timeout=60)
    err = capsys.readouterr().err
    assert f"'{out}' is in use by another mmnet spot (pid {first.pid} on host " in err and "another --out" in err
    assert spotted == [] and first.returncode == 0
    assert not out.exists()  # the first wrote nothing: its folder is not left behind, nor a lock file in it

    def results(args):
        (args.out / "spot.json").write_text("{}")
        return 0

    monkeypatch.setattr(spot, "_spot", results)
    assert main(["spot", str(_recording(tmp_path)), "--out", str(out), "--no-progress"]) == 0  # free again
    assert [p.name for p in out.iterdir()] == ["spot.json"]


def test_a_spot_into_an_existing_folder_leaves_it_as_it_was_but_its_results(tmp_path, monkeypatch):
    out = tmp_path / "spots"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    monkeypatch.setattr(spot, "_spot", lambda args: 0)
    assert main(["spot", str(_recording(tmp_path)), "--out", str(out), "--no-progress"]) == 0
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()

    def fails(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(spot, "_spot", fails)
    assert main(["spot", str(_recording(tmp_path)), "--out", str(empty), "--no-progress"]) == 130
    assert empty.is_dir() and list(empty.iterdir()) == []  # the user's folder stays
