"""The package version (one place; pyproject.toml reads it) and the commit of an mmnet checkout."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

__version__ = "0.1.0"

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
