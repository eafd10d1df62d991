"""docs/contributing.md stays true: its fixture example runs, and every registry its checklists name is where it
says."""

from __future__ import annotations

import re
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
TEXT = (TOP / "docs" / "contributing.md").read_text()


def test_the_fixture_example_runs(tmp_path):
    match = re.search(r"<!-- snippet: fixture -->\s*```python\n(.*?)```", TEXT, re.S)
    assert match, "docs/contributing.md lost its fixture snippet"
    names = {"__name__": "contributing_snippet", "__package__": __package__}  # its `from .fakes import` resolves
    exec(compile(match.group(1), "docs/contributing.md", "exec"), names)
    names["test_toy_table_and_frames"](tmp_path)


def test_every_registry_in_the_checklists_is_in_the_module_named():
    named = re.findall(r"`(\w+)` in\s+`(src/mmnet/[\w/]+\.py)`", TEXT)
    assert len(named) >= 11
    missing = [f"{name} in {path}" for name, path in named
               if not re.search(rf"^{name}\b.*=", (TOP / path).read_text(), re.M)]
    assert missing == []


def test_every_file_it_names_exists():
    paths = set(re.findall(r"`((?:src|tests|scripts|docs)/[\w./]+\.(?:py|sh|md))`", TEXT)) | {".ci/run"}
    assert [p for p in sorted(paths) if "NAME" not in p and not (TOP / p).is_file()] == []  # NAME: the new one


def test_the_pages_a_test_points_to_say_what_it_checks():
    # test_no_real_rows.py sent readers to this page for the made-up-fixtures rule, which did not name the check
    pointer = (TOP / "tests" / "test_no_real_rows.py").read_text()
    assert "docs/contributing.md" in pointer
    fixtures = TEXT[TEXT.index("## Fixtures without licensed data"):TEXT.index("## Registering a clip dataset")]
    assert "tests/test_no_real_rows.py" in fixtures


def _public_modules() -> set[str]:
    section = TEXT[TEXT.index("## The public Python API"):]
    return set(re.findall(r"`(mmnet(?:\.\w+)*)`", section[:section.index("is internal")]))


def _module_of(dotted: str) -> str:
    """The longest prefix of a dotted name that is a module of the package (`mmnet.report.selection.choose_epochs`
    -> `mmnet.report.selection`)."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        path = TOP / "src" / Path(*parts[:end])
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return ".".join(parts[:end])
    raise AssertionError(f"{dotted} names no module of mmnet")


def test_every_module_the_docs_import_from_is_public():
    # the policy once named only the subpackages, while the pages and the changelog's migration table sent users
    # to mmnet.runtime, mmnet.spotting.config, mmnet.train.sweep, ...
    pages = [TOP / "README.md", *sorted((TOP / "docs").glob("*.md"))]
    used = {(m, p.name) for p in pages
            for m in re.findall(r"(?:from|import) (mmnet(?:\.\w+)*)\b", p.read_text())}
    changelog = (TOP / "CHANGELOG.md").read_text()
    table = changelog[changelog.index("### Changed: the Python API"):]
    table = table[:table.index("\n\n", table.index("| 0.1.0 |"))]
    for row in table.splitlines()[2:]:
        if row.startswith("| `"):
            new_home = row.split(" | ", 1)[1]
            used |= {(_module_of(name), "CHANGELOG.md")
                     for name in re.findall(r"`(mmnet(?:\.\w+)+)`(?! \(internal\))", new_home)}
    assert len(used) >= 20
    public = _public_modules()
    assert sorted((m, page) for m, page in used if _module_of(m) not in public) == []


def test_the_pages_that_list_the_datasets_by_hand_name_every_dataset():
    # the checklists send a new dataset to these lists; configuration.md's lacked smic-hs, smic-vis and smic-nir
    from mmnet.choices import DATASETS, LONG_VIDEO_DATASETS

    datasets = (TOP / "docs" / "datasets.md").read_text(encoding="utf-8")
    names = datasets[datasets.index("`load_dataset(name, root"):]
    config = (TOP / "docs" / "configuration.md").read_text(encoding="utf-8")
    lists = {"docs/datasets.md, the names of load_dataset": names[:names.index("\n\n")],
             "docs/configuration.md, the row of data.dataset": next(
                 line for line in config.splitlines() if line.startswith("| `data.dataset` |"))}
    missing = [f"{where}: `{d}`" for where, text in lists.items() for d in (*DATASETS, *LONG_VIDEO_DATASETS)
               if f"`{d}`" not in text]
    assert missing == []
