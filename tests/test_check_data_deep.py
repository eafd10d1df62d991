"""`mmnet check-data --deep` decodes every frame: a JPEG damaged in its middle keeps its header and end marker, so
the quick check passes it, and only the full decode finds it (what building the frame cache would meet)."""

from __future__ import annotations

from mmnet.cli import main

from .fakes import CASME2_ROWS, write_casme2


def _damage_middle(path) -> None:
    data = path.read_bytes()
    half = len(data) // 2  # past the header and its tables; the end marker (FF D9) stays
    path.write_bytes(data[:half] + b"\0" * (len(data) - half - 2) + data[-2:])


def test_deep_finds_a_frame_damaged_in_its_middle(tmp_path, capsys):
    root = write_casme2(tmp_path / "c", [r for r in CASME2_ROWS if r[1] == "EP02_01f"], junk=False)
    frames = sorted(root.rglob("*.jpg"))
    damaged = frames[len(frames) // 2]
    _damage_middle(damaged)
    assert damaged.read_bytes().endswith(b"\xff\xd9")
    assert main(["check-data", "casme2", "--root", str(root), "--strict"]) == 0
    quick = capsys.readouterr().out
    assert "frame_unreadable" not in quick and "0 error(s), 0 warning(s)" in quick
    assert main(["check-data", "casme2", "--root", str(root), "--strict", "--deep"]) == 1
    deep = " ".join(capsys.readouterr().out.split())
    assert "frame_unreadable" in deep and f"'{damaged.name}' cannot be decoded" in deep
    assert "replace or re-extract it" in deep and "1 error(s)" in deep
