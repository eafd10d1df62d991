"""`mmnet compare` names the mmnet that trained each run one entry per mmnet (version, git revision, code digest,
and the seeds it trained), as the report's Reproduce line does, not as three lists sorted apart."""

from __future__ import annotations

import json

from mmnet.report.compare import compare_runs, render_compare_markdown

from .fake_runs import make_samples, write_run
from .test_compare import SUBJECTS, _good, _worse

_A = {"mmnet_version": "0.2.0", "git_revision": "e4d7812" + "0" * 33, "code_digest": "sha256:7883a728aa6f" + "1" * 52}
_B = {"mmnet_version": "0.2.0", "git_revision": "0cfb8a8" + "2" * 33, "code_digest": "sha256:90d6aa000000" + "3" * 52}


def _trained_by(run, software_of_seed):
    for done in run.glob("seed-*/fold-*/done.json"):
        seed = int(done.parent.parent.name.removeprefix("seed-"))
        done.write_text(json.dumps({**json.loads(done.read_text()), **software_of_seed[seed]}))


def test_each_mmnet_of_a_run_is_one_entry_with_its_seeds(tmp_path):
    samples = make_samples(SUBJECTS)
    a = write_run(tmp_path / "a", samples, _good)
    b = write_run(tmp_path / "b", samples, _worse, seeds=(0, 1, 2))
    _trained_by(a, {0: _A})
    _trained_by(b, {0: _B, 1: _A, 2: _B})  # resumed by another mmnet
    r = compare_runs([a, b], resamples=100)
    differences = r["comparisons"][0]["config_differences"]
    assert differences["mmnet"] == ["0.2.0 e4d7812 sha256:7883a728aa6f",
                                    ["0.2.0 0cfb8a8 sha256:90d6aa000000 (seeds 0, 2)",
                                     "0.2.0 e4d7812 sha256:7883a728aa6f (seed 1)"]]
    assert not {"code_digest", "git_revision", "mmnet_version"} & set(differences)
    assert "1" * 52 not in render_compare_markdown(r)  # no 64-hex digest in full
    _trained_by(b, {0: _A, 1: _A, 2: _A})
    assert "mmnet" not in compare_runs([a, b], resamples=100)["comparisons"][0]["config_differences"]
    md = render_compare_markdown(r)
    # plain text, not a Python or YAML list with quotes around some items
    assert ("mmnet: 0.2.0 e4d7812 sha256:7883a728aa6f → 0.2.0 0cfb8a8 sha256:90d6aa000000 (seeds 0, 2) and "
            "0.2.0 e4d7812 sha256:7883a728aa6f (seed 1);") in md and "'" not in md.split("Differences")[1][:300]


def test_a_data_root_written_two_ways_is_the_same_folder_not_a_difference(tmp_path, monkeypatch):
    import yaml

    (tmp_path / "data").mkdir()
    samples = make_samples(SUBJECTS)
    a = write_run(tmp_path / "runs" / "a", samples, _good)
    b = write_run(tmp_path / "runs" / "b", samples, _worse)
    for run, root in ((a, "data"), (b, str(tmp_path / "data"))):  # a resumed 0.1.0 run: made absolute
        cfg = yaml.safe_load((run / "config.yaml").read_text())
        cfg["data"]["root"] = root
        (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.chdir(tmp_path)  # where training ran
    c = compare_runs([a, b], resamples=100)["comparisons"][0]
    assert "data.root" not in c["config_differences"]
    assert c["inert_differences"]["data.root"]["why"] == f"the same folder, {(tmp_path / 'data').resolve()}"
    (tmp_path / "data2").mkdir()
    cfg = yaml.safe_load((b / "config.yaml").read_text())
    cfg["data"]["root"] = str(tmp_path / "data2")
    (b / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert "data.root" in compare_runs([a, b], resamples=100)["comparisons"][0]["config_differences"]
