"""Atomic writes on every platform: binary temporaries (Windows), and sets of files replaced all or nothing."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from mmnet import utils
from mmnet.cli import main
from mmnet.utils import atomic_write_bytes, replace_files_together

from .fake_runs import make_samples, write_run

O_BINARY_STAND_IN = 1 << 30  # no flag of Linux' open(); stripped before the real call


def test_temporary_files_are_opened_in_binary_mode(tmp_path, monkeypatch):
    # Windows opens a file without O_BINARY in text mode: every b"\n" would be written as b"\r\n"
    real_open = os.open
    flags_seen = []

    def spy(path, flags, *args, **kwargs):
        flags_seen.append(flags)
        return real_open(path, flags & ~O_BINARY_STAND_IN, *args, **kwargs)

    monkeypatch.setattr(os, "O_BINARY", O_BINARY_STAND_IN, raising=False)
    monkeypatch.setattr(os, "open", spy)
    data = b"line 1\nline 2\r\n\x00\xff"
    atomic_write_bytes(tmp_path / "model.safetensors", data)
    assert flags_seen and all(f & O_BINARY_STAND_IN for f in flags_seen), flags_seen
    assert (tmp_path / "model.safetensors").read_bytes() == data


def _locked(monkeypatch, *locked: Path) -> None:
    """Simulate Windows, where a file open in another program (Excel, a PDF viewer) cannot be renamed or replaced."""
    real_replace = os.replace
    monkeypatch.setattr(utils, "_WINDOWS", True)

    def replace(src, dst, **kwargs):
        if {Path(src), Path(dst)} & set(locked):
            raise PermissionError(errno.EACCES, "Permission denied", str(src), None, str(dst))
        return real_replace(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def _old_files(folder: Path) -> dict[str, bytes]:
    folder.mkdir()
    old = {name: f"old {name}\n".encode() for name in ("a.json", "b.pdf", "c.md", "gone.png")}
    for name, data in old.items():
        (folder / name).write_bytes(data)
    return old


@pytest.mark.parametrize("hard_links", [True, False], ids=["hard-links", "no-hard-links"])
def test_a_file_that_cannot_be_replaced_leaves_every_old_file_in_place(tmp_path, monkeypatch, hard_links):
    folder = tmp_path / "run"
    old = _old_files(folder)
    if not hard_links:  # FAT, some network shares: the old files are moved aside instead
        monkeypatch.setattr(os, "link", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EPERM, "no links")))
    _locked(monkeypatch, folder / "b.pdf")
    new = {"a.json": b"new a\n", "b.pdf": b"new b\n", "c.md": b"new c\n", "added.svg": b"new\n"}
    with pytest.raises(PermissionError) as err:
        replace_files_together(folder, new, remove=["gone.png"])
    assert err.value.filename == str(folder / "b.pdf")
    assert "may be open in another program" in err.value.strerror
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == old  # no temporary left, nothing half replaced


@pytest.mark.parametrize("hard_links", [True, False], ids=["hard-links", "no-hard-links"])
def test_all_files_are_replaced_together(tmp_path, monkeypatch, hard_links):
    folder = tmp_path / "run"
    _old_files(folder)
    if not hard_links:
        monkeypatch.setattr(os, "link", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EPERM, "no links")))
    new = {"a.json": b"new a\n", "b.pdf": b"new b\n", "added.svg": b"new\n"}
    replace_files_together(folder, new, remove=["gone.png", "never-there.png"])
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == new | {"c.md": b"old c.md\n"}


def test_a_folder_in_a_files_place_leaves_every_old_file_in_place(tmp_path):
    folder = tmp_path / "run"
    old = _old_files(folder)
    (folder / "b.pdf").unlink()
    (folder / "b.pdf").mkdir()
    del old["b.pdf"]
    with pytest.raises(OSError) as err:
        replace_files_together(folder, {"a.json": b"new", "b.pdf": b"new", "c.md": b"new"}, remove=["gone.png"])
    assert err.value.filename == str(folder / "b.pdf")
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == old
    assert sorted(p.name for p in folder.iterdir()) == sorted([*old, "b.pdf"])


def test_a_report_open_in_another_program_is_named_and_the_old_report_kept(tmp_path, monkeypatch, capsys):
    run = write_run(tmp_path / "run", make_samples({"1": [0, 1, 2], "2": [2, 1, 0]}),
                    lambda seed, epoch, s: s["class_index"])
    assert main(["report", str(run)]) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    capsys.readouterr()
    _locked(monkeypatch, run / "per_subject.pdf")
    assert main(["report", str(run), "--selection", "paper"]) == 1  # would change report.json and add figures
    out, err = capsys.readouterr()
    assert "UF1" in out  # the scores are printed; the files are not written
    assert err.startswith(f"warning: the report files were not written: '{run / 'per_subject.pdf'}': Permission "
                          "denied; it may be open in another program (Excel, a PDF viewer): close it and rerun"), err
    assert "copy the run folder" not in err  # closing the file is the remedy
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


def test_a_single_file_that_cannot_be_replaced_is_named_with_the_likely_cause(tmp_path, monkeypatch):
    _locked(monkeypatch, tmp_path / "summary.csv")
    with pytest.raises(PermissionError, match="may be open in another program") as err:
        atomic_write_bytes(tmp_path / "summary.csv", b"x")
    assert err.value.filename == str(tmp_path / "summary.csv")
    assert list(tmp_path.iterdir()) == []


def test_a_refused_rename_on_posix_is_named_without_the_windows_guess(tmp_path, monkeypatch):
    # a sticky shared folder refuses to replace another user's file: no program holds it open there
    _locked(monkeypatch, tmp_path / "record.json")
    monkeypatch.setattr(utils, "_WINDOWS", False)
    with pytest.raises(PermissionError) as err:
        atomic_write_bytes(tmp_path / "record.json", b"x")
    assert err.value.strerror == "Permission denied" and err.value.filename == str(tmp_path / "record.json")


def test_a_resume_state_is_saved_with_one_copy_of_it_in_memory_and_the_same_bytes(tmp_path):
    # the body was copied twice more to append its checksum trailer: a ~110 MB state took ~330 MB more to save
    import hashlib
    import io
    import tracemalloc

    import torch

    from mmnet.utils import CorruptFile, atomic_torch_save, checked_torch_load

    state = {"w": torch.arange(4_000_000, dtype=torch.float32), "epoch": 3}  # 16 MB
    path = tmp_path / "state.pt"
    atomic_torch_save(state, path)  # torch's first save imports and caches what it needs: not measured
    tracemalloc.start()
    try:
        atomic_torch_save(state, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * 16_000_000  # the serialised state once (a buffer grown as torch writes it), no copies
    # the file format is that of every earlier version: torch.save's bytes, b"MMNETSHA256", their sha256
    buf = io.BytesIO()
    torch.save(state, buf)
    body = buf.getvalue()
    assert path.read_bytes() == body + b"MMNETSHA256" + hashlib.sha256(body).digest()
    assert torch.equal(checked_torch_load(path)["w"], state["w"])
    damaged = bytearray(path.read_bytes())
    damaged[len(body) // 2] ^= 1
    path.write_bytes(bytes(damaged))
    with pytest.raises(CorruptFile, match="checksum mismatch"):
        checked_torch_load(path)
