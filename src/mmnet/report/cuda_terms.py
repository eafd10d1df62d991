"""The CUDA software a run's folds trained with, for report.md's Reproduce line, Methods summary and Environment.

Each fold's done.json records the CUDA and cuDNN versions, cuDNN's autotuning and the NVIDIA driver of the machine
the fold trained on; env.json those of the machine that started the run, which under Ray or SLURM is another one,
maybe without a GPU. The report names the folds' (each distinct value where they differ) and says where env.json's
differ (of the versions both record) or are missing, and names env.json's of a version the folds did not record;
a run whose done.json record none (before mmnet 0.2.0) names env.json's.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["CUDA_VERSIONS", "FOLD_CUDA", "fold_cuda", "cuda_versions", "fold_cuda_line"]

#: the versions that decide how close a rerun on CUDA comes (named in the Reproduce line and the Methods summary)
CUDA_VERSIONS = ("cuda_version", "cudnn_version", "cuda_driver")
#: what each fold's done.json records of its machine's CUDA (mmnet.train.env_record.cuda_record)
FOLD_CUDA = (*CUDA_VERSIONS, "cudnn_benchmark")


def fold_cuda(done: Sequence[dict]) -> dict[str, list]:
    """Each of FOLD_CUDA's distinct values among the folds' done.json, in the order first met; {} where no fold
    recorded any (CPU folds, or folds of an mmnet before 0.2.0)."""
    seen: dict[str, list] = {}
    for record in done:
        for key in FOLD_CUDA:
            if record.get(key) is not None and record[key] not in seen.get(key, []):
                seen.setdefault(key, []).append(record[key])
    return {key: seen[key] for key in FOLD_CUDA if key in seen}


def _named(values: dict) -> str:
    return ", ".join(f"{key} {' or '.join(map(str, found))}" for key, found in values.items())


def cuda_versions(env: dict, done: Sequence[dict] = ()) -> str:
    """``cuda_version 12.4, cudnn_version 90100, cuda_driver 550.54.15, from the folds' done.json; env.json, of the
    machine that started the run, records none``: the folds' versions and where env.json's differ or are missing;
    env.json's alone where no fold recorded them; "" where neither did."""
    folds = {k: v for k, v in fold_cuda(done).items() if k in CUDA_VERSIONS}
    started = _named({key: [env[key]] for key in CUDA_VERSIONS if env.get(key) is not None})
    if not folds:
        elsewhere = isinstance(env.get("tf32"), dict) and "train_tf32" in env["tf32"]  # folds under Ray or SLURM
        return (f"{started}, env.json's: of the machine that started the run, not of those the folds trained on, "
                "which recorded none") if started and elsewhere else started
    text = f"{_named(folds)}, from the folds' done.json"
    if any(len(found) > 1 for found in folds.values()):
        text += " (the folds differ)"
    if not started:
        return text + "; env.json, of the machine that started the run, records none"
    recorded = [key for key in CUDA_VERSIONS if env.get(key) is not None]
    # a key the folds did not record (a driver they could not read) is no difference: compared where both record it
    if any(folds[key] != [env[key]] for key in recorded if key in folds):
        return text + f"; env.json's, of the machine that started the run, differ: {started}"
    if absent := {key: [env[key]] for key in recorded if key not in folds}:
        return text + (f"; the folds record no {' or '.join(absent)}; env.json's, of the machine that started the "
                       f"run: {_named(absent)}")
    return text


def fold_cuda_line(report: dict) -> list[str]:
    """report.md's Environment line of the folds' CUDA (report.json's ``fold_cuda``): env.json's lines above it
    are of the machine that started the run. [] where no fold recorded it."""
    found = report.get("fold_cuda") or {}
    if not found:
        return []
    return [f"- the folds' CUDA (their done.json): {_named(found)} (env.json's lines above are of the machine that "
            "started the run)"]
