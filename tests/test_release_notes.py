"""What a release tells its users, kept true by tests: the changelog announces every command added since the
first release and every deprecated module with its removal version; docs/contributing.md's table of format
versions gives the values the code has; the package metadata names its authors as LICENSE does."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from mmnet.cli import COMMANDS
from mmnet.lazy_names import REMOVED_IN

TOP = Path(__file__).resolve().parents[1]
SOURCE = TOP / "src" / "mmnet"
#: The commands of the first release, 0.1.0 (git show 1ac4fea:src/mmnet/cli.py).
FIRST_RELEASE = {"demo", "synth", "train", "sweep", "report", "check-data", "prepare", "predict", "explain", "export",
                 "convert", "info"}


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n### {heading}\n")
    return text[start:text.index("\n## ", start)].split("\n### ", 2)[1]


def test_the_changelog_announces_every_command_added_since_the_first_release():
    added = _section((TOP / "CHANGELOG.md").read_text(encoding="utf-8"), "Added")
    assert [name for name in COMMANDS if name not in FIRST_RELEASE and f"`mmnet {name}`" not in added] == []


def test_the_changelog_names_every_deprecated_module_and_its_removal_version():
    deprecated = _section((TOP / "CHANGELOG.md").read_text(encoding="utf-8"), "Deprecated")
    moved = sorted(f"mmnet.{p.stem}" for p in SOURCE.glob("*.py") if "warn_moved(" in p.read_text(encoding="utf-8")
                   and p.stem != "lazy_names")
    assert len(moved) >= 9
    assert [name for name in moved if f"`{name}`" not in deprecated] == []
    assert f"removed in {REMOVED_IN}" in " ".join(deprecated.split())
    assert "`mmnet.run_folder.load_run`" in deprecated


def _value(path: Path, name: str) -> object:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path} defines no {name}")


def test_the_format_versions_table_gives_the_codes_values():
    text = (TOP / "docs" / "contributing.md").read_text(encoding="utf-8").split("\n## Releasing\n")[1]
    rows = re.findall(r"`([A-Z_]+)`(?: and `[A-Z_]+`)? in `(src/[^`]+)` \(([^)]+)\)", text)
    assert {name for name, _, _ in rows} >= {"CACHE_VERSION", "FLOW_VERSION", "GENERATOR_VERSION", "API_VERSION",
                                              "REPORT_SCHEMA", "VERSION", "STATE_FORMAT"}
    for name, path, shown in rows:
        assert repr(_value(TOP / path, name)).replace("'", '"') == shown, (name, path)
    checkpoint = re.search(r"`format_version` written and checked in `(src/[^`]+)` \((\d+)\)", text)
    assert f'"format_version": {checkpoint.group(2)},' in (TOP / checkpoint.group(1)).read_text(encoding="utf-8")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib")
def test_the_package_names_its_authors_as_license_does():
    import tomllib

    project = tomllib.loads((TOP / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    holder = re.search(r"Copyright \(c\) \d{4} (.+)", (TOP / "LICENSE").read_text(encoding="utf-8")).group(1).strip()
    assert project["authors"] == [{"name": holder}]


def test_each_versions_sections_follow_keep_a_changelog_and_fixes_are_under_fixed():
    # results-altering fixes (agree --frames counting a frame more, a report's IndexError) sat under "Added"
    text = (TOP / "CHANGELOG.md").read_text(encoding="utf-8")
    order = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]
    for version in re.split(r"\n## ", text)[1:]:
        kinds = [h.split(":")[0] for h in re.findall(r"^### (.+)$", version, re.M)]
        assert all(k in order for k in kinds), kinds
        assert [order.index(k) for k in kinds] == sorted(order.index(k) for k in kinds), kinds
    fixed = _section(text, "Fixed")
    assert "`mmnet agree --frames N`" in fixed and "`IndexError`" in fixed
    assert "`IndexError`" not in _section(text, "Added")
