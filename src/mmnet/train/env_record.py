"""What env.json records besides the versions and the compute plan: the labels and annotation files the run
trained on, synthetic data's settings, and the numerics facts that decide whether a rerun gives the same bits
(the CPU's native bf16, a cap on its instruction set; CUDA, cuDNN, TF32 and the driver on a GPU).

The frames digest (``data.cache.frames_digest``) covers the decoded pixels and the sample windows, not the
labels: the labels digest and the annotation files' sha256 say whether two runs were taught the same classes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
from dataclasses import asdict, replace
from pathlib import Path

from ..data.common import SYNTH_MARKER
from ..data.dataset_load import DatasetLoad
from ..run_folder import file_sha256
from ..runtime import cpu_flags
from ..tf32 import tf32_asked, tf32_record

__all__ = ["labels_digest", "annotation_digests", "synthetic_record", "numerics_record", "cuda_record",
           "library_record", "NATIVE_BF16_FLAGS", "TRAINING_LIBRARIES"]

#: CPU flags with which PyTorch computes bf16 natively (without them it emulates it, with other roundings)
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
#: environment variables that cap the instruction set PyTorch and oneDNN use, so the arithmetic
_ISA_CAPS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")
#: the libraries a run's numbers pass through beyond torch and numpy (their own versions): frames decoded and resized
#: (Pillow, OpenCV, PyAV), faces found (dlib), annotation workbooks read (pandas, openpyxl, xlrd), weights saved
TRAINING_LIBRARIES = {"pillow": "PIL", "opencv": "cv2", "av": "av", "dlib": "dlib", "pandas": "pandas",
                      "openpyxl": "openpyxl", "xlrd": "xlrd", "safetensors": "safetensors", "pyyaml": "yaml"}


def labels_digest(rows) -> str:
    """sha256 (20 hex digits) of every sample's id, label and class index (samples.csv's rows: sample_id, dataset,
    subject, clip, label, class_index), in sample-id order: the same for the same labelling of the same samples."""
    labelled = sorted([str(r[0]), str(r[4]), int(r[5])] for r in rows)
    return hashlib.sha256(json.dumps(labelled).encode()).hexdigest()[:20]


def annotation_digests(load: DatasetLoad) -> dict[str, str]:
    """File name -> sha256 of each annotation file the loader read ({} for SMIC, whose labels are folder names)."""
    out = {}
    for path in (load.annotation, *load.also_read):
        if path is not None:
            with contextlib.suppress(OSError):
                out[Path(path).name] = file_sha256(Path(path))  # in blocks: a workbook may be large
    return out


def synthetic_record(roots: list[Path]) -> dict:
    """``synthetic_data``: the settings of ``mmnet synth`` in a data root's synth.json, and ``synthetic_command``:
    the command that writes the same set again, where its options cover every setting; {} for real data.
    A set drawn by another generator version than this mmnet's gets ``synthetic_generator`` (which version drew
    it) instead of a command: this mmnet's ``mmnet synth`` would draw other frames. A set changed since synth wrote
    it (synth.json's ``written``: its annotation files' sha256, its frames' names and sizes) gets
    ``synthetic_modified`` (what differs) and no command, which would write the set as it was; one whose synth.json
    records nothing to compare with (an earlier mmnet's) gets ``synthetic_unchecked``."""
    from ..synth.face import older_generator
    from ..synth.written import WRITTEN, written_changes

    for root in roots:
        with contextlib.suppress(OSError, ValueError):
            meta = json.loads((Path(root) / SYNTH_MARKER).read_text(encoding="utf-8"))
            if isinstance(meta, dict):
                # long recordings' events: drawn from the seed; the written record: compared here, said below
                settings = {k: v for k, v in meta.items() if k not in ("events", WRITTEN)}
                changes = written_changes(Path(root), meta)
                checked = ({"synthetic_unchecked": f"its {SYNTH_MARKER}, written by mmnet "
                                                   f"{meta.get('mmnet_version') or 'of before 0.2.0'}, records no "
                                                   "digest of what synth wrote"} if changes is None else
                           {"synthetic_modified": "; ".join(changes)} if changes else {})
                if older := older_generator(settings):
                    # no command to check either way: only a change is worth saying
                    return {"synthetic_data": settings, "synthetic_generator": older,
                            **({"synthetic_modified": "; ".join(changes)} if changes else {})}
                command = "" if changes else _synth_command(settings)
                return {"synthetic_data": settings, **({"synthetic_command": command} if command else {}), **checked}
    return {}


def _synth_command(meta: dict) -> str:
    """``mmnet synth DATA --subjects ...`` for a clip set whose pixel settings are the defaults but for the
    amplitude (what the command's options set), or ``mmnet synth DATA --long ...`` for long recordings whose
    settings are those the options --fps and --size give; "" otherwise (settings set from Python)."""
    from ..synth.dataset import SynthConfig

    settings = meta.get("config")
    if meta.get("generator") == "mmnet synth --long" and isinstance(settings, dict):
        return _long_command(meta, settings)
    if meta.get("generator") != "mmnet synth" or not isinstance(settings, dict):
        return ""
    with contextlib.suppress(KeyError, TypeError, ValueError):
        low, high = settings["amplitude_px"]
        default = json.loads(json.dumps(asdict(replace(SynthConfig(), amplitude_px=(float(low), float(high))))))
        if settings == default:
            # a set written with --table is read as the table dataset: the command must write that layout again
            layout = " --table" if meta.get("layout") == "table" else ""
            return (f"mmnet synth DATA --subjects {int(meta['subjects'])} --clips-per-subject "
                    f"{int(meta['clips_per_subject'])} --seed {int(meta['seed'])} --amplitude {low:g} {high:g}"
                    f"{layout}")
    return ""


def _number(value: float) -> str:
    """``value`` as short as reads back the same (1 rather than 1.0; every digit where %g would round)."""
    return f"{value:g}" if float(f"{value:g}") == value else repr(value)


def _long_command(meta: dict, settings: dict) -> str:
    """``mmnet synth DATA --long ...`` where the settings are LongConfig's for the recorded rate and frame size
    (what --fps and --size set) and the frame count is the one --minutes gives; "" otherwise."""
    from ..synth.long import LongConfig, face_size_for

    with contextlib.suppress(KeyError, TypeError, ValueError):
        fps, (w, h) = float(settings["fps"]), (int(v) for v in settings["frame_size"])
        default = asdict(LongConfig(fps=fps, frame_size=(w, h), face_size=face_size_for((w, h))))
        frames, formats = int(meta["frames"]), [str(f) for f in meta["formats"]]
        minutes = _number(frames / (60 * fps))
        # write_long_dataset's count of frames for --minutes: the command must give the same
        if settings != json.loads(json.dumps(default)) or max(2, round(float(minutes) * 60 * fps)) != frames:
            return ""
        rate = f" --fps {_number(fps)}" if fps != 30 else ""
        return (f"mmnet synth DATA --long --subjects {int(meta['subjects'])} --videos "
                f"{int(meta['videos_per_subject'])} --minutes {minutes} --size {w} {h} --seed {int(meta['seed'])} "
                f"--format {' '.join(formats)}{rate}")
    return ""


def library_record() -> dict:
    """env.json's ``libraries``: each of TRAINING_LIBRARIES' versions (None: not installed, so not used)."""
    from ..version import library_versions

    return {"libraries": library_versions(TRAINING_LIBRARIES)}


def numerics_record(device_type: str, elsewhere=None) -> dict:
    """The facts beyond the torch version and thread count that decide a run's bits: the CPU's native bf16 flags
    and any instruction-set cap; on CUDA the CUDA and cuDNN versions, whether cuDNN autotunes, whether its fp32
    convolutions and matrix products may use TF32 (``train.tf32``), the driver. ``elsewhere``: the run's
    ``TrainConfig`` when its folds train on other machines (Ray, SLURM; not measured here): ``tf32`` is then what
    ``train.tf32`` asks (``tf32_asked``; the folds' done.json hold the flags in force), not this process's flags,
    which no fold trained with (only a run on the CPU leaves it out); the CUDA facts stay this machine's, and each
    fold's done.json records its own (``cuda_record``)."""
    record: dict = {"cpu_bf16_flags": sorted(set(NATIVE_BF16_FLAGS) & cpu_flags())}
    if caps := {name: os.environ[name] for name in _ISA_CAPS if os.environ.get(name)}:
        record["isa_caps"] = caps
    if elsewhere is not None and elsewhere.device != "cpu":  # auto may find GPUs where the folds run
        record.update(tf32_asked(elsewhere.tf32))
    if device_type != "cuda":
        return record
    record.update(cuda_record(device_type))
    if elsewhere is None:
        record.update(tf32_record(device_type))  # set by plan_training in this process, which trains the folds
    return record


def cuda_record(device_type: str) -> dict:
    """The CUDA and cuDNN versions, whether cuDNN autotunes and the NVIDIA driver of this process's machine; {} off
    CUDA. env.json's are of the machine that started the run; each fold's done.json has those of the machine the
    fold trained on (under Ray or SLURM another one, and the one whose versions the report names)."""
    import torch

    if device_type != "cuda":
        return {}
    record = {"cuda_version": torch.version.cuda, "cudnn_version": torch.backends.cudnn.version(),
              "cudnn_benchmark": bool(torch.backends.cudnn.benchmark)}
    if driver := _nvidia_driver():
        record["cuda_driver"] = driver
    return record


def _nvidia_driver() -> str:
    """The NVIDIA driver's version from nvidia-smi; "" where it is not installed or does not answer."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=10, check=True)
        return done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    return ""
