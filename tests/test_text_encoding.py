"""Text files are read and written as UTF-8 whatever the system's encoding (cp1252 on a Western Windows)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import mmnet

SOURCE = Path(mmnet.__file__).parent
# .open() of these opens no text file: a file descriptor, an image, a video, a member of a ZIP archive
NOT_TEXT_OPENERS = {"os", "Image", "av", "archive"}


def _mode(call: ast.Call, position: int) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "mode":
            return keyword.value
    return call.args[position] if len(call.args) > position else None


def _opens_text_without_encoding(call: ast.Call) -> bool:
    if any(keyword.arg in ("encoding", None) for keyword in call.keywords):  # None: **kwargs
        return False
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in ("read_text", "write_text"):
        # importlib.metadata's Distribution.read_text takes no encoding: it reads UTF-8 itself
        return not (isinstance(func.value, ast.Call) and ast.unparse(func.value.func).endswith("metadata.distribution"))
    if isinstance(func, ast.Name) and func.id == "open":
        mode = _mode(call, 1)
    elif isinstance(func, ast.Attribute) and func.attr == "open":
        if isinstance(func.value, ast.Name) and func.value.id in NOT_TEXT_OPENERS:
            return False
        mode = _mode(call, 1 if isinstance(func.value, ast.Name) and func.value.id == "io" else 0)  # Path.open
    else:
        return False
    return not (isinstance(mode, ast.Constant) and isinstance(mode.value, str) and "b" in mode.value)


def test_every_text_file_is_opened_with_an_encoding():
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _opens_text_without_encoding(node):
                found.append(f"{path.relative_to(SOURCE)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "text files opened in the system's encoding (cp1252 on Windows):\n" + "\n".join(found)


def test_the_guard_tells_text_from_binary():
    def flagged(source: str) -> bool:
        return _opens_text_without_encoding(ast.parse(source).body[0].value)

    assert flagged("open(p, newline='')") and flagged("p.read_text()") and flagged("p.open('w')")
    assert flagged("p.write_text(s)") and flagged("open(p, mode='r')")
    assert not flagged("open(p, 'rb')") and not flagged("p.open('wb')") and not flagged("p.read_text(encoding='utf-8')")
    assert not flagged("os.open(p, os.O_RDONLY)") and not flagged("Image.open(p)")


RESUME_CHECK = """
import sys
from pathlib import Path
from mmnet import run_folder as rf

assert sys.flags.utf8_mode == 0 and open(__file__).encoding.lower() in ("ascii", "ansi_x3.4-1968"), open(__file__)
rows = [("casme2/01/EP01_S\\u00f8ren", "casme2", "01", "EP01_S\\u00f8ren", "happiness", 0)]
rf.write_csv(Path(sys.argv[1]) / rf.SAMPLES, rf.SAMPLES_COLUMNS, rows)
print(rf.data_changes(sys.argv[1], "fingerprint", rows))
"""


def test_a_run_with_a_non_ascii_sample_id_resumes_under_a_non_utf8_locale(tmp_path):
    # LC_ALL=C without UTF-8 mode: Python's default text encoding is ASCII, as it is cp1252 on Windows
    script = tmp_path / "resume_check.py"
    script.write_text(RESUME_CHECK, encoding="ascii")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHONIOENCODING", "PYTHONUTF8"))}
    env |= {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONPATH": str(SOURCE.parent)}
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout  # was: UnicodeDecodeError (cp1252: "1 samples gone")
