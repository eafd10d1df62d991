"""env.json's record of the labels, the annotation files, synthetic data and the facts that decide a run's bits."""

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import torch

from mmnet.data.dataset_load import DatasetLoad
from mmnet.train import env_record
from mmnet.train.env_record import annotation_digests, cuda_record, labels_digest, numerics_record, synthetic_record


def test_the_labels_digest_covers_each_samples_label_and_class_not_the_order():
    rows = [["casme2/01/EP01", "casme2", "01", "EP01", "happiness", 0],
            ["casme2/01/EP02", "casme2", "01", "EP02", "others", "4"]]
    digest = labels_digest(rows)
    assert digest == labels_digest(rows[::-1]) and len(digest) == 20
    assert labels_digest([rows[0], rows[1][:4] + ["happiness", 0]]) != digest  # one label changed
    assert labels_digest([rows[0], rows[1][:5] + [3]]) != digest  # the same label, another class (a scheme)


def test_annotation_digests_hash_every_file_the_loader_read(tmp_path):
    main, part = tmp_path / "list.csv", tmp_path / "coding.xlsx"
    main.write_text("a,b\n")
    part.write_bytes(b"xlsx")
    load = DatasetLoad([], [], annotation=main, also_read=[part])
    assert annotation_digests(load) == {"list.csv": hashlib.sha256(b"a,b\n").hexdigest(),
                                        "coding.xlsx": hashlib.sha256(b"xlsx").hexdigest()}
    assert annotation_digests(DatasetLoad([], [])) == {}  # SMIC: the labels are folder names


def test_synthetic_settings_are_recorded_with_a_command_only_where_its_options_cover_them(tmp_path):
    from mmnet import synth

    assert synthetic_record([tmp_path]) == {}  # real data
    meta = {"generator": "mmnet synth", "generator_version": synth.GENERATOR_VERSION, "subjects": 3,
            "clips_per_subject": 10, "seed": 2, "config": json.loads(json.dumps(asdict(synth.DEMO_CONFIG)))}
    (tmp_path / "synth.json").write_text(json.dumps(meta))
    record = synthetic_record([Path("absent"), tmp_path])
    # a synth.json without the record of what synth wrote (an earlier mmnet's): said, the command kept
    unchecked = {"synthetic_unchecked": "its synth.json, written by mmnet of before 0.2.0, records no digest of what "
                                        "synth wrote"}
    assert record == {"synthetic_data": meta, "synthetic_command": "mmnet synth DATA --subjects 3 "
                                                                   "--clips-per-subject 10 --seed 2 --amplitude 8 12",
                      **unchecked}
    meta["config"]["texture"] = 2.0  # set from Python: no option writes it
    (tmp_path / "synth.json").write_text(json.dumps(meta))
    assert synthetic_record([tmp_path]) == {"synthetic_data": meta, **unchecked}
    long = {"generator": "mmnet synth --long", "generator_version": synth.GENERATOR_VERSION, "seed": 0,
            "events": [{"type": "blink"}] * 1000}
    (tmp_path / "synth.json").write_text(json.dumps(long))
    # no command for long recordings set from Python (here: no settings); their events (drawn from the seed) stay
    # in synth.json, not in env.json
    assert synthetic_record([tmp_path]) == {"synthetic_data": {"generator": "mmnet synth --long",
                                                               "generator_version": synth.GENERATOR_VERSION,
                                                               "seed": 0}, **unchecked}


def test_a_set_of_an_older_generator_gets_no_command_but_the_version_that_drew_it(tmp_path):
    # the command recorded would draw other frames with this mmnet's generator
    from mmnet import synth
    from mmnet.report.reproduce_terms import synthetic_terms

    # version 1 drew dark skin otherwise, at every size (version 2 differs only in faces larger than 280 x 340)
    meta = {"generator": "mmnet synth", "generator_version": 1, "subjects": 3,
            "clips_per_subject": 10, "seed": 2, "config": json.loads(json.dumps(asdict(synth.DEMO_CONFIG)))}
    (tmp_path / "synth.json").write_text(json.dumps(meta))
    older = f"drawn by synthetic generator version 1 (this mmnet draws version {synth.GENERATOR_VERSION})"
    record = synthetic_record([tmp_path])
    assert record == {"synthetic_data": meta, "synthetic_generator": older}
    assert f"synthetic set, {older}: this mmnet's `mmnet synth` would draw other frames" in synthetic_terms(record)
    del meta["generator_version"]  # written before the version was: version 1
    (tmp_path / "synth.json").write_text(json.dumps(meta))
    assert "synthetic_command" not in synthetic_record([tmp_path])


def test_numerics_record_names_the_cpus_native_bf16_and_caps(monkeypatch):
    monkeypatch.setattr(env_record, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512_bf16"}))
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert numerics_record("cpu") == {"cpu_bf16_flags": ["avx512_bf16"], "isa_caps": {"ONEDNN_MAX_CPU_ISA": "AVX2"}}
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    monkeypatch.setattr(env_record, "cpu_flags", frozenset)
    assert numerics_record("cpu") == {"cpu_bf16_flags": []}  # nothing of CUDA asked on a CPU run


def test_numerics_record_on_cuda_has_the_cuda_cudnn_and_driver_versions(monkeypatch):
    import subprocess

    monkeypatch.setattr(env_record, "cpu_flags", frozenset)
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 90100)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    calls = []

    def nvidia_smi(command, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, stdout="550.54.15\n550.54.15\n", stderr="")

    monkeypatch.setattr(env_record.subprocess, "run", nvidia_smi)
    record = numerics_record("cuda")
    tf32 = {"cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "cuda_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision()}
    assert record == {"cpu_bf16_flags": [], "cuda_version": "12.4", "cudnn_version": 90100, "cudnn_benchmark": True,
                      "tf32": tf32, "cuda_driver": "550.54.15"}
    assert calls[0][0] == "nvidia-smi"

    def missing(command, **kwargs):
        raise FileNotFoundError(command[0])

    monkeypatch.setattr(env_record.subprocess, "run", missing)
    assert "cuda_driver" not in numerics_record("cuda")  # no nvidia-smi: the driver is left out, nothing fails
    # what each fold's done.json records of its own machine (under Ray or SLURM not env.json's): the same facts
    assert cuda_record("cuda") == {"cuda_version": "12.4", "cudnn_version": 90100, "cudnn_benchmark": True}
    assert cuda_record("cpu") == {}


def test_the_command_of_a_table_set_writes_the_table_layout_again(tmp_path):
    # a set written with `mmnet synth --table` is read as the table dataset: its Reproduce command must write it
    import shlex

    from mmnet.cli import main
    from mmnet.synth.dataset import write_dataset

    first = write_dataset(tmp_path / "first", subjects=1, clips_per_subject=1, seed=3, table=True)
    command = synthetic_record([first])["synthetic_command"]
    assert command.endswith(" --table")
    again = tmp_path / "again"
    args = shlex.split(command)
    assert args[:3] == ["mmnet", "synth", "DATA"]
    assert main(["synth", str(again), *args[3:]]) == 0
    files = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file() and p.name != "synth.json")
    assert files == sorted(p.relative_to(again).as_posix() for p in again.rglob("*")
                           if p.is_file() and p.name != "synth.json")
    assert "annotations.csv" in files and (again / "annotations.csv").read_bytes() == \
        (first / "annotations.csv").read_bytes()


def test_a_set_edited_after_synth_wrote_it_is_said_modified_and_gets_no_command(tmp_path):
    # the command would write the labels synth drew, not the edited ones the run trained on
    from mmnet.report.render import _synthetic_line
    from mmnet.report.reproduce_terms import synthetic_terms
    from mmnet.synth.dataset import write_dataset

    root = write_dataset(tmp_path / "data", subjects=1, clips_per_subject=2, seed=3, table=True)
    record = synthetic_record([root])
    assert record["synthetic_command"].startswith("mmnet synth DATA") and "synthetic_modified" not in record
    assert "written" not in record["synthetic_data"]  # compared here, not copied into env.json
    table = root / "annotations.csv"
    lines = table.read_text().splitlines()
    fields = lines[1].split(",")
    fields[5] = "surprise" if fields[5] != "surprise" else "others"  # one label changed
    table.write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n")
    record = synthetic_record([root])
    assert "synthetic_command" not in record
    assert record["synthetic_modified"] == "annotations.csv differs from the file it wrote (sha256)"
    terms = synthetic_terms(record)
    assert "modified after `mmnet synth` wrote it (annotations.csv differs" in terms
    assert "`mmnet synth DATA" not in terms
    banner = _synthetic_line({"environment": record, "datasets": ["table"]})
    assert "The set was modified after `mmnet synth` wrote it: annotations.csv differs" in banner
    next(root.glob("clips/*/*/*.jpg")).unlink()  # a frame removed too
    assert "the frame files differ" in synthetic_record([root])["synthetic_modified"]
    # a synth.json of before the record: the command stays, with a word that the data could not be checked
    meta = json.loads((root / "synth.json").read_text())
    del meta["written"]
    (root / "synth.json").write_text(json.dumps(meta))
    record = synthetic_record([root])
    assert record["synthetic_command"] and "records no digest" in record["synthetic_unchecked"]
    assert "could not be checked" in synthetic_terms(record)


def test_the_command_of_long_recordings_writes_the_same_frames_again(tmp_path):
    # --long sets get a command where --subjects, --videos, --minutes, --size, --fps and --format cover the settings
    import shlex

    from mmnet.cli import main
    from mmnet.synth.long import LongConfig, face_size_for
    from mmnet.synth.long_writer import write_long_dataset

    size = (160, 120)
    first = write_long_dataset(tmp_path / "first", subjects=2, minutes=0.01, seed=4,
                               config=LongConfig(frame_size=size, face_size=face_size_for(size)))
    command = synthetic_record([first])["synthetic_command"]
    assert command == ("mmnet synth DATA --long --subjects 2 --videos 1 --minutes 0.01 --size 160 120 --seed 4 "
                       "--format jpg")
    args = shlex.split(command)
    again = tmp_path / "again"
    assert main(["synth", str(again), *args[3:], "--no-progress"]) == 0
    recorded, written = (json.loads((p / "synth.json").read_text()) for p in (first, again))
    assert written["written"]["frames_listing"] == recorded["written"]["frames_listing"]
    frames = sorted(p.relative_to(first).as_posix() for p in first.glob("rawpic/*/*/*.jpg"))
    assert frames and all((first / f).read_bytes() == (again / f).read_bytes() for f in frames)
    odd = json.loads((first / "synth.json").read_text())
    odd["config"]["blinks_per_min"] = 3.0  # set from Python: no option writes it
    (first / "synth.json").write_text(json.dumps(odd))
    assert "synthetic_command" not in synthetic_record([first])
