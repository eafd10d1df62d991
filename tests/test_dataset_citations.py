"""Each dataset's request page and papers to cite: in docs/datasets.md's table (linked from the README's "How to
cite") and on the model card of a model trained on it, so that a paper cites the data as well as MMNet."""

import json
import re
from pathlib import Path

import yaml

from mmnet.data.releases import OBJECTIVE_CLASSES_PAPER, RELEASES, papers_to_cite

from .test_final_fit import _card_run

ROOT = Path(__file__).resolve().parents[1]


def _cite_key(paper: str) -> str:
    """"Yan et al., 2014" of a paper's entry, as the docs' table gives it."""
    return re.match(r"[^,]+(?:, [^,]+ & [^,]+)?, \d{4}", paper).group(0)


def test_the_datasets_table_gives_each_datasets_request_page_and_papers():
    text = (ROOT / "docs" / "datasets.md").read_text(encoding="utf-8")
    table = text[text.index("## Datasets: request and cite"):]
    table = table[:table.index("\n## ", 3)] if "\n## " in table[3:] else table
    row = "its row in the table under \"Datasets: request and cite\" in docs/datasets.md lacks"
    for key, release in RELEASES.items():
        assert release.name in table, f"{key}: {row} its name {release.name!r}"
        assert release.page is None or release.page in table, f"{key}: {row} its request page {release.page}"
        for paper in release.papers:
            assert _cite_key(paper) in table and paper.split('"')[1] in table, f"{key}: {row} the paper {paper!r}"
    assert _cite_key(OBJECTIVE_CLASSES_PAPER) in table
    assert "http://www2.docm.mmu.ac.uk/STAFF/M.Yap/dataset.php" in table  # SAMM's, which the card lacked
    assert "never be passed on" in table
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    cite = readme[readme.index("How to cite"):]
    assert "docs/datasets.md#datasets-request-and-cite" in cite[:3000]


def test_papers_to_cite_add_the_composite_protocol_and_the_objective_classes():
    assert papers_to_cite(["casme2"]) == list(RELEASES["casme2"].papers)
    composite = papers_to_cite(["casme2", "samm", "smic"], composite=True)
    assert composite[0].startswith("See et al., 2019") and len(composite) == 4  # each part's once
    assert papers_to_cite(["samm"], objective=True)[-1] == OBJECTIVE_CLASSES_PAPER
    assert papers_to_cite(["table"]) == []  # a lab's own clips: nobody's paper


def test_a_datasets_other_name_cites_its_own_release():
    # "casme2-long" (CAS(ME)^2's long videos) was cut at its "-" and cited CASME II's paper
    from mmnet.data import DATASETS, LONG_VIDEO_DATASETS
    from mmnet.data.releases import ALIASES, release_of

    assert papers_to_cite(["casme2-long"]) == list(RELEASES["casme-sq"].papers)
    assert release_of("casme2-long").name == "CAS(ME)^2" and release_of("smic-hs").name == "SMIC"
    assert release_of("table-long") is None and papers_to_cite(["table-long"]) == []
    # every loader name is a release's key, one of its other names, or a lab's own data
    loaders = set(DATASETS) | set(LONG_VIDEO_DATASETS)
    releases = set(RELEASES) | set(ALIASES) | {"table", "table-long"}
    assert sorted(loaders - releases) == [], (
        f"{sorted(loaders - releases)}: a dataset shipped with mmnet has a Release in RELEASES in "
        "src/mmnet/data/releases.py (its name, owner, request page, papers: the model card's licence note and "
        "check-data's cite line), or an entry in ALIASES there when it is another name of a release's data, and a "
        "row in the \"Datasets: request and cite\" table of docs/datasets.md")
    assert sorted(releases - loaders) == []


def test_the_model_card_names_the_papers_of_its_training_data(tmp_path):
    from mmnet.train.model_card import write_model_card

    run = _card_run(tmp_path, "casme2/01/a,casme2,01,0\nsamm/02/b,samm,02,1\n")
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["data"]["scheme"] = "casme2-objective"
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    card = write_model_card(run, None)
    assert card["cite"] == [*RELEASES["casme2"].papers, *RELEASES["samm"].papers, OBJECTIVE_CLASSES_PAPER]
    md = (run / "final" / "MODEL_CARD.md").read_text()
    licence = md[md.index("## Licence"):md.index("## Software")]
    assert "Yan et al., 2014" in licence and "PLoS ONE 9(1): e86041" in licence and "Davison et al., 2018" in licence
    assert json.loads((run / "final" / "model_card.json").read_text())["cite"] == card["cite"]


def test_check_data_ends_with_the_papers_to_cite_and_the_json_lists_them(tmp_path, capsys):
    # the report named the dataset and its problems, never what a paper using it must cite
    from mmnet import synth
    from mmnet.cli import main

    from .fakes import write_casme2
    from .fakes_long import write_samm_long

    for dataset, root, short in [("casme2", write_casme2(tmp_path / "c"), "Yan et al., 2014, PLoS ONE 9(1): e86041"),
                                 ("samm-long", write_samm_long(tmp_path / "s"), "Yap et al., 2020, IEEE FG 2020")]:
        main(["check-data", dataset, "--root", str(root)])
        out = capsys.readouterr().out
        assert out.rstrip("\n").splitlines()[-1] == f"cite        {short}", out  # one line: no title
        main(["check-data", dataset, "--root", str(root), "--json"])
        assert json.loads(capsys.readouterr().out)["cite"] == list(RELEASES[dataset].papers)
    # mmnet's synthetic faces in CASME II's layout are no one's recordings: nothing to cite
    root = synth.write_dataset(tmp_path / "d", subjects=3, clips_per_subject=6, seed=0)
    main(["check-data", "casme2", "--root", str(root)])
    assert "cite " not in capsys.readouterr().out
    main(["check-data", "casme2", "--root", str(root), "--json"])
    assert json.loads(capsys.readouterr().out)["cite"] == []
