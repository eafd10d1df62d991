"""A cache folder shared by runs and users: prune keeps what a run uses, goes on past entries it may not delete,
and lists a folder whose files vanish meanwhile; another user's unreadable entry is named, never deleted."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmnet.data import cache as cache_module
from mmnet.data import cache_folder
from mmnet.errors import DataError

from .helpers import cli
from .test_cache_command import _entry
from .test_cache_sharing import _build


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=2, clips_per_subject=2, seed=0)


@pytest.fixture(autouse=True)
def new_process(monkeypatch):
    """Each test starts like a new process: no entry checked or held yet."""
    monkeypatch.setattr(cache_module, "_VERIFIED", {})
    monkeypatch.setattr(cache_folder, "_IN_USE", {})


_WORKER = """
import sys
from mmnet.data.cache_folder import load_entry
frames = load_entry(sys.argv[1])  # a training worker maps the entry, hours after it was checked
print("mapped", flush=True)
sys.stdin.read()
"""


def test_prune_keeps_an_entry_a_training_worker_maps(tmp_path, monkeypatch, capsys):
    # the reviewer's crash: prune deleted the frame cache of a running training (its lock is held only while an
    # entry is checked or built), and the training's next fold failed on np.load
    monkeypatch.setenv("MMNET_CACHE_DIR", str(tmp_path))
    _entry(tmp_path, "aaaa", 1, 40)
    _entry(tmp_path, "bbbb", 1, 35)
    worker = subprocess.Popen([sys.executable, "-c", _WORKER, str(tmp_path / "frames-aaaa.npy")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(cache_folder.__file__).parents[2])})
    try:
        assert worker.stdout.readline().strip() == "mapped"
        code, out, _ = cli(capsys, "cache", "prune", "--older-than", "30", "--dry-run")
        assert code == 0 and "in use, kept  frames-aaaa" in out and "would remove  frames-bbbb" in out
        code, out, _ = cli(capsys, "cache", "prune", "--older-than", "30")
        assert code == 0 and "in use, kept  frames-aaaa" in out and "removed  frames-bbbb" in out
        assert (tmp_path / "frames-aaaa.npy").exists() and (tmp_path / "flows-aaaa-tvl1.npy").exists()
    finally:
        worker.communicate("")  # the worker ends, and its lock with it
    code, out, _ = cli(capsys, "cache", "prune", "--max-size", "0")  # its lock file, made by prune, is new
    assert code == 0 and "removed  frames-aaaa" in out and not list(tmp_path.glob("*aaaa*"))


def test_the_process_that_built_an_entry_holds_it(root, tmp_path):
    built = _build(root, tmp_path)
    pruned = cache_folder.prune_cache(tmp_path, max_bytes=0)  # flock: another open file, as another process's
    assert [e.name for e in pruned.in_use] == [built.path.stem] and built.path.exists()


def test_a_ray_worker_gives_up_its_entries_when_its_fold_ends(tmp_path, monkeypatch):
    # a Ray worker process outlives the run: holding the entry until it exits would keep it from prune for good
    from mmnet.train import ray_executor

    _entry(tmp_path, "aaaa", 1, 40)
    monkeypatch.setattr(ray_executor, "run_fold", lambda *a, **k: cache_folder.load_entry(tmp_path / "frames-aaaa.npy"))
    ray_executor._fold_on_worker(None, None, None, 1, None)
    assert [e.name for e in cache_folder.prune_cache(tmp_path, older_than_days=30).removed] == ["frames-aaaa"]


def test_a_worker_whose_entry_is_gone_says_to_rerun(tmp_path):
    with pytest.raises(DataError, match="was removed.*Rerun the same command"):
        cache_folder.load_entry(tmp_path / "frames-aaaa.npy")


def test_prune_goes_on_past_an_entry_it_may_not_delete(tmp_path, monkeypatch, capsys):
    # the reviewer's sticky folder: prune stopped at another user's entry (PermissionError, exit 3), skipping the rest
    monkeypatch.setenv("MMNET_CACHE_DIR", str(tmp_path))
    _entry(tmp_path, "aaaa", 1, 40)
    _entry(tmp_path, "bbbb", 1, 35)
    unlink = Path.unlink

    def others_entry(self, *args, **kwargs):
        if "aaaa" in self.name and self.suffix != ".lock":
            raise PermissionError(13, "Permission denied", str(self))
        return unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", others_entry)
    code, out, err = cli(capsys, "cache", "prune", "--older-than", "30")
    assert code == 1 and "not removed (permission denied)  frames-aaaa" in out and "removed  frames-bbbb" in out
    assert "removed 1 entry" in out and "could not be removed" in err
    assert (tmp_path / "frames-aaaa.npy").exists() and not (tmp_path / "frames-bbbb.npy").exists()
    assert not (tmp_path / "frames-aaaa.lock").exists()  # prune made it: not left behind in another user's entry


@pytest.mark.parametrize("unreadable", [".json", ".npy"])
def test_another_users_unreadable_entry_is_named_and_kept(root, tmp_path, monkeypatch, caplog, unreadable):
    # the reviewer's umask 077: the entry was called damaged, deleted and rebuilt (each user deleting the other's)
    built = _build(root, tmp_path)
    monkeypatch.setattr(cache_module, "_VERIFIED", {})
    denied = built.path.with_suffix(unreadable)
    read_text, load = Path.read_text, np.load

    def refuse(path):
        if Path(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: refuse(self) or read_text(self, *a, **k))
    monkeypatch.setattr(np, "load", lambda path, *a, **k: refuse(path) or load(path, *a, **k))
    with pytest.raises(DataError) as info:
        _build(root, tmp_path)
    message = str(info.value)
    assert f"'{denied}' cannot be read" in message and f"user {os.getuid()}" in message and "-rw-" in message
    assert "$MMNET_CACHE_DIR" in message and "umask 002" in message
    assert "damaged" not in caplog.text and built.path.exists() and built.path.with_suffix(".json").exists()


def test_listing_skips_files_deleted_meanwhile(tmp_path, monkeypatch, capsys):
    # the reviewer's race: `info --cache` during a prune failed on stat() of a file listed a moment before
    _entry(tmp_path, "aaaa", 1, 40)
    _entry(tmp_path, "bbbb", 1, 0)
    rglob = Path.rglob

    def pruned_while_listing(self, pattern):
        yield from rglob(self, pattern)
        (tmp_path / "frames-aaaa.json").unlink()  # gone after it was listed, before it is looked at

    monkeypatch.setattr(Path, "rglob", pruned_while_listing)
    entries = cache_folder.cache_entries(tmp_path)
    assert [e.name for e in entries] == ["frames-aaaa", "frames-bbbb"]


def test_build_temporaries_skip_one_finished_meanwhile(tmp_path, monkeypatch):
    # a build renames its temporary into place after the listing, while its type and age are looked at
    (tmp_path / ".frames-aaaa.npy.1.tmp").write_bytes(b"x")
    (tmp_path / ".frames-bbbb.npy.2.tmp").write_bytes(b"x")

    def renamed_meanwhile(method):
        def look(self, *args, **kwargs):
            if self.name.startswith(".frames-aaaa"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self)
            return method(self, *args, **kwargs)
        return look

    monkeypatch.setattr(Path, "is_symlink", renamed_meanwhile(Path.is_symlink))
    monkeypatch.setattr(Path, "lstat", renamed_meanwhile(Path.lstat))
    assert cache_folder.build_temporaries(tmp_path) == [tmp_path / ".frames-bbbb.npy.2.tmp"]


def test_prune_on_a_read_only_file_system_lists_its_entries_and_counts_them_refused(tmp_path, monkeypatch, capsys):
    # the reviewer's read-only mount: the dry run failed on opening a data file for writing ("Read-only file system",
    # exit 3), and a prune stopped at the first entry
    monkeypatch.setenv("MMNET_CACHE_DIR", str(tmp_path))
    _entry(tmp_path, "aaaa", 1, 40)
    _entry(tmp_path, "bbbb", 1, 35)
    os_open, unlink = os.open, Path.unlink

    def read_only(file, flags, *args, **kwargs):
        if str(file).startswith(str(tmp_path)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(file))
        return os_open(file, flags, *args, **kwargs)

    def read_only_unlink(self, *args, **kwargs):
        if str(self).startswith(str(tmp_path)):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return unlink(self, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    monkeypatch.setattr(Path, "unlink", read_only_unlink)
    code, out, _ = cli(capsys, "cache", "prune", "--older-than", "0", "--dry-run")
    assert code == 0 and "would remove  frames-aaaa" in out and "would remove  frames-bbbb" in out
    code, out, err = cli(capsys, "cache", "prune", "--older-than", "0")
    assert code == 1 and "not removed (permission denied)  frames-aaaa" in out and "frames-bbbb" in out
    assert "2 entries could not be removed" in err and "read-only file system" in err
    assert (tmp_path / "frames-aaaa.npy").exists() and (tmp_path / "frames-bbbb.json").exists()


def test_on_windows_an_entry_a_run_maps_is_in_use_and_kept_whole(tmp_path, monkeypatch):
    # Windows has no flock, and a mapped file cannot be deleted there: the index went first, the data file stayed
    # ("another user's"), and the run was left with a damaged entry
    monkeypatch.setattr(cache_folder, "fcntl", None)
    _entry(tmp_path, "aaaa", 1, 40)
    unlink = Path.unlink

    def mapped(self, *args, **kwargs):
        if self.name == "frames-aaaa.npy":
            raise PermissionError(errno.EACCES, "The process cannot access the file", str(self))
        return unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", mapped)
    pruned = cache_folder.prune_cache(tmp_path, older_than_days=30)
    assert [e.name for e in pruned.in_use] == ["frames-aaaa"] and not pruned.refused and not pruned.removed
    assert (tmp_path / "frames-aaaa.json").exists() and (tmp_path / "frames-aaaa.npy").exists()


def test_matplotlibs_font_cache_is_not_an_entry(tmp_path):
    # with a read-only HOME, matplotlib keeps its font list in mmnet's cache folder: prune listed it as mmnet's
    (tmp_path / "matplotlib").mkdir()
    (tmp_path / "matplotlib" / "fontlist-v390.json").write_text("{}")
    _entry(tmp_path, "aaaa", 1, 40)
    assert [e.name for e in cache_folder.cache_entries(tmp_path)] == ["frames-aaaa"]
    assert cache_folder.prune_cache(tmp_path, max_bytes=0).removed[0].name == "frames-aaaa"
    assert (tmp_path / "matplotlib" / "fontlist-v390.json").exists()


def test_a_damaged_entry_rebuilt_gives_up_its_old_files_hold(root, tmp_path, monkeypatch):
    # the hold on the deleted data file kept its blocks allocated until the process exited
    built = _build(root, tmp_path)
    built.path.with_suffix(".json").write_text("{}")  # damaged: deleted and rebuilt
    monkeypatch.setattr(cache_module, "_VERIFIED", {})
    rebuilt = _build(root, tmp_path)
    new = os.stat(rebuilt.path)
    assert list(cache_folder._IN_USE) == [(new.st_dev, new.st_ino)]
