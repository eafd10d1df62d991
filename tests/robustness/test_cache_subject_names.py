"""`mmnet cache prune --subject` reads a subject as `mmnet train --folds` does, and erases a killed build's
partial file of any age."""

from __future__ import annotations

import os
import time
import unicodedata

import pytest

from .helpers import cache_entry, cli


@pytest.fixture
def folder(tmp_path, monkeypatch):
    folder = tmp_path / "c"
    folder.mkdir()
    monkeypatch.setenv("MMNET_CACHE_DIR", str(folder))
    cache_entry(folder, "aaaa", mb=1, index={"samples": ["casme2/07/EP02_01f", "samm/006/006_1_2"]})
    cache_entry(folder, "bbbb", mb=1, index={"samples": ["casme2/03/EP01_1"]})
    return folder


@pytest.mark.parametrize("word", ["07", "sub07", "casme2/sub07", "CASME2/7", "6", "006", "samm/6"])
def test_subject_as_its_folder_or_its_number_unpadded(folder, capsys, word):
    # 'sub07' (CASME II's folder) and SAMM's '6' said "no cache entry holds subject" and removed nothing
    code, out, _ = cli(capsys, "cache", "prune", "--subject", word)
    assert code == 0 and "removed  frames-aaaa" in out and "frames-bbbb" not in out
    assert not (folder / "frames-aaaa.npy").exists() and (folder / "frames-bbbb.npy").exists()


def test_per_clip_flow_found_by_the_same_rule(folder, capsys):
    from mmnet.preprocess.flow import flow_cache_path

    own = flow_cache_path(folder, "frames-aaaa/samm/006/006_1_2", "tvl1")
    own.parent.mkdir(parents=True)
    own.write_bytes(b"x")
    code, out, _ = cli(capsys, "cache", "prune", "--subject", "samm/6", "--dry-run")
    assert code == 0 and f"would remove  {own.relative_to(folder).as_posix()}" in out


def test_a_subject_of_no_entry_lists_the_subjects_held(folder, capsys):
    code, out, _ = cli(capsys, "cache", "prune", "--subject", "sub09", "--dry-run")
    said = "no cache entry holds subject 'sub09'; the subjects the cache holds: casme2: 03, 07; samm: 006"
    assert code == 0 and said in out


@pytest.mark.parametrize("rule", [["--subject", "03"], ["--stale"]])
def test_a_killed_builds_file_days_old_goes_with_subject_and_stale(folder, capsys, rule):
    # a temporary over a day old counted as an ordinary entry: only age, size or --all removed it
    old = time.time() - 3 * 86400
    dead = folder / ".frames-cccc.npy.999999.tmp"  # its index is gone: whose faces it holds is unknown
    dead.write_bytes(b"x" * 300_000)
    (folder / "frames-cccc.lock").touch()  # nobody holds it: the build was killed
    os.utime(dead, (old, old))
    code, out, _ = cli(capsys, "cache", "prune", *rule)
    assert code == 0 and "removed  .frames-cccc.npy.999999.tmp  300.0 KB  (partial file of a killed build" in out
    assert not dead.exists()
    assert out.count(".frames-cccc.npy.999999.tmp") == 1  # once, not also as an entry
    if rule[0] == "--subject":
        assert "whose faces it holds is not recorded" in out


def test_info_cache_names_subject_among_the_prune_rules(folder, capsys):
    code, out, _ = cli(capsys, "info", "--cache")
    assert code == 0 and "| --subject ID |" in out.split("prune:", 1)[1]


def test_a_bare_number_of_two_datasets_says_whom_it_names(folder, capsys):
    cache_entry(folder, "cccc", mb=1, index={"samples": ["samm/007/007_7_1"]})
    code, out, _ = cli(capsys, "cache", "prune", "--subject", "7", "--dry-run")
    assert code == 0 and "would remove  frames-aaaa" in out and "would remove  frames-cccc" in out
    assert "subject '7' names 2 subjects here: casme2/07, samm/007 (give DATASET/ID for one)" in out
    code, out, _ = cli(capsys, "cache", "prune", "--subject", "samm/7", "--dry-run")
    assert "frames-aaaa" not in out and "would remove  frames-cccc" in out and "names 2" not in out


@pytest.mark.parametrize("typed", ["Zoé", unicodedata.normalize("NFD", "Zoé"), "table/Zoé"])
def test_every_flow_file_of_a_subject_whose_id_the_file_name_cleans(folder, capsys, typed):
    # 'Zoé/' is one '_' in a flow file's name ('..._table_Zo_S_ance_1-<hash>.npy'): the pattern 'Zo__' missed it,
    # and the participant's optical flow stayed after "removed"
    from mmnet.preprocess.flow import flow_cache_path

    cache_entry(folder, "dddd", mb=1, index={"samples": ["table/Zoé/Séance_1", "table/Zoé/Séance_2", "table/P02/a"]})
    own = [flow_cache_path(folder / "flow", f"frames-dddd/table/Zoé/Séance_{i}", "farneback") for i in (1, 2)]
    orphan = flow_cache_path(folder / "flow", "frames-eeee/table/Zoé/Séance_3", "dis")  # its frame cache is gone
    other = flow_cache_path(folder / "flow", "frames-dddd/table/P02/a", "farneback")
    for path in (*own, orphan, other):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    code, out, _ = cli(capsys, "cache", "prune", "--subject", typed)
    assert code == 0 and "removed  frames-dddd" in out and "no cache entry holds" not in out
    assert not any(p.exists() for p in (*own, orphan)) and other.exists()
    assert not [p for p in folder.rglob("*") if "Zo" in p.name]


def test_a_killed_builds_file_alone_is_not_said_to_hold_nobody(folder, capsys):
    # "no cache entry holds subject '02'" followed by "would remove .frames-....tmp" read as a contradiction
    (folder / ".frames-cccc.npy.999999.tmp").write_bytes(b"x" * 1000)
    (folder / "frames-cccc.lock").touch()
    code, out, _ = cli(capsys, "cache", "prune", "--subject", "02", "--dry-run")
    assert code == 0 and "no complete cache entry holds subject '02'" in out
    assert "the partial files below may" in out and "would remove  .frames-cccc.npy.999999.tmp" in out
    code, out, _ = cli(capsys, "cache", "prune", "--subject", "09", "--dry-run", "--dir", str(folder / "empty"))
    assert "no cache entry holds subject '09'" in out and "partial files" not in out
