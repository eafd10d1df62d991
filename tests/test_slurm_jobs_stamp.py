"""``RUN/slurm-jobs.json``'s submission time: ISO 8601 in UTC with its offset (a local time alone was ambiguous
to a reader in another time zone); records of earlier versions, without an offset, are still read and followed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from mmnet import run_folder as rf
from mmnet.train import slurm_jobs


def _task(out):
    return SimpleNamespace(out_dir=out, fold_dir=out / "seed0" / "fold_s01", config=None)


def test_the_submission_time_is_written_in_utc_with_its_offset(tmp_path, monkeypatch):
    monkeypatch.setattr(slurm_jobs, "config_digest", lambda task: "digest")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    slurm_jobs.record_jobs([_task(tmp_path)], {0: SimpleNamespace(job_id="7000_0")}, "slurm", tmp_path / "logs")
    record = json.loads((tmp_path / rf.SLURM_JOBS).read_text())["seed0/fold_s01"]
    submitted = datetime.fromisoformat(record["submitted"])
    assert submitted.utcoffset() == timedelta(0)
    assert before <= submitted <= datetime.now(timezone.utc)


def test_a_record_written_without_an_offset_is_read_as_before(tmp_path, monkeypatch):
    old = {"seed0/fold_s01": {"job_id": "6999_0", "cluster": "slurm", "log_dir": str(tmp_path / "logs"),
                              "submitted": "2026-03-29T02:30:00", "config": "digest", "previous": []}}
    (tmp_path / rf.SLURM_JOBS).write_text(json.dumps(old))
    assert slurm_jobs.read_records(tmp_path) == old
    monkeypatch.setattr(slurm_jobs, "config_digest", lambda task: "digest")
    slurm_jobs.record_jobs([_task(tmp_path)], {0: SimpleNamespace(job_id="7000_0")}, "slurm", tmp_path / "logs")
    record = json.loads((tmp_path / rf.SLURM_JOBS).read_text())["seed0/fold_s01"]
    assert record["previous"] == ["6999_0"] and datetime.fromisoformat(record["submitted"]).tzinfo is not None


def test_a_change_of_an_inert_key_keeps_the_jobs_digest():
    # the resume check takes a change of a key the network never reads (here the PC module's depth without PC):
    # the SLURM follow-up must not cancel and resubmit the running folds over it
    from mmnet.config import load_config

    def digest(*overrides):
        return slurm_jobs.config_digest(SimpleNamespace(config=load_config(overrides=["model.use_pc=false",
                                                                                      *overrides])))

    assert digest("model.pc_depth=3") == digest() != digest("model.use_ca=false")
