"""The README and the web page say what mmnet is for, what not, and whom to inform."""

from __future__ import annotations


def test_the_readme_says_what_mmnet_is_for_and_the_page_whom_to_inform():
    from pathlib import Path

    import mmnet.serve

    top = Path(__file__).resolve().parents[1]
    readme = (top / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Intended use and limits", 1)[1].split("\n## ", 1)[0]
    assert readme.index("## Intended use and limits") < readme.index("## Quick start")
    for words in ("research tool", "not what a person feels", "hiring", "policing", "security", "health",
                  "education", "deception detection", "(docs/data-protection.md)"):
        assert words in " ".join(section.split()), words
    # the examples name a recording by a pseudonym, not by what the person was doing
    for text in (readme, (top / "docs" / "architecture.md").read_text(encoding="utf-8")):
        assert "interview.mp4" not in text and "p07_session2.mp4" in text
    page = (Path(mmnet.serve.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    footer = " ".join(page.split("</main>", 1)[1].split("<footer", 1)[1].split("</footer>", 1)[0].split())
    assert ("Research tool. Emotion recognition on people may be regulated (EU AI Act): inform the people recorded; "
            "see docs/data-protection.md") in footer
