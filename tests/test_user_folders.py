"""matplotlib's folder where the home folder cannot hold one (a shared server): no warnings on every command."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmnet.user_folders import cache_dir_and_source, use_writable_matplotlib_folder

SRC = Path(__file__).resolve().parents[1] / "src"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="matplotlib's XDG folders (Linux)")


@linux_only
def test_matplotlib_uses_mmnets_cache_folder_when_the_home_folder_is_not_writable(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: not Path(path).is_relative_to(home)
                        and real_access(path, mode))  # tests run as root: a home that is not the user's
    environ = {"HOME": str(home), "MMNET_CACHE_DIR": str(tmp_path / "cache")}
    monkeypatch.setenv("HOME", str(home))
    use_writable_matplotlib_folder(environ)
    assert environ["MPLCONFIGDIR"] == str(tmp_path / "cache" / "matplotlib")
    assert (tmp_path / "cache" / "matplotlib").is_dir() and not list(home.iterdir())


@linux_only
def test_matplotlibs_own_folders_and_a_users_choice_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # not there yet: matplotlib creates it
    environ = {"MMNET_CACHE_DIR": str(tmp_path / "cache")}
    use_writable_matplotlib_folder(environ)
    assert "MPLCONFIGDIR" not in environ and not (tmp_path / "cache").exists()
    monkeypatch.setenv("HOME", os.devnull)  # a home that cannot hold folders
    environ["MPLCONFIGDIR"] = str(tmp_path / "mine")
    use_writable_matplotlib_folder(environ)
    assert environ["MPLCONFIGDIR"] == str(tmp_path / "mine")


@linux_only
def test_a_command_in_a_home_that_cannot_hold_folders_imports_matplotlib_without_warnings(tmp_path):
    home = tmp_path / "home"
    home.write_text("")  # a file: its .config cannot be created, even by root
    # main() as the mmnet program calls it (no argv): a call from Python with argv sets the variable back after
    code = ("import sys\nsys.argv = ['mmnet', '--version']\nfrom mmnet.cli import main\ntry:\n    main()\n"
            "except SystemExit:\n    pass\nimport matplotlib\n"
            "print(matplotlib.get_configdir(), matplotlib.get_cachedir())")
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    env |= {"HOME": str(home), "MMNET_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    folder = str(tmp_path / "cache" / "matplotlib")
    assert done.stdout.split()[-2:] == [folder, folder] and "matplotlib" not in done.stderr.lower(), done.stderr


def test_the_cache_folder_follows_mmnet_cache_dir_then_xdg_cache_home(tmp_path, monkeypatch):
    assert cache_dir_and_source({"MMNET_CACHE_DIR": "/a", "XDG_CACHE_HOME": "/b"}) == (Path("/a"), "$MMNET_CACHE_DIR")
    assert cache_dir_and_source({"XDG_CACHE_HOME": "/b"}) == (Path("/b/mmnet"), "$XDG_CACHE_HOME/mmnet")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir_and_source({}) == (tmp_path / ".cache" / "mmnet", "default")
