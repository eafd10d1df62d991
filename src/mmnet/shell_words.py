"""Paths inside the commands mmnet prints for the user to paste: quoted so that the user's shell reads each
path as one argument (a space or a quote in a folder name split it in two)."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path


def shell_quote(path: str | Path, *, windows: bool = os.name == "nt") -> str:
    """``path`` as one argument of a pasted command line: as a POSIX shell reads it (``'my runs/a'``; a plain
    path stays as it is), or on Windows in the double quotes that cmd.exe and PowerShell pass on as one."""
    if windows:
        return subprocess.list2cmdline([str(path)])
    return shlex.quote(str(path))
