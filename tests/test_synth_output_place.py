"""Where `mmnet synth` writes its set before moving it into place: beside a folder that does not exist yet, inside one
that does (on its disk, also through a link: staged beside the link it was copied over entry by entry, and
`synth .` failed), stages that killed commands left are removed, and a move cut off leaves no set without its
marker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from mmnet.cli import main
from mmnet.errors import ConfigError
from mmnet.synth import CODING_FILE, dataset, output_folder, write_dataset

SMALL = ["--subjects", "1", "--clips-per-subject", "1"]
SET = sorted(["Cropped", CODING_FILE, "synth.json"])


def test_synth_dot_writes_the_set_into_the_current_folder(tmp_path, monkeypatch, capsys):
    here = tmp_path / "e"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main(["synth", ".", *SMALL]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in here.iterdir()) == SET
    assert [p.name for p in tmp_path.iterdir()] == ["e"]


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name != "posix", reason="symbolic links")
def test_a_linked_folder_gets_its_set_staged_inside_the_target_not_beside_the_link(tmp_path, monkeypatch):
    target, links = tmp_path / "disk" / "set", tmp_path / "links"
    target.mkdir(parents=True)
    links.mkdir()
    (links / "set").symlink_to(target)
    seen = []
    real = dataset._write_coding

    def write_coding(path, rows):
        seen.append((sorted(p.name for p in links.iterdir()), sorted(p.name for p in target.parent.iterdir())))
        real(path, rows)

    monkeypatch.setattr(dataset, "_write_coding", write_coding)
    moved = []
    monkeypatch.setattr(shutil, "move", lambda src, dst: moved.append(dst) or os.rename(src, dst))
    write_dataset(links / "set", subjects=1, clips_per_subject=1, seed=0)
    assert seen == [(["set"], ["set"])]  # the stage is in the target: nothing beside the link or the target
    assert sorted(p.name for p in target.iterdir()) == SET and (links / "set").is_symlink()
    assert [p.name for p in moved] == [p for p in SET if p != "synth.json"] + ["synth.json"]  # renames, marker last


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(child.stdout)


@pytest.mark.skipif(os.name != "posix", reason="process ids are checked on POSIX")
def test_stages_of_killed_commands_are_removed_at_the_next_write(tmp_path):
    out = tmp_path / "set"
    out.mkdir()
    host, dead = socket.gethostname(), _dead_pid()
    stale = [out / f".set.partial-{dead}@{host}-0123abcd", tmp_path / f".set.partial-{dead}@{host}-89abcdef"]
    kept = [tmp_path / f".set.partial-{os.getpid()}@{host}-00000000",  # a running writer's
            tmp_path / f".set.partial-{dead}@another-host-00000000",  # cannot tell
            tmp_path / f".other.partial-{dead}@{host}-00000000"]  # another folder's
    for stage in stale + kept:
        (stage / "Cropped").mkdir(parents=True)
    write_dataset(out, subjects=1, clips_per_subject=1, seed=0)
    assert sorted(p.name for p in out.iterdir()) == SET
    assert sorted(tmp_path.iterdir()) == sorted([out, *kept])


@pytest.mark.parametrize("earlier", [False, True])
def test_an_interrupted_move_leaves_no_set_without_its_marker(tmp_path, monkeypatch, capsys, earlier):
    out = tmp_path / "set"
    out.mkdir()  # empty, or an earlier set that --overwrite replaces
    if earlier:
        assert main(["synth", str(out), *SMALL]) == 0
    again = ["synth", str(out), *SMALL] + ["--overwrite"] * earlier
    real = shutil.move

    def cut_off(src, dst):
        if os.path.basename(dst) == "synth.json":  # the rest of the set is in place by now
            raise KeyboardInterrupt
        return real(src, dst)

    with monkeypatch.context() as patch:
        patch.setattr(shutil, "move", cut_off)
        assert main(again) == 130
    # as before: empty, or the earlier set's marker that lets --overwrite work again
    assert [p.name for p in out.iterdir()] == ["synth.json"] * earlier
    assert main(again) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == SET


def test_a_set_without_its_marker_is_named_and_kept(tmp_path):
    out = tmp_path / "set"
    (out / "Cropped" / "sub01").mkdir(parents=True)  # a write cut off, or the owners' copy: only the user can tell
    with pytest.raises(ConfigError, match=rf"Output folder '{out}' is not empty: it holds Cropped but no synth.json, "
                                          r"which --overwrite needs .* delete those and rerun; else choose an empty"):
        write_dataset(out, subjects=1, clips_per_subject=1, seed=0, overwrite=True)
    assert (out / "Cropped" / "sub01").is_dir()
    (out / "notes.txt").write_text("mine\n")
    with pytest.raises(ConfigError, match=r"is not empty; choose an empty folder\.$"):
        write_dataset(out, subjects=1, clips_per_subject=1, seed=0, overwrite=True)


def test_the_stage_pattern_reads_the_names_it_makes(tmp_path):
    name = output_folder._stage_name(tmp_path / "my.set-2")
    match = output_folder._STAGE.fullmatch(name)
    assert match and match["name"] == "my.set-2" and int(match["pid"]) == os.getpid()
    assert match["host"] == socket.gethostname()


def test_a_folder_another_command_is_writing_into_is_named_so(tmp_path):
    out = tmp_path / "set"
    (out / f".set.partial-{os.getpid()}@{socket.gethostname()}-0123abcd" / "Cropped").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"is not empty: another mmnet command is writing a set into it \(\.set"):
        write_dataset(out, subjects=1, clips_per_subject=1, seed=0)
