"""`mmnet synth` twice with the same options writes the same bytes: every file, the annotation workbooks too."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

from mmnet.cli import main


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _twice(tmp_path: Path, monkeypatch, args: list[str]) -> tuple[dict, dict]:
    """The command run into two folders, the second a year later by the clock (zip entries carry the time)."""
    real = time.time
    for name, shift in (("a", 0.0), ("b", 400 * 86400.0)):
        monkeypatch.setattr(time, "time", lambda s=shift: real() + s)
        assert main(["synth", str(tmp_path / name), *args, "--no-progress"]) == 0
    monkeypatch.setattr(time, "time", real)
    return _files(tmp_path / "a"), _files(tmp_path / "b")


def test_a_clip_set_is_written_byte_for_byte_again(tmp_path, monkeypatch):
    # the annotation .xlsx differed run to run (docProps/core.xml dcterms:modified and the zip entries' dates),
    # while run folders record its sha256 to tell data sets apart
    a, b = _twice(tmp_path, monkeypatch, ["--subjects", "1", "--clips-per-subject", "2", "--seed", "3"])
    assert "CASME2-coding-20190701.xlsx" in a and a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    with zipfile.ZipFile(tmp_path / "a" / "CASME2-coding-20190701.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(2019, 7, 1, 0, 0, 0)}
        assert "<dcterms:modified" in (core := z.read("docProps/core.xml").decode())
        assert "2019-07-01T00:00:00Z</dcterms:modified>" in core


def test_a_long_set_is_written_byte_for_byte_again(tmp_path, monkeypatch):
    formats = ["jpg", "mp4"] if _has_av() else ["jpg"]
    a, b = _twice(tmp_path, monkeypatch, ["--long", "--minutes", "0.02", "--size", "160", "128", "--seed", "2",
                                          "--format", *formats])
    assert "CAS(ME)^2code_final.xlsx" in a and a.keys() == b.keys()
    assert not formats[1:] or any(k.endswith(".mp4") for k in a)
    assert [k for k in a if a[k] != b[k]] == []


def _has_av() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True
