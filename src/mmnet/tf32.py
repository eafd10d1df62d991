"""TF32 on NVIDIA GPUs (Ampere and later): PyTorch's defaults (since 1.12) let cuDNN's convolutions round their fp32
inputs to TF32 (10 mantissa bits) and keep matrix products in full fp32. ``train.tf32`` keeps those defaults (null:
as the authors' code did, which sets no flag), turns TF32 off everywhere (false: strict fp32) or on in matrix
products too (true: faster). What a run trained with is recorded in env.json and each fold's done.json
(``tf32_record``); a run whose folds train on other machines (Ray, SLURM) records in env.json what ``train.tf32`` asks
(``tf32_asked``), not the flags of the process that started it, which no fold trained with. No effect on the CPU."""

from __future__ import annotations

__all__ = ["set_tf32", "tf32_state", "tf32_record", "tf32_asked", "restore_tf32", "TF32_MEANING", "TF32_WORDS",
           "FLAGS_IN_DONE"]

#: how each train.tf32 value sets (cuDNN convolutions, CUDA matrix products); None: as the process has them
TF32_MEANING = {None: None, False: (False, False), True: (True, True)}
#: what each train.tf32 value means, in words
TF32_WORDS = {None: "PyTorch's defaults (since 1.12: TF32 allowed in cuDNN's convolutions, matrix products in full "
                    "fp32), as the authors' code ran",
              False: "strict fp32: TF32 off in cuDNN's convolutions and CUDA's matrix products",
              True: "TF32 allowed in cuDNN's convolutions and CUDA's matrix products"}
#: where a run whose folds ran elsewhere records the flags each fold trained with
FLAGS_IN_DONE = "each fold's done.json (tf32), set where the fold ran; on a GPU only"


def set_tf32(setting: bool | None) -> None:
    """Apply ``train.tf32``: None leaves PyTorch's settings (its defaults unless the caller changed them)."""
    import torch

    if (flags := TF32_MEANING[setting]) is not None:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = flags


def tf32_state() -> dict:
    """Whether TF32 is allowed in cuDNN's convolutions and in CUDA's fp32 matrix products, and torch's fp32
    matmul precision ("highest": full fp32; "high": TF32): what a CUDA run's fp32 arithmetic was."""
    import torch

    return {"cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "cuda_matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
            "float32_matmul_precision": torch.get_float32_matmul_precision()}


def tf32_record(device_type: str) -> dict:
    """env.json's and done.json's ``tf32``: the flags on a CUDA device; {} elsewhere, where TF32 does not apply."""
    return {"tf32": tf32_state()} if device_type == "cuda" else {}


def tf32_asked(setting: bool | None) -> dict:
    """env.json's ``tf32`` of a run whose folds train on other machines (Ray, SLURM): ``train.tf32`` and its meaning,
    and where the flags in force are (``FLAGS_IN_DONE``): this process's flags are not the folds'."""
    return {"tf32": {"train_tf32": setting, "meaning": TF32_WORDS[setting], "flags_in_force": FLAGS_IN_DONE}}


def restore_tf32(state: dict) -> None:
    """Set back what ``tf32_state`` read (a run called from Python leaves its caller's settings as they were)."""
    import torch

    torch.backends.cudnn.allow_tf32 = state["cudnn_allow_tf32"]
    torch.set_float32_matmul_precision(state["float32_matmul_precision"])  # sets cuda.matmul.allow_tf32 with it
