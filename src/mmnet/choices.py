"""The allowed values of mmnet's choice settings, one tuple per choice, for the config checks and the
command-line options alike. Imports nothing, so the commands can use it without slowing ``--help``."""

from __future__ import annotations

__all__ = ["EXECUTORS", "TRANSPORTS", "SELECTIONS", "PROTOCOLS", "PRECISIONS", "AUTHORS_PRECISION",
           "AUTHORS_FP32", "BAD_SAMPLE_POLICIES",
           "PREPARE_LAYOUTS", "CASME2_LAYOUTS", "DATASETS", "LONG_VIDEO_DATASETS", "SPOT_SCORE_MODES", "TIER_IGNORE"]

EXECUTORS = ("local", "ray", "slurm")  # ExecutorConfig.executor, --executor
TRANSPORTS = ("object-store", "shared-fs")  # ExecutorConfig.transport, --transport
SELECTIONS = ("last", "paper")  # eval.selection, --selection
PROTOCOLS = ("loso", "lodo")  # data.protocol, --protocol
PRECISIONS = ("auto", "fp32", "bf16")  # train.precision, --precision
# the authors' code trains in plain fp32: a run in another precision (auto's bf16) differs from their recipe
AUTHORS_PRECISION = "fp32"
#: how a run matches it (report.md, the model card): their code sets no TF32 flag, so it kept PyTorch's defaults
#: (today's: TF32 in cuDNN's convolutions on NVIDIA Ampere and later GPUs; before PyTorch 1.12 in matrix products too)
AUTHORS_FP32 = ("the authors trained in fp32 with PyTorch's TF32 defaults (today's let cuDNN's convolutions use TF32 "
                "on NVIDIA Ampere and later GPUs; before PyTorch 1.12 matrix products did too): `--set "
                "train.precision=fp32` matches them (with `--set train.tf32=false`: strict fp32)")
BAD_SAMPLE_POLICIES = ("error", "skip", "nearest")  # data.on_bad_sample, check-data --on-bad-sample
PREPARE_LAYOUTS = ("auto", "casme2", "samm", "frames", "video")  # mmnet prepare --layout
# CASME II's frames folders (mmnet.data.casme2.LAYOUTS, a test keeps them equal): data.layout, check-data --layout
CASME2_LAYOUTS = ("cropped", "cropped-updated", "raw-selected", "raw")
# mmnet.data's loader registries by name (a test keeps them equal): data.dataset, check-data's DATASET
DATASETS = ("casme2", "casme3", "composite", "mmew", "samm", "smic", "smic-hs", "smic-nir", "smic-vis", "table")
# spotting's long recordings (table-long: a lab's own)
LONG_VIDEO_DATASETS = ("casme-sq", "casme2-long", "casme3-long", "samm-long", "table-long")
SPOT_SCORE_MODES = ("megc", "softnet", "megc2020", "strs")  # the spotting evaluators, score-spots --mode
TIER_IGNORE = "ignore"  # --tier-type NAME=ignore: a coder's tier left out (score-spots, agree)
