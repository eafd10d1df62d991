"""train.tf32: PyTorch's TF32 defaults kept (how the authors ran), strict fp32 or TF32 everywhere; what a GPU run
trained with recorded in env.json and done.json. The flags exist in the CPU build, so they are tested here."""

import pytest
import torch

from mmnet.config import load_config
from mmnet.errors import ConfigError
from mmnet.process_state import restored_process_state
from mmnet.tf32 import restore_tf32, set_tf32, tf32_record, tf32_state


@pytest.fixture(autouse=True)
def _kept_flags():
    before = tf32_state()
    yield
    restore_tf32(before)


def test_the_config_key_takes_true_false_or_null_and_defaults_to_pytorchs_settings():
    assert load_config(None, []).train.tf32 is None
    assert load_config(None, ["train.tf32=false"]).train.tf32 is False
    assert load_config(None, ["train.tf32=true"]).train.tf32 is True
    with pytest.raises(ConfigError, match="train.tf32"):
        load_config(None, ["train.tf32=fast"])


@pytest.mark.parametrize(("setting", "cudnn", "matmul", "precision"),
                         [(False, False, False, "highest"), (True, True, True, "high")])
def test_false_is_strict_fp32_and_true_tf32_in_convolutions_and_matrix_products(setting, cudnn, matmul, precision):
    set_tf32(not setting)  # from the other state, so that the setting is what changed the flags
    set_tf32(setting)
    assert tf32_state() == {"cudnn_allow_tf32": cudnn, "cuda_matmul_allow_tf32": matmul,
                            "float32_matmul_precision": precision}


def test_null_leaves_the_flags_as_the_process_has_them():
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = False, True
    before = tf32_state()
    set_tf32(None)
    assert tf32_state() == before


def test_a_cuda_plan_applies_the_setting(monkeypatch):
    # plan_training is where a fold (local, Ray, SLURM) sets cuDNN up on its GPU: it applies train.tf32 there
    from mmnet.train import calibrate

    monkeypatch.setattr(calibrate, "resolve_device", lambda name: torch.device("cuda"))
    monkeypatch.setattr(calibrate, "plan_compute", lambda *a, **k: None)
    torch.backends.cudnn.allow_tf32 = True
    with restored_process_state():
        calibrate.plan_training(load_config(None, ["train.tf32=false"]).train, 224)
        assert tf32_state()["cudnn_allow_tf32"] is False
    assert tf32_state()["cudnn_allow_tf32"] is True  # a run called from Python gives its caller's settings back


def test_the_record_of_a_cuda_fold_has_the_flags_a_cpu_folds_none():
    # env.json and each done.json take it (numerics_record, fold._train_fold): fp32 on a GPU names its TF32
    set_tf32(False)
    assert tf32_record("cuda") == {"tf32": {"cudnn_allow_tf32": False, "cuda_matmul_allow_tf32": False,
                                            "float32_matmul_precision": "highest"}}
    assert tf32_record("cpu") == {}


def test_a_run_whose_folds_train_elsewhere_records_what_the_config_asks_not_this_processs_flags(monkeypatch):
    # Ray or SLURM (measure=False): the head node's flags are not what any fold trained with
    from mmnet.train import env_record
    from mmnet.train.env_record import numerics_record
    from mmnet.train.prepare import environment

    asked = {"train_tf32": False, "meaning": "strict fp32: TF32 off in cuDNN's convolutions and CUDA's matrix products",
             "flags_in_force": "each fold's done.json (tf32), set where the fold ran; on a GPU only"}
    set_tf32(True)  # the head node's flags, unlike what train.tf32 asks
    cfg = load_config(None, ["train.tf32=false"])
    assert environment(cfg, "fingerprint", measure=False)["tf32"] == asked  # device auto: GPUs where the folds run
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 90100)
    monkeypatch.setattr(env_record, "_nvidia_driver", lambda: "")
    assert numerics_record("cuda", cfg.train)["tf32"] == asked  # a head node with a GPU of its own too
    assert numerics_record("cuda")["tf32"]["cudnn_allow_tf32"] is True  # measured here: the flags in force
    assert "tf32" not in numerics_record("cpu", load_config(None, ["train.device=cpu"]).train)

    from mmnet.report.env_text import environment_lines

    (line,) = environment_lines({"environment": {"tf32": asked}})
    assert line == ("- tf32: train.tf32 false asked: strict fp32: TF32 off in cuDNN's convolutions and CUDA's matrix "
                    "products; the flags in force: each fold's done.json (tf32), set where the fold ran; on a GPU only")
