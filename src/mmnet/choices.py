"""The allowed values of mmnet's choice settings, one tuple per choice, for the config checks and the
command-line options alike. Imports nothing, so the commands can use it without slowing ``--help``."""

from __future__ import annotations

__all__ = ["EXECUTORS", "TRANSPORTS", "SELECTIONS", "PROTOCOLS", "PRECISIONS", "BAD_SAMPLE_POLICIES",
           "PREPARE_LAYOUTS"]

EXECUTORS = ("local", "ray", "slurm")  # ExecutorConfig.executor, --executor
TRANSPORTS = ("object-store", "shared-fs")  # ExecutorConfig.transport, --transport
SELECTIONS = ("last", "paper")  # eval.selection, --selection
PROTOCOLS = ("loso", "lodo")  # data.protocol, --protocol
PRECISIONS = ("auto", "fp32", "bf16")  # train.precision, --precision
BAD_SAMPLE_POLICIES = ("error", "skip", "nearest")  # data.on_bad_sample, check-data --on-bad-sample
PREPARE_LAYOUTS = ("auto", "casme2", "samm", "frames", "video")  # mmnet prepare --layout
