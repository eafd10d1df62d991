"""How mmnet is cited: CITATION.cff (version and date the package's and the changelog's), README's BibTeX of mmnet
at the same version, and the MMNet reference the same in CITATION.cff, README and a report's "How to cite"."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from mmnet.report.cite import MMNET_PAPER
from mmnet.version import __version__

TOP = Path(__file__).resolve().parents[1]


def test_citation_cff_names_this_version_and_its_release_date():
    cff = yaml.safe_load((TOP / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["title"].startswith("mmnet")
    assert str(cff["version"]) == __version__
    changelog = (TOP / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.search(rf"^## \[?{re.escape(__version__)}\]? - (\d{{4}}-\d\d-\d\d)$", changelog, re.MULTILINE)
    assert str(cff["date-released"]) == released.group(1)
    assert "url" not in cff and "repository-code" not in cff  # the project has no public home yet


def test_the_mmnet_paper_is_the_same_in_citation_cff_readme_and_the_report():
    cff = yaml.safe_load((TOP / "CITATION.cff").read_text(encoding="utf-8"))
    [paper] = cff["references"]
    assert paper["title"] in MMNET_PAPER and "IJCAI-22" in paper["collection-title"] and paper["year"] == 2022
    assert [a["family-names"] for a in paper["authors"]] == ["Li", "Sui", "Zhu", "Zhao"]
    assert MMNET_PAPER.startswith("Li, Sui, Zhu & Zhao, 2022") and "arXiv:2201.05297" in MMNET_PAPER
    assert {i["value"] for i in paper["identifiers"]} == {"arXiv:2201.05297"}
    readme = (TOP / "README.md").read_text(encoding="utf-8")
    cite = readme[readme.index("## How to cite"):]
    assert "eprint    = {2201.05297}" in cite and "[CITATION.cff](CITATION.cff)" in cite
    assert re.search(r"@software\{mmnet,.*?version = \{([^}]*)\}", cite, re.S).group(1) == __version__
