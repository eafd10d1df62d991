"""report.json's ``cite`` and report.md's "How to cite"; the Environment section's records in words and the run's
wall time."""

from __future__ import annotations

import json

import pytest

from mmnet.data.releases import OBJECTIVE_CLASSES_PAPER, RELEASES
from mmnet.report import build_report
from mmnet.report.cite import MMNET_PAPER, run_citations
from mmnet.report.env_text import environment_lines
from mmnet.version import __version__

from .fake_runs import make_samples, write_run

SUBJECTS = {"A": [0, 1, 2], "B": [1, 2, 0]}


@pytest.fixture
def run(tmp_path):
    return write_run(tmp_path / "run", make_samples(SUBJECTS), lambda seed, epoch, s: 0, epochs=1)


def test_the_report_cites_mmnet_the_software_and_the_datasets_paper(run):
    report = build_report(run)
    cite = json.loads((run / "report.json").read_text())["cite"]
    assert cite == report["cite"]
    assert cite["network"] == [MMNET_PAPER] and "IJCAI-22" in MMNET_PAPER and "arXiv:2201.05297" in MMNET_PAPER
    assert cite["data"] == list(RELEASES["casme2"].papers)
    # the mmnet that trained the run (env.json), and the one that wrote the report where they differ
    assert cite["software"].startswith(f"mmnet 0.1.0, which trained the run; this report by mmnet {__version__}")
    md = (run / "report.md").read_text()
    section = md[md.index("## How to cite"):md.index("## Files")]
    assert f"- {MMNET_PAPER}" in section and f"- {RELEASES['casme2'].papers[0]}" in section


def _report(dataset="casme2", datasets=("casme2",), scheme="casme2-5class", protocol="loso", env=None, trained=None):
    network = {"factory": "", "trained": [{"name": trained or "mmnet.model.mmnet:MMNet", "parameters": 1}]}
    return {"datasets": list(datasets), "environment": env or {"mmnet_version": "0.2.0"},
            "protocol": {"dataset": dataset, "scheme": scheme, "protocol": protocol, "network": network}}


def test_a_composite_cites_megc2019_first_then_its_parts_and_the_objective_classes_paper():
    cite = run_citations(_report("composite", ("smic", "casme2", "samm"), "objective-5class", "lodo"))
    megc = RELEASES["composite"].papers[0]
    assert cite["data"] == [megc, *RELEASES["smic"].papers, *RELEASES["casme2"].papers, *RELEASES["samm"].papers,
                            OBJECTIVE_CLASSES_PAPER]


def test_synthetic_faces_and_another_network_are_not_cited_as_a_dataset_or_as_mmnet():
    cite = run_citations(_report(env={"synthetic_data": {"seed": 0}}, trained="lab.nets:Tiny"))
    assert cite["network"] == [] and cite["data"] == []
    assert any("lab.nets:Tiny" in note for note in cite["notes"])
    assert any("synthetic faces" in note for note in cite["notes"])
    lab = run_citations(_report("table", ("table",)))
    assert lab["data"] == [] and any("your own clips" in note for note in lab["notes"])


def test_the_environment_says_the_calibration_tf32_and_libraries_in_words():
    calibration = {"image_size": 32, "batch": 16, "measured_at": "2026-12-06T16:40:39+0000", "metric": "wall",
                   "options": {"fp32/contiguous": {"status": "ok", "ms_per_step": 103.861},
                               "bf16/contiguous": {"status": "skipped: no native bf16"}},
                   "bf16_check": {"ok": True, "max_logit_diff": 0.018, "logit_scale": 0.77}, "under_load": []}
    env = {"calibration": calibration, "libraries": {"pillow": "11.0.0", "dlib": None},
           "tf32": {"cudnn_allow_tf32": True, "cuda_matmul_allow_tf32": False, "float32_matmul_precision": "highest"}}
    lines = environment_lines({"environment": env})
    assert all("{" not in line for line in lines)  # no raw Python dict
    cal = next(line for line in lines if line.startswith("- calibration: "))
    assert ("measured 2026-12-06T16:40:39+0000 at 32 px, batch 16 (wall time per training step): fp32/contiguous "
            "104 ms, bf16/contiguous skipped: no native bf16; bf16 agreed with fp32") in cal
    assert "- libraries: pillow 11.0.0" in lines
    # bf16 screened out for speed: no logits compared, so no difference to name (it read "nan at logit scale nan")
    screened = {**calibration, "bf16_check": {"screen_ratio": 14.244, "finite": True, "ok": False},
                "options": {**calibration["options"], "bf16/contiguous": {
                    "status": "not timed: a bf16 convolution took 14.2x fp32's (bf16 emulated)"}}}
    cal = next(line for line in environment_lines({"environment": {"calibration": screened}})
               if line.startswith("- calibration: "))
    assert "; bf16 screened out as 14.2x slower than fp32 (a bf16 convolution's time: bf16 emulated), not compared " \
           "with fp32" in cal and "nan" not in cal and "did not agree" not in cal
    failed = {**calibration, "bf16_check": {"screen_ratio": 0.9, "ok": False}}  # the logits' comparison raised
    cal = next(line for line in environment_lines({"environment": {"calibration": failed}})
               if line.startswith("- calibration: "))
    assert "; bf16 failed here, not compared with fp32" in cal and "screened" not in cal
    assert "- tf32: cuDNN convolutions allowed, matrix products off (float32 matmul precision highest; train.tf32)" \
        in lines


def test_the_report_gives_the_runs_wall_time_from_its_start_to_its_last_folds_end(run):
    env = json.loads((run / "env.json").read_text())
    (run / "env.json").write_text(json.dumps({**env, "started_at": "2026-12-07T10:00:00+0000"}))
    for fold, end in (("fold-A", "2026-12-07T11:30:00+00:00"), ("fold-B", "2026-12-07T12:05:30+00:00")):
        path = run / "seed-0" / fold / "done.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "finished_at": end, "seconds": 1800}))
    report = build_report(run)
    assert report["wall_time"] == {"started_at": "2026-12-07T10:00:00+0000",
                                   "last_fold_finished_at": "2026-12-07T12:05:30+00:00", "seconds": 7530.0,
                                   "fold_training_seconds": 3600.0}
    assert "- wall time: 2 h 05 min from the run's start" in (run / "report.md").read_text()


def test_a_run_of_an_earlier_mmnet_on_synthetic_faces_is_found_by_its_data_roots_synth_json(tmp_path):
    """mmnet 0.1.0 wrote no synthetic_data into env.json: the data root's synth.json (mmnet info's rule) tells."""
    import yaml

    data = tmp_path / "data"
    data.mkdir()
    (data / "synth.json").write_text(json.dumps({"generator": "mmnet synth", "mmnet_version": "0.1.0", "seed": 0}))
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), lambda seed, epoch, s: 0, epochs=1)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["data"]["root"] = "data"  # relative, as 0.1.0 wrote it: found from the folder above the run
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert "synthetic_data" not in json.loads((run / "env.json").read_text())
    report = build_report(run)
    assert report["cite"]["data"] == [] and any("synthetic faces" in n for n in report["cite"]["notes"])
    md = (run / "report.md").read_text()
    assert "Demo run on mmnet's synthetic faces" in md and "inferred from" in md and "synth.json" in md
    from mmnet.report.verdict import chance_lines

    assert "the scores are on synthetic faces" in " ".join(chance_lines(report))  # mmnet report's chance line
    assert "drawn by synthetic generator version 1" in report["reproduce"]["note"]
    (data / "synth.json").unlink()  # real data: nothing inferred
    report = build_report(run)
    assert "synthetic_data" not in report["environment"] and report["cite"]["data"]
    env = json.loads((run / "env.json").read_text())  # mmnet 0.2.0 on (code_digest) writes synthetic_data when so
    (data / "synth.json").write_text("{}")
    (run / "env.json").write_text(json.dumps({**env, "code_digest": "sha256:" + "0" * 64}))
    assert "synthetic_data" not in build_report(run)["environment"]


def test_a_run_resumed_by_a_newer_mmnet_cites_both_versions(run):
    """The fold of 0.1.0 records no version (env.json's holds); the resumed one records 0.2.0."""
    done = run / "seed-0" / "fold-B" / "done.json"
    done.write_text(json.dumps({**json.loads(done.read_text()), "mmnet_version": "0.2.0"}))
    software = build_report(run)["cite"]["software"]
    assert software.startswith("mmnet 0.1.0 and 0.2.0, which trained the run's folds (the Reproduce line names")
    assert run_citations(_report(env={"mmnet_version": "0.1.0"}), ["0.1.0"])["software"].startswith(
        "mmnet 0.1.0, which trained the run;")
