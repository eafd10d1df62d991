"""One cache folder, its size (`mmnet info --cache`) and `mmnet cache prune`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmnet.data.cache import cache_entries, default_cache_dir

from .helpers import assert_named_error, cache_entry, cli


def _entry(folder, key, mb, days_ago):
    cache_entry(folder, key, mb=mb, days_ago=days_ago)


def test_info_cache_and_prune(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "c"
    folder.mkdir()
    monkeypatch.setenv("MMNET_CACHE_DIR", str(folder))
    assert default_cache_dir() == folder
    _entry(folder, "aaaa", 2, 40)
    _entry(folder, "bbbb", 3, 10)
    _entry(folder, "cccc", 1, 0)
    (folder / "apex").mkdir()
    (folder / "apex" / "smic-hs.json").write_text("{}")
    entries = cache_entries()
    assert [e.name for e in entries][:3] == ["frames-aaaa", "frames-bbbb", "frames-cccc"]
    assert len(entries[0].paths) == 3  # frames, index and flow go together
    code, out, _ = cli(capsys, "info", "--cache", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["cache_dir"] == str(folder) and doc["entries"] == 4 and doc["bytes"] > 6e6
    code, out, _ = cli(capsys, "info", "--cache")
    assert "6.0 MB" in out
    code, out, _ = cli(capsys, "cache", "prune", "--older-than", "30", "--dry-run")
    assert code == 0 and "would remove  frames-aaaa" in out and (folder / "frames-aaaa.npy").exists()
    code, out, _ = cli(capsys, "cache", "prune", "--older-than", "30")
    assert not (folder / "frames-aaaa.npy").exists() and not (folder / "flows-aaaa-tvl1.npy").exists()
    code, out, _ = cli(capsys, "cache", "prune", "--max-size", "0.002")  # 2 MB: the oldest (3 MB) goes
    assert "frames-bbbb" in out and (folder / "frames-cccc.npy").exists() and not (folder / "frames-bbbb.npy").exists()


def test_a_calibration_and_its_lock_are_one_entry_pruned_together(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "c"
    calibration = folder / "calibration"
    calibration.mkdir(parents=True)
    monkeypatch.setenv("MMNET_CACHE_DIR", str(folder))
    (calibration / "0123abcd.json").write_text("{}")
    (calibration / "0123abcd.lock").touch()  # left by the run that measured it (mmnet.train.calibrate)
    t = time.time() - 40 * 86400
    for p in calibration.iterdir():
        os.utime(p, (t, t))
    [entry] = cache_entries()
    assert entry.name == os.path.join("calibration", "0123abcd.json") and len(entry.paths) == 2
    code, out, _ = cli(capsys, "cache", "prune", "--older-than", "30")
    assert code == 0 and not calibration.exists()  # its folder too, once empty
    assert folder.is_dir()


def test_prune_all_leaves_no_entry_and_no_empty_folder(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "c"
    folder.mkdir()
    monkeypatch.setenv("MMNET_CACHE_DIR", str(folder))
    _entry(folder, "aaaa", 1, 0)
    for sub_folder, name in (("calibration", "0123abcd.json"), ("flow-v1-tvl1", "sub01_EP02-0123456789.npy"),
                             ("apex", "smic-hs.json")):
        (folder / sub_folder).mkdir()
        (folder / sub_folder / name).write_text("{}")
    (folder / "matplotlib").mkdir()  # matplotlib's own folder, not mmnet's cache: left alone
    code, out, _ = cli(capsys, "cache", "prune", "--all")
    assert code == 0 and "removed 4 entries" in out
    assert sorted(p.name for p in folder.iterdir()) == ["matplotlib"]
    code, _, err = cli(capsys, "cache", "prune", "--all", "--older-than", "3")
    assert_named_error(code, err, "--all")


def test_prune_removes_only_mmnets_entries_from_a_mistaken_folder(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"  # --dir (or $MMNET_CACHE_DIR) set to a home folder by mistake
    home.mkdir()
    monkeypatch.setenv("MMNET_CACHE_DIR", str(tmp_path / "elsewhere"))
    _entry(home, "aaaa", 1, 0)
    (home / "thesis.tex").write_text("chapter 1")
    (home / ".bashrc").write_text("alias ll='ls -l'")
    (home / "frames-notes.txt").write_text("not an entry, though named like one")
    dataset = home / "CASME2" / "sub01" / "EP02_01f"
    dataset.mkdir(parents=True)
    (dataset / "img46.jpg").write_bytes(b"a face")
    (home / "calibration").mkdir()  # a folder mmnet makes: its entries go, the rest stays
    (home / "calibration" / "0123abcd.json").write_text("{}")
    (home / "calibration" / "notes.txt").write_text("mine")
    (home / "apex").mkdir()
    (home / "apex" / "smic-hs.json").write_text("{}")  # the folder goes once empty
    flow = home / "flow" / "flow-v1-tvl1"
    flow.mkdir(parents=True)
    (flow / "sub01_EP02-0123456789.npy").write_bytes(b"flow")
    old = time.time() - 3 * 86400
    (home / ".frames-bbbb.npy.123.tmp").write_bytes(b"a killed build's")  # a day old: an entry
    os.utime(home / ".frames-bbbb.npy.123.tmp", (old, old))
    for argv in (["--all"], ["--older-than", "0"]):
        code, out, _ = cli(capsys, "cache", "prune", *argv, "--dir", str(home), "--dry-run")
        # --all takes a killed build's file of any age as a temporary (its writer's lock checked), not an entry
        assert code == 0 and f"would remove {4 if argv == ['--all'] else 5} entries" in out
        assert ".frames-bbbb.npy.123.tmp" in out
        assert "not mmnet's, kept  5 files or folders" in out and "thesis.tex" in out
    code, out, _ = cli(capsys, "cache", "prune", "--all", "--dir", str(home))
    assert code == 0 and "removed 4 entries" in out and "removed  .frames-bbbb.npy.123.tmp" in out
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == [
        ".bashrc", "CASME2", "CASME2/sub01", "CASME2/sub01/EP02_01f", "CASME2/sub01/EP02_01f/img46.jpg",
        "calibration", "calibration/notes.txt", "frames-notes.txt", "thesis.tex"]
    assert [e.name for e in cache_entries(home)] == []


def test_prune_needs_a_rule_and_sane_numbers(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MMNET_CACHE_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as no_rule:  # a needed argument missing: prune's usage, exit 2
        cli(capsys, "cache", "prune")
    err = capsys.readouterr().err
    assert no_rule.value.code == 2 and err.startswith("usage: mmnet cache prune") and "--older-than" in err
    code, _, err = cli(capsys, "cache", "prune", "--max-size", "nan")
    assert_named_error(code, err, "--max-size")
    code, out, _ = cli(capsys, "info")  # no checkpoint: this machine and its calibration, not an error
    assert code == 0 and "machine:" in out and "calibration:" in out


def test_prune_keeps_an_entry_another_process_holds(tmp_path, monkeypatch, capsys):
    """An entry whose lock another process holds (building or checking it) is kept, and prune says so; the
    next least recently used goes in its place. Once the lock is free the entry is removed, its lock file too."""
    folder = tmp_path / "c"
    folder.mkdir()
    monkeypatch.setenv("MMNET_CACHE_DIR", str(folder))
    _entry(folder, "aaaa", 2, 40)
    _entry(folder, "bbbb", 1, 20)
    _entry(folder, "cccc", 1, 0)
    holder = _hold_lock(folder / "frames-aaaa.lock")
    try:
        t = time.time() - 40 * 86400  # a lock file left by the entry's build 40 days ago, taken again now
        os.utime(folder / "frames-aaaa.lock", (t, t))
        code, out, _ = cli(capsys, "cache", "prune", "--older-than", "30", "--dry-run")
        assert code == 0 and "in use, kept  frames-aaaa" in out and "would remove  frames" not in out
        code, out, _ = cli(capsys, "cache", "prune", "--max-size", "0.0031")  # 3.1 of 4 MB: aaaa is held
        assert code == 0 and "in use, kept  frames-aaaa" in out and "removed  frames-bbbb" in out
        assert (folder / "frames-aaaa.npy").exists() and (folder / "frames-aaaa.lock").exists()
        assert not (folder / "frames-bbbb.npy").exists() and (folder / "frames-cccc.npy").exists()
    finally:
        holder.communicate("")  # closing stdin ends the holder, which releases the lock
    code, out, _ = cli(capsys, "cache", "prune", "--older-than", "30")
    assert code == 0 and "removed  frames-aaaa" in out and "in use" not in out
    assert not list(folder.glob("*aaaa*"))


def _hold_lock(lock: Path) -> subprocess.Popen:
    """Another process holding ``lock`` (a build or a run using the entry) until its stdin closes."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from filelock import FileLock; lock = FileLock(sys.argv[1]); "
         "lock.acquire(); print('held', flush=True); sys.stdin.read()", str(lock)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_prune_keeps_an_entry_a_run_used_after_the_listing(tmp_path, monkeypatch):
    """A run can lock, check, touch an entry's index and unlock between prune's listing and prune's lock: prune
    then sees the entry as used now, and keeps it."""
    from filelock import FileLock

    from mmnet.data import cache_folder

    _entry(tmp_path, "aaaa", 1, 40)
    _entry(tmp_path, "bbbb", 1, 35)

    class UsedMeanwhile(FileLock):
        def acquire(self, *args, **kwargs):
            if self.lock_file.endswith("frames-aaaa.lock"):
                os.utime(tmp_path / "frames-aaaa.json")  # a run reused the entry just before prune's lock
            return super().acquire(*args, **kwargs)

    monkeypatch.setattr(cache_folder, "FileLock", UsedMeanwhile)
    pruned = cache_folder.prune_cache(tmp_path, older_than_days=30)
    assert [e.name for e in pruned.removed] == ["frames-bbbb"] and [e.name for e in pruned.in_use] == ["frames-aaaa"]
    assert (tmp_path / "frames-aaaa.npy").exists() and not (tmp_path / "frames-bbbb.npy").exists()


def test_prune_all_removes_a_killed_builds_partial_frames_and_lists_a_running_ones(tmp_path, monkeypatch, capsys):
    """A killed build's temporary (decoded faces, allocated at full size) was left for a day by --all, which printed
    "0 B left"; one whose build still holds the entry's lock is kept, listed and counted in what is left."""
    folder = tmp_path / "c"
    folder.mkdir()
    monkeypatch.setenv("MMNET_CACHE_DIR", str(folder))
    dead = folder / ".frames-aaaa.npy.999999.tmp"  # its build was killed: nobody holds frames-aaaa.lock
    dead.write_bytes(b"x" * 300_000)
    (folder / "frames-aaaa.lock").touch()
    (folder / ".frames-bbbb.json.0123456789ab.tmp").write_text("{}")  # an index write killed before its lock file
    running = folder / ".frames-cccc.npy.1.tmp"
    running.write_bytes(b"x" * 900_000)
    holder = _hold_lock(folder / "frames-cccc.lock")
    try:
        code, out, _ = cli(capsys, "cache", "prune", "--all", "--dry-run")
        assert code == 0 and "would remove  .frames-aaaa.npy.999999.tmp  300.0 KB  (partial file of a killed" in out
        assert dead.exists()
        code, out, _ = cli(capsys, "cache", "prune", "--all")
        assert code == 0 and "removed  .frames-aaaa.npy.999999.tmp" in out
        assert "removed  .frames-bbbb.json.0123456789ab.tmp" in out
        assert "kept: 1 temporary file of a build in progress, 900.0 KB" in out and "900.0 KB left" in out
        assert not dead.exists() and not (folder / ".frames-bbbb.json.0123456789ab.tmp").exists() and running.exists()
        code, out, _ = cli(capsys, "cache", "prune", "--older-than", "30")  # only --all and --stale look at them
        assert "kept: 1 temporary" not in out
    finally:
        holder.communicate("")
    code, out, _ = cli(capsys, "cache", "prune", "--stale")  # the build ended (killed): its file goes now
    assert code == 0 and "removed  .frames-cccc.npy.1.tmp" in out and not running.exists()


def test_prune_subject_erases_the_entries_holding_one_participant_and_dry_run_says_whose(tmp_path, monkeypatch,
                                                                                        capsys):
    """Withdrawn consent: --dry-run listed opaque names only, and nothing removed one subject's entries."""
    folder = tmp_path / "c"
    folder.mkdir()
    monkeypatch.setenv("MMNET_CACHE_DIR", str(folder))
    cache_entry(folder, "aaaa", mb=1, index={"samples": ["casme2/01/EP02_01f", "casme2/02/EP03_02", "casme2/01/EP05"]})
    cache_entry(folder, "bbbb", mb=1, index={"samples": ["casme2/03/EP01_1"]})
    from mmnet.preprocess.flow import flow_cache_path

    # per-clip optical flow, named as training names it (mmnet.train.prepare: the frame cache's name and the sample)
    own = flow_cache_path(folder, "frames-aaaa/casme2/01/EP02_01f", "tvl1")
    other = flow_cache_path(folder, "frames-bbbb/casme2/03/EP01_1", "tvl1")
    own.parent.mkdir()
    own.write_bytes(b"x")
    other.write_bytes(b"x")
    code, out, _ = cli(capsys, "info", "--cache")
    assert "faces:   casme2: 3 subjects (01, 02, 03), 4 samples" in out
    assert json.loads(cli(capsys, "info", "--cache", "--json")[1])["samples"][0] == "casme2/01/EP02_01f"
    code, out, _ = cli(capsys, "cache", "prune", "--subject", "01", "--dry-run")
    assert code == 0 and "would remove  frames-aaaa" in out
    assert "holds casme2: 2 subjects (01, 02), 3 samples" in out and "frames-bbbb" not in out
    assert f"would remove  {own.relative_to(folder).as_posix()}" in out
    assert own.exists() and (folder / "frames-aaaa.npy").exists()
    code, out, _ = cli(capsys, "cache", "prune", "--subject", "casme2/01")
    assert code == 0 and not (folder / "frames-aaaa.npy").exists() and not (folder / "frames-aaaa.json").exists()
    assert not (folder / "flows-aaaa-tvl1.npy").exists() and not own.exists()
    assert (folder / "frames-bbbb.npy").exists() and other.exists()
    code, out, _ = cli(capsys, "cache", "prune", "--subject", "01")
    assert code == 0 and "no cache entry holds subject '01'" in out
    code, _, err = cli(capsys, "cache", "prune", "--subject", "01", "--all")
    assert_named_error(code, err, "--subject")
