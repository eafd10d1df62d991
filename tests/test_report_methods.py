"""report.md's Methods summary and report.json's recipe: written from the run's config and env.json, and held to the
training code's own choices (a change there fails here until the words follow)."""

import hashlib
import inspect
import json
from pathlib import Path

import pytest
import torch
import yaml

from mmnet.data.cache import frame_windows
from mmnet.data.sample import Sample
from mmnet.report import build_report
from mmnet.report.methods import recipe

from .fake_runs import make_samples, write_run

SUBJECTS = {"1": [0, 0, 1, 2], "2": [1, 1, 2], "3": [0, 2, 2, 1]}


def _summary(**sections) -> str:
    return recipe(sections, {"precision": "fp32"})["summary"]


def test_report_md_and_json_state_the_recipe_from_the_config(tmp_path):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), lambda seed, e, s: s["class_index"], epochs=3)
    report = build_report(run)
    md = (run / "report.md").read_text(encoding="utf-8")
    assert report["recipe"]["summary"] in md and "## Methods summary" in md
    for words in ("horizontal flip with probability 0.5", "+/-3 degrees", "zero-padded by 15 pixels",
                  "j = int(0.15 x (apex - onset) / 4)", "AdamW", "learning rate 0.0008", "unweighted cross-entropy",
                  "last, partial batch kept", "no test-time augmentation", "SHA-256", "randomly initialised",
                  "aspect ratio is not kept", "ImageNet mean (0.485, 0.456, 0.406)", "trained in float32"):
        assert words in report["recipe"]["summary"], words
    # another config: the paragraph follows it when the report is built again
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["augment"] = {"hflip": 0.0}
    cfg["train"]["lr"] = 0.002
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    again = build_report(run)["recipe"]["summary"]
    assert "flip" not in again and "learning rate 0.002" in again and "+/-3 degrees" in again
    assert json.loads((run / "report.json").read_text())["recipe"]["summary"] == again


def test_each_clause_follows_its_setting():
    plain = _summary()
    assert "after each of the first 50 epochs (ExponentialLR), then held at 0.0004159 for epochs 51-74" in plain
    assert "74 epochs" in plain and "batches of 32" in plain and "weight decay 0.6" in plain
    none = recipe({"augment": {"hflip": 0, "rotate_degrees": 0, "crop_padding": 0}, "data": {"jitter_fraction": 0}},
                  {})
    assert none["augmentation"] == "no spatial augmentation" and "no temporal jitter" in none["temporal_jitter"]
    assert "No spatial augmentation." in none["summary"]
    assert "a constant learning rate of 0.0008" in _summary(train={"lr_gamma": 1.0})
    assert "after every epoch" in _summary(train={"epochs": 20})
    assert "held-out dataset" in _summary(data={"protocol": "lodo"})
    assert "apex frame alone" in _summary(model={"main_input": "apex"})
    assert "position-calibration" not in _summary(model={"use_pc": False})
    assert "bfloat16" in recipe({}, {"precision": "bf16"})["summary"]
    frames = recipe({}, {"part_frames": {"casme2": {"folder": "Cropped-updated/Cropped", "uncropped": False}}})
    assert "Frames (from Cropped-updated/Cropped) resized" in frames["summary"]


# --- the code's fixed choices, as the summary states them


def test_the_optimizer_is_adamw_and_the_schedule_exponential_held_after_lr_decay_epochs():
    from mmnet.train import fold
    from mmnet.train.loop import adamw

    opt = adamw([torch.nn.Parameter(torch.zeros(2))], lr=1e-3, weight_decay=0.5)
    assert type(opt) is torch.optim.AdamW and opt.defaults["weight_decay"] == 0.5
    source = inspect.getsource(fold._train_fold)
    assert "lr_scheduler.ExponentialLR(optimizer, gamma=tc.lr_gamma)" in source
    assert "if epoch <= tc.lr_decay_epochs:" in source and "scheduler.step()" in source
    assert "build_network(cfg.model" in source and "load_state_dict(state[\"model\"])" in source  # only a resume


class _Frames:
    device, has_flow = torch.device("cpu"), False

    def __init__(self):
        self.sizes = []

    def train_batch(self, idx, augment, generator, memory_format):
        self.sizes.append(len(idx))
        return torch.randn(len(idx), 2), torch.randn(len(idx), 2), torch.zeros(len(idx), dtype=torch.long)


def test_the_loss_is_unweighted_cross_entropy_and_the_last_partial_batch_is_kept(monkeypatch):
    from mmnet.config import AugmentConfig
    from mmnet.train import loop

    calls = []
    real = loop.F.cross_entropy
    monkeypatch.setattr(loop.F, "cross_entropy", lambda *a, **k: calls.append(k) or real(*a, **k))

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 3)

        def forward(self, onset, apex):
            return self.lin(apex - onset)

    net, data = Net(), _Frames()
    loop.train_one_epoch(net, data, torch.arange(5), torch.optim.SGD(net.parameters(), lr=0.1), batch_size=2,
                         augment=AugmentConfig(), generator=torch.Generator().manual_seed(0), precision="fp32")
    assert data.sizes == [2, 2, 1]
    assert calls and all(k == {} for k in calls)  # no weight, no label smoothing


def test_fold_seeds_and_normalisation_and_jitter_are_as_stated():
    from mmnet.model import mmnet as network
    from mmnet.model.config import IMAGENET_MEAN
    from mmnet.train.tasks import fold_seed

    digest = hashlib.sha256(b"3/fold-sub07").digest()[:4]
    assert fold_seed(3, "fold-sub07") == int.from_bytes(digest, "little") & 0x7FFFFFFF
    assert network.IMAGENET_MEAN is IMAGENET_MEAN
    frames = tuple((n, Path(f"img{n}.jpg")) for n in range(10, 60))
    s = Sample("casme2", "01", "EP01", onset=10, apex=50, offset=59, label="happiness", frames=frames)
    w = frame_windows(s, 0.3, clamp=False)  # j = int(0.3 * 40 / 4) = 3
    assert w.onset_frames == (10, 11, 12, 13) and w.apex_frames == (47, 48, 49, 50)


@pytest.mark.parametrize("key", ["OPTIMIZER", "LOSS", "LAST_BATCH", "FOLD_SEED", "TESTING"])
def test_the_fixed_words_are_in_the_summary(key):
    from mmnet.report import methods

    assert getattr(methods, key) in _summary()


def test_the_datasets_own_scheme_is_not_called_a_change_from_the_defaults():
    from mmnet.report.config_summary import config_defaults

    assert config_defaults({"data.dataset": "casme2", "data.scheme": "casme2-5class"}) == {}
    assert config_defaults({"data.dataset": "samm", "data.scheme": "samm-5class"}) == {"data.dataset": "casme2"}
    assert config_defaults({"data.dataset": "casme2", "data.scheme": "casme2-3class"}) == {
        "data.scheme": "casme2-5class"}


def test_uncropped_frames_and_a_label_control_are_said():
    raw = recipe({"data": {"permute_labels": True}},
                 {"part_frames": {"casme2": {"folder": "CASME2-RAW", "uncropped": True, "layout": "raw"}}})
    assert "Frames (from CASME2-RAW, UNCROPPED full frames) resized" in raw["summary"]
    assert raw["summary"].endswith("Control run: the labels were shuffled across samples before training (expect "
                                   "chance).")
    assert "labels" not in recipe({}, {})


def _gpu_run(tmp_path, tf32, env_device: str, fold_device: str) -> Path:
    """A run folder whose config sets train.tf32 and whose env.json and done.json record the devices (and, on a GPU,
    the TF32 flags) as a run writes them."""
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), lambda seed, e, s: s["class_index"], epochs=2)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["train"]["tf32"] = tf32
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    flags = {"cudnn_allow_tf32": tf32 is not False, "cuda_matmul_allow_tf32": bool(tf32),
             "float32_matmul_precision": "high" if tf32 else "highest"}
    env = json.loads((run / "env.json").read_text())
    env.update(device=env_device, **({"tf32": flags} if env_device.startswith("cuda") else {}))
    (run / "env.json").write_text(json.dumps(env))
    for done_path in run.glob("seed-*/fold-*/done.json"):
        done = json.loads(done_path.read_text())
        done.update(device=fold_device, precision="fp32", **({"tf32": flags} if fold_device.startswith("cuda") else {}))
        done_path.write_text(json.dumps(done))
    return run


@pytest.mark.parametrize(("tf32", "env_device", "fold_device", "said"), [
    (False, "cuda:0 (NVIDIA H100 80GB HBM3)", "cuda:0 (NVIDIA H100 80GB HBM3)", True),
    (False, "cpu", "cuda:0 (NVIDIA A100-SXM4-40GB)", True),  # folds under SLURM: the head node had no GPU
    (False, "cpu", "cpu", False),  # TF32 does not apply on the CPU
    (None, "cuda:0 (NVIDIA H100 80GB HBM3)", "cuda:0 (NVIDIA H100 80GB HBM3)", False),  # the authors' defaults
])
def test_strict_fp32_on_a_gpu_is_said_as_a_difference_from_the_authors(tmp_path, tf32, env_device, fold_device, said):
    from mmnet.report.methods import STRICT_FP32

    report = build_report(_gpu_run(tmp_path, tf32, env_device, fold_device))
    md = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    clause = (f"trained in float32 with TF32 off on the GPU ({STRICT_FP32}), unlike the authors, who ran PyTorch's "
              "defaults (TF32 in cuDNN's convolutions on NVIDIA Ampere and later GPUs)")
    assert (clause in report["recipe"]["optimisation"]) is said
    assert (clause in md) is said and "trained in float32" in md


def _fold_cuda(run: Path, versions) -> None:
    """Each finished fold's done.json records the CUDA facts of its machine, as a fold on a GPU writes them
    (``versions``: one dict, or one per fold in turn)."""
    paths = sorted(run.glob("seed-*/fold-*/done.json"))
    for i, done_path in enumerate(paths):
        done = json.loads(done_path.read_text())
        done.update(versions[i % len(versions)] if isinstance(versions, list) else versions)
        done_path.write_text(json.dumps(done))


A100 = {"cuda_version": "12.4", "cudnn_version": 90100, "cuda_driver": "550.54.15", "cudnn_benchmark": True}


def test_folds_on_gpu_nodes_name_their_cuda_not_the_cpu_head_nodes(tmp_path):
    # folds under SLURM on GPU nodes; `mmnet train` started on a login node without a GPU: env.json has no CUDA
    run = _gpu_run(tmp_path, None, "cpu", "cuda:0 (NVIDIA A100-SXM4-40GB)")
    _fold_cuda(run, A100)
    report = build_report(run)
    md = (run / "report.md").read_text(encoding="utf-8")
    named = "cuda_version 12.4, cudnn_version 90100, cuda_driver 550.54.15, from the folds' done.json"
    head = "env.json, of the machine that started the run, records none"
    reproduce = md[md.index("Reproduce: "):].splitlines()[0]
    assert f"CUDA and cuDNN ({named}; {head}) give the closest" in reproduce
    assert "not recorded" not in reproduce
    assert report["recipe"]["gpu_software"] == f"on the GPU: {named}; {head}"
    assert f"On the GPU: {named}; {head}." in md[md.index("## Methods summary"):md.index("## Environment")]
    assert report["fold_cuda"] == {k: [v] for k, v in A100.items()}
    assert ("- the folds' CUDA (their done.json): cuda_version 12.4, cudnn_version 90100, cuda_driver 550.54.15, "
            "cudnn_benchmark True (env.json's lines above are of the machine that started the run)") in md


def test_folds_that_differ_are_named_each_and_a_head_nodes_other_cuda_is_said(tmp_path):
    run = _gpu_run(tmp_path, None, "cuda:0 (NVIDIA T4)", "cuda:0 (NVIDIA A100-SXM4-40GB)")
    env = json.loads((run / "env.json").read_text())
    (run / "env.json").write_text(json.dumps({**env, "cuda_version": "12.1", "cudnn_version": 8902,
                                              "cuda_driver": "530.30.02", "cudnn_benchmark": True}))
    _fold_cuda(run, [A100, {**A100, "cuda_driver": "535.104.05"}])
    note = build_report(run)["reproduce"]["note"]
    assert ("(cuda_version 12.4, cudnn_version 90100, cuda_driver 550.54.15 or 535.104.05, from the folds' done.json "
            "(the folds differ); env.json's, of the machine that started the run, differ: cuda_version 12.1, "
            "cudnn_version 8902, cuda_driver 530.30.02)") in note
    _fold_cuda(run, A100)  # the same machine software as the head node's: nothing more to say
    (run / "env.json").write_text(json.dumps({**env, **A100}))
    note = build_report(run)["reproduce"]["note"]
    assert "(cuda_version 12.4, cudnn_version 90100, cuda_driver 550.54.15, from the folds' done.json) give" in note


def test_a_driver_the_folds_did_not_record_is_no_difference():
    from mmnet.report.cuda_terms import cuda_versions

    env = {"cuda_version": "12.4", "cudnn_version": 90100, "cuda_driver": "550.54"}
    folds = [{"cuda_version": "12.4", "cudnn_version": 90100}]
    text = cuda_versions(env, folds)
    assert "differ" not in text
    assert text == ("cuda_version 12.4, cudnn_version 90100, from the folds' done.json; the folds record no "
                    "cuda_driver; env.json's, of the machine that started the run: cuda_driver 550.54")
    assert "differ: cuda_version 12.1" in cuda_versions({**env, "cuda_version": "12.1"}, folds)


def test_a_cpu_run_names_no_gpu_software(tmp_path):
    report = build_report(_gpu_run(tmp_path, None, "cpu", "cpu"))
    assert "gpu_software" not in report["recipe"] and report["fold_cuda"] == {}
    assert "the folds' CUDA" not in (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
