"""report.md's "Methods summary" and report.json's ``recipe``: how the run trained and tested, in words a Methods
section can take, written from the run's resolved config.yaml and env.json and from the choices the training code
makes whatever the config says (the constants below; tests hold them to mmnet.train.loop, mmnet.train.fold,
mmnet.train.tasks and mmnet.data.batches, so that a change there fails until the words follow).

Each clause is built from the values the run used: ``augment.hflip=0`` drops the flip, another ``train.lr`` changes
the rate and the rate the schedule ends at, ``data.jitter_fraction=0`` says the annotated frames are used as they
are. A report of a run whose config.yaml lacks a key reads it as the built-in default. A float32 run on a GPU
with ``train.tf32=false`` (strict fp32) says so as a difference from the authors, who ran PyTorch's TF32 defaults;
the device is the one env.json or a fold's done.json records. A GPU run names the CUDA and cuDNN versions and the
driver of the folds' machines (their done.json; ``cuda_terms``), and says where env.json's differ or are missing.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config import ExperimentConfig, config_to_dict, flatten_config
from ..model.config import IMAGENET_MEAN, IMAGENET_STD
from .cuda_terms import cuda_versions

__all__ = ["recipe", "methods_lines", "strict_fp32", "OPTIMIZER", "SCHEDULER", "LOSS", "LAST_BATCH", "FOLD_SEED",
           "TESTING", "STRICT_FP32"]

#: The choices training makes whatever the config says (mmnet.train.loop.adamw, train_one_epoch, evaluate;
#: mmnet.train.fold; mmnet.train.tasks.fold_seed)
OPTIMIZER = "AdamW (decoupled weight decay; PyTorch's fused implementation where the device has one)"
SCHEDULER = "ExponentialLR"
LOSS = "unweighted cross-entropy (no class weights, no resampling)"
LAST_BATCH = "the last, partial batch kept"
FOLD_SEED = "the first 4 bytes of SHA-256 of '<seed>/<fold>', little-endian with the top bit cleared"
TESTING = "exact annotated onset and apex frames, no test-time augmentation"
STRICT_FP32 = "train.tf32=false: strict fp32 in cuDNN's convolutions and CUDA's matrix products"
_MMNET = "mmnet.model.mmnet:MMNet"  # done.json's name of MMNet (protocol_text.MMNET_NETWORK)


def _values(config: dict) -> dict:
    """The run's config by dotted key over the built-in defaults (a key an earlier mmnet did not write)."""
    return {**flatten_config(config_to_dict(ExperimentConfig())), **flatten_config(config or {})}


def _number(x: float) -> str:
    return f"{x:.4g}"


def _network(network: dict | None, c: dict) -> str:
    trained = [t.get("name") for t in (network or {}).get("trained") or []]
    if c["model.factory"] or (trained and trained != [_MMNET]):
        names = ", ".join(n.rpartition(":")[2] for n in trained) or c["model.factory"]
        return f"{names} (built by model.factory; initialised as that network does)"
    name = (network or {}).get("variant") or "MMNet"
    return (f"{name}, randomly initialised (no pretrained weights: main-branch convolutions Kaiming-normal, fan-out; "
            "BatchNorm weights 1, biases 0; other layers PyTorch's defaults)")


def _input(c: dict) -> str:
    main = {"difference": "the apex frame minus the onset frame",
            "apex": "the apex frame alone",
            "flow": f"the optical flow from onset to apex ({c['data.flow_method']}; u, v and magnitude channels)",
            }[c["model.main_input"]]
    pc = "; the onset frame also feeds the position-calibration branch" if c["model.use_pc"] else ""
    return f"input: {main}, to the main branch{pc}"


def _preprocessing(c: dict, frames: str) -> str:
    size = c["data.image_size"]
    return (f"frames{frames} resized to {size}x{size} pixels (bilinear, antialiased; the aspect ratio is not kept), "
            f"scaled to [0, 1] and normalised with the ImageNet mean {IMAGENET_MEAN} and standard deviation "
            f"{IMAGENET_STD}")


def _jitter(c: dict) -> str:
    f = c["data.jitter_fraction"]
    if c["model.main_input"] == "flow":
        return "no temporal jitter (the flow is computed once, between the annotated onset and apex)"
    if f == 0:
        return "the annotated onset and apex frames in training too (no temporal jitter)"
    return (f"temporal jitter: each training draw takes the onset uniformly from the annotated onset and the j "
            f"frames after it, and the apex from the annotated apex and the j frames before it, "
            f"j = int({_number(f)} x (apex - onset) / 4)")


def _augmentation(c: dict) -> str:
    parts = []
    if c["augment.hflip"] > 0:
        parts.append(f"a horizontal flip with probability {_number(c['augment.hflip'])}")
    if c["augment.rotate_degrees"] > 0:
        parts.append(f"a rotation uniform in +/-{_number(c['augment.rotate_degrees'])} degrees (nearest neighbour)")
    if c["augment.crop_padding"] > 0:
        parts.append(f"a random {c['data.image_size']}x{c['data.image_size']} crop of the frame zero-padded by "
                     f"{c['augment.crop_padding']} pixels")
    if not parts:
        return "no spatial augmentation"
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" and {parts[-1]}"
    return f"spatial augmentation, one draw per sample shared by its two frames: {listed}"


def _optimisation(c: dict, precision: str) -> str:
    lr, gamma, decay, epochs = c["train.lr"], c["train.lr_gamma"], c["train.lr_decay_epochs"], c["train.epochs"]
    steps = min(decay, epochs - 1)  # steps taken before the last epoch trains
    if gamma == 1 or steps == 0:
        schedule = f"a constant learning rate of {_number(lr)}"
    elif decay < epochs:
        schedule = (f"learning rate {_number(lr)}, multiplied by {_number(gamma)} after each of the first {decay} "
                    f"epochs ({SCHEDULER}), then held at {_number(lr * gamma ** decay)} for epochs "
                    f"{decay + 1}-{epochs}")
    else:
        schedule = (f"learning rate {_number(lr)}, multiplied by {_number(gamma)} after every epoch ({SCHEDULER}; "
                    f"{_number(lr * gamma ** steps)} in the last)")
    return (f"{OPTIMIZER}, weight decay {_number(c['train.weight_decay'])}, {schedule}; {epochs} epochs, no early "
            f"stopping; batches of {c['train.batch_size']} shuffled every epoch, {LAST_BATCH}; {LOSS}; {precision}")


def _on_cuda(env: dict, done: Sequence[dict]) -> bool:
    """Whether env.json's device or a fold's done.json's is a GPU (folds under Ray or SLURM: env.json's is the
    machine that started the run)."""
    return any(str(record.get("device") or "").startswith("cuda") for record in (env, *done))


def _used(c: dict, env: dict) -> str | None:
    return env.get("precision") or (c["train.precision"] if c["train.precision"] != "auto" else None)


def strict_fp32(config: dict, env: dict, done: Sequence[dict] = ()) -> str:
    """The clause of a float32 run on a GPU with ``train.tf32=false``, a difference from the authors; "" for any
    other run. report.md's Methods summary and the model card both say it."""
    c = _values(config)
    if _used(c, env) == "fp32" and c["train.tf32"] is False and _on_cuda(env, done):
        return (f"trained in float32 with TF32 off on the GPU ({STRICT_FP32}), unlike the authors, who ran PyTorch's "
                "defaults (TF32 in cuDNN's convolutions on NVIDIA Ampere and later GPUs)")
    return ""


def _precision(config: dict, c: dict, env: dict, done: Sequence[dict] = ()) -> str:
    used = _used(c, env)
    if used == "bf16":
        return "trained with bfloat16 autocast (the loss in float32)"
    if clause := strict_fp32(config, env, done):
        return clause
    if used == "fp32":
        return "trained in float32"
    return "trained in the precision train.precision=auto chose (not recorded)"


def _testing(c: dict) -> str:
    held = "held-out dataset" if c["data.protocol"] == "lodo" else "held-out subject"
    return (f"each fold's model is tested after every epoch on its {held}'s clips ({TESTING}); the headline scores "
            "the model after the last epoch")


def _randomness(c: dict) -> str:
    seeds = c["seeds"] if isinstance(c["seeds"], list) else [c["train.seed"]]
    return (f"run seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}; each (seed, fold) seeds torch "
            f"with {FOLD_SEED} (done.json's fold_seed), and its shuffling, jitter and augmentation generator with "
            "that number + 1")


def recipe(config: dict, env: dict | None, network: dict | None = None, done: Sequence[dict] = ()) -> dict:
    """report.json's ``recipe``: one clause per topic and ``summary``, the paragraph report.md shows; ``done``: the
    finished folds' done.json records (the devices and CUDA versions they trained with)."""
    c, env = _values(config), env or {}
    frames = ""
    if isinstance(env.get("part_frames"), dict) and len(env["part_frames"]) == 1:  # a composite's: the Protocol line
        part = next(iter(env["part_frames"].values()))
        frames = f" (from {part.get('folder')}{', UNCROPPED full frames' if part.get('uncropped') else ''})"
    out = {"network": _network(network, c), "input": _input(c), "preprocessing": _preprocessing(c, frames),
           "temporal_jitter": _jitter(c), "augmentation": _augmentation(c),
           "optimisation": _optimisation(c, _precision(config, c, env, done)),
           # the CUDA of the machines the folds trained on (Ray, SLURM: not the one that started the run)
           **({"gpu_software": f"on the GPU: {versions}"}
              if _on_cuda(env, done) and (versions := cuda_versions(env, done)) else {}),
           "testing": _testing(c), "randomness": _randomness(c)}
    if c["data.permute_labels"]:
        out["labels"] = "control run: the labels were shuffled across samples before training (expect chance)"
    out["summary"] = ". ".join(v[0].upper() + v[1:] for v in out.values()) + "."
    return out


def methods_lines(report: dict) -> list[str]:
    """report.md's Methods summary section ([] for a report.json written before it)."""
    summary = (report.get("recipe") or {}).get("summary")
    if not summary:
        return []
    return ["## Methods summary", "", "How this run trained and tested, from config.yaml, env.json and the choices "
            "mmnet's training makes (report.json's `recipe` holds each clause):", "", summary, ""]
