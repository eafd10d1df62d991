"""What a pip user of the wheel or the sdist gets: the torch floor, a fast ``--help``, a complete sdist."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

TOP = Path(__file__).resolve().parents[1]
SRC = TOP / "src"


def test_torch_floor_has_the_apis_mmnet_calls():
    # torch.onnx.export(dynamo=False) (mmnet export) is 2.5's; torch.is_autocast_enabled("cpu") 2.4's.
    text = (TOP / "pyproject.toml").read_text()
    [pin] = [Requirement(quoted) for quoted in re.findall(r'"(torch\b[^"]*)"', text)]
    assert pin.specifier.contains("2.13.0")  # the version the bootstrap installs
    assert not any(pin.specifier.contains(old) for old in ("2.1.0", "2.3.1", "2.4.1")), pin


def test_matplotlib_floor_calls_pyparsings_current_names():
    # matplotlib 3.7.0-3.10.6 parse mathtext and font patterns with pyparsing's camelCase names (parseString,
    # oneOf, ...), deprecated by pyparsing 3.3 and removed in pyparsing 4; 3.10.7 moved to the snake_case ones.
    text = (TOP / "pyproject.toml").read_text()
    [pin] = [Requirement(quoted) for quoted in re.findall(r'"(matplotlib\b[^"]*)"', text)]
    assert not any(pin.specifier.contains(old) for old in ("3.7.0", "3.9.4", "3.10.6")), pin
    assert pin.specifier.contains("3.10.7") and pin.specifier.contains("3.11.2")


def test_the_face_extra_allows_opencv_5():
    # it asked for < 5 because OpenCV 5 ships no cascades, which mmnet does not use; 5.1's contrib build has TV-L1
    # (cv2.optflow) and passes the cv2 tests (preprocess, flow, spotting, video)
    text = (TOP / "pyproject.toml").read_text()
    [pin] = [Requirement(quoted) for quoted in re.findall(r'"(opencv-contrib-python-headless\b[^"]*)"', text)]
    assert pin.specifier.contains("5.1.0.95") and pin.specifier.contains("4.14.0.94")
    assert not pin.specifier.contains("4.9.0.80") and not pin.specifier.contains("6.0.0"), pin


def test_dataset_choices_are_the_loader_registries():
    from mmnet.choices import DATASETS, LONG_VIDEO_DATASETS, SPOT_SCORE_MODES
    from mmnet.data import DATASETS as loaders
    from mmnet.data import LONG_VIDEO_DATASETS as long_loaders
    from mmnet.spotting.megc import MODES

    assert DATASETS == tuple(sorted(loaders)), (
        "DATASETS in src/mmnet/choices.py (the names `mmnet train`, check-data and the config accept) must be the "
        "keys of DATASETS in src/mmnet/data/__init__.py, sorted: add the new name there too")
    assert LONG_VIDEO_DATASETS == tuple(sorted(long_loaders)), (
        "LONG_VIDEO_DATASETS in src/mmnet/choices.py must be the keys of LONG_VIDEO_DATASETS in "
        "src/mmnet/data/__init__.py, sorted: add the new name there too")
    assert SPOT_SCORE_MODES == MODES


def test_train_help_names_every_dataset():
    # `mmnet train --help` listed the datasets by hand: smic-hs, casme2-long, ... and any new one were missing
    from mmnet.choices import DATASETS, LONG_VIDEO_DATASETS
    from mmnet.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    help_text = next(a.help for a in sub._actions if "--dataset" in a.option_strings)
    assert [d for d in (*DATASETS, *LONG_VIDEO_DATASETS) if not re.search(rf"(?<![\w-]){d}(?![\w-])", help_text)] == []


HEAVY = ("torch", "numpy", "pandas", "mmnet.data", "mmnet.spotting")


def _heavy_modules_after(code: str) -> str:
    probe = f"import sys\n{code}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(SRC)}).stdout.strip()


def test_building_the_parser_imports_no_heavy_module():
    # every command's add_arguments runs for any `mmnet ...`: a choice list from mmnet.data there cost
    # `mmnet --help` the torch import (seconds)
    assert _heavy_modules_after("from mmnet.cli import build_parser\nbuild_parser()") == "[]"


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["check-data", "--help"]])
def test_python_dash_m_help_imports_no_heavy_module(argv):
    run = (f"import runpy\nsys.argv = ['mmnet', *{argv!r}]\n"
           "try:\n    runpy.run_module('mmnet', run_name='__main__')\nexcept SystemExit:\n    pass")
    assert _heavy_modules_after(run).splitlines()[-1] == "[]"


def test_info_reads_the_calibrations_without_the_training_machinery(tmp_path):
    # `mmnet info` read its cached calibrations through mmnet.train, whose __init__ imported the executors, the
    # fold loop and with them pandas (~0.45 s of CPU); the package's public names load on first use now
    probe = ("import sys\nfrom mmnet.cli import main\nassert main(['info']) == 0\n"
             "print(sorted(m for m in ('pandas', 'mmnet.train.calibrate', 'mmnet.train.fold') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(SRC), "MMNET_CACHE_DIR": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "['mmnet.train.calibrate']"  # read through it, nothing more
    from mmnet import train
    from mmnet.train import FoldTask, run_experiment  # the public names, as before
    from mmnet.train.experiment import run_experiment as home
    from mmnet.train.tasks import FoldTask as task_home

    assert (run_experiment, FoldTask) == (home, task_home) and set(train.__all__) <= set(dir(train))
    assert all(getattr(train, name) is not None for name in train.__all__)


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


def _committed_repo(folder: Path, pyproject_name: str, package: str) -> str:
    (folder / package).mkdir(parents=True)
    (folder / package / "__init__.py").write_text("")
    (folder / "pyproject.toml").write_text(f'[project]\nname = "{pyproject_name}"\n')
    _git(folder, "init", "-q")
    _git(folder, "add", "-A")
    _git(folder, "commit", "-q", "-m", "first")
    return _git(folder, "rev-parse", "HEAD")


def test_git_revision_is_the_mmnet_checkouts_commit(tmp_path):
    from mmnet.version import git_revision

    head = _committed_repo(tmp_path, "mmnet", "src/mmnet")
    assert git_revision(tmp_path / "src" / "mmnet") == head
    (tmp_path / "src" / "mmnet" / "__init__.py").write_text("# edited\n")
    assert git_revision(tmp_path / "src" / "mmnet") == head + "-dirty"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give the checkout away")
def test_git_revision_of_a_shared_checkout_owned_by_another_user(tmp_path, monkeypatch):
    from mmnet.version import git_revision

    head = _committed_repo(tmp_path, "mmnet", "src/mmnet")
    for path in [tmp_path, *tmp_path.rglob("*")]:  # a course's shared checkout: another user's files
        os.chown(path, 12345, 12345, follow_symlinks=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)  # no safe.directory of this machine's own
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    assert git_revision(tmp_path / "src" / "mmnet") == head


def test_git_revision_names_only_the_mmnet_checkout_safe(tmp_path, monkeypatch):
    import mmnet.version as version

    _committed_repo(tmp_path, "mmnet", "src/mmnet")
    calls = []
    real_run = subprocess.run
    monkeypatch.setattr(version.subprocess, "run", lambda cmd, **kw: calls.append(cmd) or real_run(cmd, **kw))
    version.git_revision(tmp_path / "src" / "mmnet")
    assert calls and all(cmd[1:3] == ["-c", f"safe.directory={tmp_path.resolve()}"] for cmd in calls)


def test_git_revision_is_none_for_a_package_inside_the_users_repository(tmp_path):
    from mmnet.version import git_revision

    # a virtual environment inside the user's own project: its commit is not mmnet's
    _committed_repo(tmp_path, "my-experiments", ".venv/lib/python3.12/site-packages/mmnet")
    assert git_revision(tmp_path / ".venv" / "lib" / "python3.12" / "site-packages" / "mmnet") is None
    # the user's repository laid out as src/mmnet (a vendored copy) under another project's name
    other = tmp_path / "other"
    _committed_repo(other, "my-experiments", "src/mmnet")
    assert git_revision(other / "src" / "mmnet") is None
    # an mmnet checkout's layout inside a larger repository: the toplevel is not the checkout
    outer = tmp_path / "outer"
    _committed_repo(outer, "outer", "vendor/mmnet/src/mmnet")
    (outer / "vendor" / "mmnet" / "pyproject.toml").write_text('[project]\nname = "mmnet"\n')
    assert git_revision(outer / "vendor" / "mmnet" / "src" / "mmnet") is None


def test_manifest_puts_the_test_suite_and_docs_in_the_sdist():
    lines = {line.strip() for line in (TOP / "MANIFEST.in").read_text().splitlines()}
    assert {"graft tests", "graft docs", "graft benchmarks", "graft scripts"} <= lines


def test_the_checkouts_top_level_holds_only_the_projects_files():
    """A scratch file committed at the top (a test's CSV, a note) would ship in the sdist and confuse a reader."""
    if not (TOP / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist)")
    tracked = subprocess.run(["git", "ls-files"], cwd=TOP, capture_output=True, text=True, check=True).stdout.split()
    top = {name for name in tracked if "/" not in name}
    assert top <= {".gitignore", "CHANGELOG.md", "CITATION.cff", "LICENSE", "MANIFEST.in", "README.md",
                   "THIRD-PARTY-NOTICES.md", "pyproject.toml"}


NOTICES = "THIRD-PARTY-NOTICES.md"  # the terms of the models and bundled libraries the extras install


def _build(tmp_path, kind: str) -> Path:
    """The sdist or the wheel built from a copy of the checkout (the build writes mmnet.egg-info beside the sources)."""
    import shutil

    tree = tmp_path / "tree"
    if not tree.is_dir():
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache")
        for name in ("src", "tests", "docs", "benchmarks", "scripts", ".ci"):
            shutil.copytree(TOP / name, tree / name, ignore=ignore)
        for name in ("pyproject.toml", "MANIFEST.in", "README.md", "LICENSE", NOTICES, "CHANGELOG.md", "CITATION.cff"):
            shutil.copy2(TOP / name, tree / name)
    build = f"import sys; from setuptools import build_meta; print(build_meta.build_{kind}(sys.argv[1]))"
    subprocess.run([sys.executable, "-c", build, str(tmp_path / kind)], cwd=tree, check=True, capture_output=True)
    [built] = (tmp_path / kind).glob("mmnet-*")
    return built


@pytest.mark.slow
def test_the_sdist_holds_the_test_suites_helpers(tmp_path):
    import tarfile

    with tarfile.open(_build(tmp_path, "sdist")) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        [pkg_info] = [name for name in archive.getnames() if name.count("/") == 1 and name.endswith("/PKG-INFO")]
        metadata = archive.extractfile(pkg_info).read().decode()
    assert {"tests/conftest.py", "tests/__init__.py", "tests/fakes.py", "tests/robustness/__init__.py",
            "tests/robustness/helpers.py", "docs/cli.md", "benchmarks/bench_train.py", "scripts/bootstrap.sh",
            "README.md", "LICENSE", NOTICES, "CHANGELOG.md", "CITATION.cff",  # the changelog: for whoever upgrades
            ".ci/run"} <= names  # .ci/run: the unpacked sdist's tests look for it
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert f"License-File: {NOTICES}" in metadata.splitlines()


@pytest.mark.slow
def test_the_wheel_carries_the_third_party_notices(tmp_path):
    import zipfile

    # the wheel has no docs: the models' and bundled libraries' terms travel in its dist-info
    with zipfile.ZipFile(_build(tmp_path, "wheel")) as wheel:
        names = wheel.namelist()
        [metadata] = [name for name in names if name.endswith(".dist-info/METADATA")]
        assert f"License-File: {NOTICES}" in wheel.read(metadata).decode().splitlines()
        [notices] = [name for name in names if name.endswith(f".dist-info/licenses/{NOTICES}")]
        assert wheel.read(notices).decode() == (TOP / NOTICES).read_text(encoding="utf-8")
