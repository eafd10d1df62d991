"""The package version (one place; pyproject.toml reads it; CHANGELOG.md says what each one changed), the commit
of an mmnet checkout, and a digest of the package's own code, which tells installed mmnets apart without git."""

from __future__ import annotations

import functools
import hashlib
import re
import subprocess
from pathlib import Path

__version__ = "0.2.0"

PACKAGE_DIR = Path(__file__).resolve().parent


def git_revision(package_dir: Path = PACKAGE_DIR) -> str | None:
    """The commit of the mmnet checkout this package runs from (``-dirty`` with uncommitted changes to
    tracked files), for env.json and the model card. None for an installed package: a virtual environment
    inside the user's own git repository would otherwise record the user's commit as mmnet's."""
    checkout = package_dir.parents[1]  # src/mmnet -> the checkout's root
    try:
        pyproject = (checkout / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not re.search(r'^name\s*=\s*"mmnet"\s*$', pyproject, re.MULTILINE):
        return None

    # A shared checkout owned by another user: git refuses to read it ("dubious ownership") unless it is named
    # safe; these calls only read, and only this checkout is named.
    safe = f"safe.directory={checkout.resolve()}"

    def git(*args: str) -> str | None:
        out = subprocess.run(["git", "-c", safe, "-C", str(checkout), *args], capture_output=True, text=True,
                             timeout=5)
        return out.stdout.strip() if out.returncode == 0 else None

    try:
        top = git("rev-parse", "--show-toplevel")
        if top is None or Path(top).resolve() != checkout.resolve():
            return None
        head = git("rev-parse", "HEAD")
        if head is None:
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


@functools.cache
def code_digest(package_dir: Path = PACKAGE_DIR) -> str:
    """``sha256:<hex>`` of the package's Python files: each one's path below the package and its bytes (line
    endings as LF), in path order. An installed mmnet has no git revision; this names the code a run folder was
    written by all the same, the same for a checkout and an install of it. Computed once per process, when a
    run folder is written (about 40 ms for 2.5 MB), never at the CLI's start."""
    h = hashlib.sha256()
    files = sorted((p.relative_to(package_dir).as_posix(), p) for p in package_dir.rglob("*.py"))
    for name, path in files:
        data = path.read_bytes().replace(b"\r\n", b"\n")  # a Windows checkout's CRLF: the same code
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    return "sha256:" + h.hexdigest()


def describe(package_dir: Path = PACKAGE_DIR) -> str:
    """``mmnet 0.2.0 (git revision 1ac4fea..., code sha256:5f2c...)``: what ``mmnet --version`` prints."""
    revision = git_revision(package_dir)
    where = f"git revision {revision}, " if revision else ""
    return f"mmnet {__version__} ({where}code {code_digest(package_dir)[:19]})"


def library_versions(modules: dict[str, str]) -> dict[str, str | None]:
    """``{name: version}`` of each ``{name: module}`` from the module's own ``__version__`` (pip's names for them
    vary: opencv-python, opencv-python-headless); None where it is not installed."""
    import importlib

    out = {}
    for name, module in modules.items():
        try:
            out[name] = str(importlib.import_module(module).__version__)
        except (ImportError, AttributeError):
            out[name] = None
    return out
