"""A folder of the cache that prune and info cannot search (another user's private ``flow/`` in a group's cache): they
name it, its owner and mode, and prune exits 1, never "no cache entry holds subject" or "0 B left" as if complete."""

from __future__ import annotations

import json
import os

import pytest

from mmnet.preprocess.flow import flow_cache_path

from .helpers import cli

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A cache folder whose flow-v1-dis/ (subject 01's flow) cannot be searched: scandir refuses it as the kernel
    does for another user's 0700 folder (as root, which may read any folder, the kernel would not)."""
    folder = tmp_path / "cache"
    hidden = flow_cache_path(folder / "flow", "frames-aaaa/casme2/01/EP02_01f", "dis")
    hidden.parent.mkdir(parents=True)
    hidden.write_bytes(b"x" * 100)
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == os.fspath(hidden.parent):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setenv("MMNET_CACHE_DIR", str(folder))
    return folder, hidden


@pytest.mark.parametrize("how", [["--subject", "01"], ["--all"], ["--all", "--dry-run"], ["--subject", "01",
                                                                                          "--dry-run"]])
def test_prune_names_a_folder_it_cannot_search_and_exits_1(folder, capsys, how):
    folder, hidden = folder
    code, out, err = cli(capsys, "cache", "prune", *how)
    assert code == 1, out + err
    assert f"not searched: {hidden.parent} (permission denied; owner " in out
    assert "neither listed nor removed" in out and "could not be searched" in err
    assert "no cache entry holds" not in out
    assert "not searched hold" in out.splitlines()[-1]
    assert hidden.exists()


def test_info_cache_names_a_folder_it_cannot_search(folder, capsys):
    folder, hidden = folder
    code, out, _ = cli(capsys, "info", "--cache")
    assert code == 0 and f"not searched: {hidden.parent} (permission denied; owner " in out
    assert "mode drwx" in out
    code, out, _ = cli(capsys, "info", "--cache", "--json")
    assert json.loads(out)["not_searched"] == [str(hidden.parent)]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root searches a mode 000 folder anyway")
def test_a_mode_000_folder(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "cache"
    hidden = flow_cache_path(folder / "flow", "frames-aaaa/casme2/01/EP02_01f", "dis")
    hidden.parent.mkdir(parents=True)
    hidden.write_bytes(b"x")
    os.chmod(hidden.parent, 0)
    try:
        code, out, _ = cli(capsys, "cache", "prune", "--dir", folder, "--subject", "01")
    finally:
        os.chmod(hidden.parent, 0o700)
    assert code == 1 and "not searched:" in out and "mode d---------" in out and hidden.exists()
