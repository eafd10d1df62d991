"""What tells one mmnet from another in the files it writes (installed copies have no git revision), and what an
upgrader of an earlier install reads: the changelog, the old module name, the keys filled in for old configs."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

from mmnet import run_folder as rf
from mmnet.version import PACKAGE_DIR, __version__, code_digest

from .fake_runs import make_samples, write_run

TOP = Path(__file__).resolve().parents[1]
SUBJECTS = {str(i): [(i + k) % 3 for k in range(6)] for i in range(1, 7)}


def _package(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def test_the_code_digest_follows_the_code_not_where_it_lies_nor_its_line_endings(tmp_path):
    digest = code_digest.__wrapped__  # the cached one keeps a process's first answer
    files = {"__init__.py": b"x = 1\n", "train/fold.py": b"def f():\n    return 2\n", "static/app.js": b"a"}
    one = digest(_package(tmp_path / "a" / "mmnet", files))
    assert one.startswith("sha256:") and len(one) == 7 + 64
    assert digest(_package(tmp_path / "b" / "mmnet", files)) == one  # a checkout and an install of it
    crlf = {k: v.replace(b"\n", b"\r\n") for k, v in files.items()}
    assert digest(_package(tmp_path / "c" / "mmnet", crlf)) == one
    assert digest(_package(tmp_path / "d" / "mmnet", {**files, "static/app.js": b"b"})) == one  # not Python
    assert digest(_package(tmp_path / "e" / "mmnet", {**files, "train/fold.py": b"def f():\n    return 3\n"})) != one
    moved = {"__init__.py": files["__init__.py"], "train/other.py": files["train/fold.py"]}
    assert digest(_package(tmp_path / "f" / "mmnet", moved)) != one


def test_version_names_the_code_digest_also_without_git(monkeypatch, capsys):
    from mmnet import version
    from mmnet.cli import main

    monkeypatch.setattr(version, "git_revision", lambda package_dir=PACKAGE_DIR: None)  # an installed mmnet
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"mmnet {__version__} (code {code_digest()[:19]})"


def test_the_run_records_the_code_digest_and_the_frame_cache_version():
    from mmnet.config import load_config
    from mmnet.data.cache import CACHE_VERSION
    from mmnet.train.prepare import environment
    from mmnet.train.resume_env import trained_software

    env = environment(load_config(None, []), "fingerprint", "sha256:frames", measure=False)
    assert (env["code_digest"], env["frame_cache_version"]) == (code_digest(), CACHE_VERSION)
    assert trained_software()["code_digest"] == code_digest()  # what each done.json records


def _installed(version: str, digest: str | None) -> dict:
    return {"mmnet_version": version, "git_revision": None, **({"code_digest": digest} if digest else {})}


def _run(tmp_path, name: str, software: dict | None = None, **env) -> Path:
    import yaml

    run = write_run(tmp_path / name, make_samples(SUBJECTS), lambda seed, epoch, s: s["class_index"])
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["train"]["memory_format"] = "auto"  # as written from 2026-11-25 on
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    record = json.loads((run / "env.json").read_text())
    (run / "env.json").write_text(json.dumps({**record, **env}))
    for done in run.glob("seed-*/fold-*/done.json"):
        done.write_text(json.dumps({**json.loads(done.read_text()), **(software or {})}))
    return run


def test_a_resume_by_another_installed_mmnet_of_the_same_version_is_warned(tmp_path):
    from mmnet.train.resume_env import software_changes

    run = _run(tmp_path, "run", _installed("0.2.0", "sha256:" + "a" * 64))
    assert software_changes(run, _installed("0.2.0", "sha256:" + "a" * 64)) == []
    [line] = software_changes(run, _installed("0.2.0", "sha256:" + "b" * 64))
    assert line.startswith("resuming with mmnet 0.2.0 (code sha256:bbbbbbbbbbbb), but the run's finished folds were "
                           "trained by mmnet 0.2.0 (code sha256:aaaaaaaaaaaa)")
    assert rf.software_name({"mmnet_version": "0.1.0", "git_revision": None}) == "mmnet 0.1.0"  # an earlier fold


def test_the_reproduce_note_names_folds_trained_by_different_installed_mmnets(tmp_path):
    from mmnet.report import compute_report

    run = _run(tmp_path, "run", _installed("0.2.0", "sha256:" + "a" * 64), mmnet_version="0.2.0",
               git_revision=None, code_digest="sha256:" + "a" * 64)
    later = sorted(run.glob("seed-0/fold-*/done.json"))[-1]
    later.write_text(json.dumps({**json.loads(later.read_text()), "code_digest": "sha256:" + "b" * 64}))
    reproduce = compute_report(run, resamples=100)["reproduce"]
    assert "the mmnet that trained them: mmnet 0.2.0 (code sha256:aaaaaaaaaaaa) (seed 0: " in reproduce["note"]
    assert "mmnet 0.2.0 (code sha256:bbbbbbbbbbbb) (seed 0: fold-6)" in reproduce["note"]
    assert "mmnet" in reproduce["env_differs"]


def test_compare_lists_the_mmnet_of_each_run_and_says_an_upgrade_changed_the_frame_cache(tmp_path):
    from mmnet.report.compare import compare_runs

    old = _run(tmp_path, "old", None, mmnet_version="0.1.0", git_revision=None, dataset_fingerprint="v1-name")
    new = _run(tmp_path, "new", _installed("0.2.0", "sha256:" + "c" * 64), mmnet_version="0.2.0", git_revision=None,
               code_digest="sha256:" + "c" * 64, dataset_fingerprint="v2-name", frames_digest="sha256:frames",
               frame_cache_version=2)
    result = compare_runs([old, new], resamples=100)
    diff = result["comparisons"][0]["config_differences"]
    assert diff["mmnet"] == ["0.1.0", "0.2.0 sha256:cccccccccccc"]  # what each records, as its Reproduce line
    assert not {"mmnet_version", "code_digest", "git_revision"} & set(diff)  # one entry, not three lists
    [note] = [n for n in result["notes"] if "fingerprints differ" in n]
    assert "the frame cache version changed by an mmnet upgrade" in note and "different input data" not in note
    assert "old was started by an earlier mmnet" in note.replace(str(tmp_path / "old"), "old")
    newer = _run(tmp_path, "newer", None, frames_digest="sha256:other", frame_cache_version=3)
    notes = compare_runs([new, newer], resamples=100)["notes"]
    assert [n for n in notes if "decoded frames differ" in n and "frame cache versions 2, 3: an mmnet upgrade" in n]


@pytest.mark.parametrize(("device", "precision", "capability"), [
    ("cpu", "bf16", None), ("cuda:0", "fp32", None), ("cpu", "fp32", "AVX512"), ("cpu", "fp32", "AVX2"),
    ("cpu", "fp32", None)])
def test_compare_resolves_an_old_runs_auto_memory_format_as_the_trainer_does(tmp_path, monkeypatch, device,
                                                                            precision, capability):
    import torch

    from mmnet.report.compare import _settings_used
    from mmnet.report.run_reader import load_run
    from mmnet.runtime import resolve_memory_format

    run = _run(tmp_path, "old", None, device=device, precision=precision,
               **({"cpu_capability": capability} if capability else {}))
    used = _settings_used(load_run(run))
    if capability is None and device == "cpu" and precision == "fp32":  # it depends on the CPU, not recorded
        assert "train.memory_format" not in used
        return
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    trained = resolve_memory_format("auto", torch.device(device), precision)
    assert used["train.memory_format"] == ("channels_last" if trained == torch.channels_last else "contiguous")


def test_an_old_runs_unresolvable_memory_format_is_no_difference(tmp_path):
    from mmnet.report.compare import compare_runs

    old = _run(tmp_path, "old", None, device="cpu", precision="fp32")  # no memory format, no CPU capability
    new = _run(tmp_path, "new", {"device": "cpu", "precision": "fp32", "memory_format": "channels_last"})
    diff = compare_runs([old, new], resamples=100)["comparisons"][0]["config_differences"]
    assert "train.memory_format" not in diff


def test_the_old_inference_module_forwards_to_infer_with_a_deprecation_warning():
    import importlib
    import sys

    import mmnet.infer
    import mmnet.media

    sys.modules.pop("mmnet.inference", None)
    with pytest.warns(DeprecationWarning, match=r"mmnet\.inference moved to mmnet\.infer"):
        old = importlib.import_module("mmnet.inference")
    assert (old.Predictor, old.load_clip, old.ClipRequest) == (mmnet.infer.Predictor, mmnet.infer.load_clip,
                                                                 mmnet.infer.ClipRequest)
    assert old.list_frames is mmnet.media.list_frames
    with pytest.raises(AttributeError, match="check_same_size was removed"):
        old.check_same_size  # noqa: B018
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sys.modules.pop("mmnet.inference", None)


def test_the_docs_list_every_key_filled_in_for_an_earlier_runs_config():
    from mmnet.config_history import _ADDED

    text = (TOP / "docs" / "configuration.md").read_text(encoding="utf-8")
    start = text.index("A `config.yaml` written by an earlier mmnet lacks the keys added since")
    paragraph = text[start:text.index("\n\n", start)]
    listed = dict(re.findall(r"`([a-z_]+\.[a-z_0-9]+): ([^`]*)`", paragraph))
    shown = {f"{section}.{key}": json.dumps(value).replace("0.0", "0").replace('""', '""')
             for (section, key), value in _ADDED.items()}
    assert listed == shown
    changelog = (TOP / "CHANGELOG.md").read_text(encoding="utf-8")
    assert all(f"`{key}: {value}`" in changelog for key, value in shown.items())


def test_the_changelog_starts_with_this_version():
    changelog = (TOP / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(r"^## \[?(\d+\.\d+\.\d+)\]? - \d{4}-\d\d-\d\d$", changelog, re.MULTILINE).group(1) == __version__
