"""The conditions the Reproduce line of a report names, read from the run's env.json and config.yaml: where the
data and the frame cache lie on another machine, which digests must match, what decides whether the numbers are
bit-identical (torch, threads, instruction set; never on CUDA, where the folds' CUDA versions come closest), and how
to write synthetic data again.

Runs of older mmnet versions lack some of env.json's fields: their conditions are named without the values.
"""

from __future__ import annotations

from collections.abc import Sequence

from .cuda_terms import cuda_versions
from .run_reader import config_value

__all__ = ["data_terms", "bits_terms", "synthetic_terms"]


def data_terms(config: dict, env: dict | None = None) -> str:
    """Where the data and the frame cache lie elsewhere, and the digests that say the new run read the same (for a
    run of an earlier mmnet that recorded none: its samples.csv, the one record of its labels there)."""
    cache_dir = config_value(config, "data.cache_dir")
    cache = (f" and --set data.cache_dir=PATH (this run's frame cache, {cache_dir}, is a folder of this machine),"
             if cache_dir else "")
    env = env or {}
    digests = [name for key, name in (("frames_digest", "frames digest"), ("labels_digest", "labels digest"))
               if env.get(key)]
    check = (f"check that the new run's {' and '.join(digests)} {'are' if len(digests) > 1 else 'is'} this one's "
             "(the same frames and sample windows, and the same labels)" if len(digests) == 2 else
             f"check that the new run's {digests[0]} is this one's, and compare the two runs' samples.csv (this "
             "run recorded no labels digest)" if digests else
             "compare the two runs' samples.csv (this run, of an earlier mmnet, recorded no frames or labels digest)")
    return f"Run it from the folder above this run's; where the data lie elsewhere, add --set data.root=PATH{cache} " \
           f"and {check}."


def bits_terms(env: dict, devices: set, threads: int | None, done: Sequence[dict] = ()) -> str:
    """What bit-identical numbers need: on CPU the torch version, the thread count and the instruction set; on
    CUDA they are not to be expected (cuDNN times its algorithms in each run and may pick others): the CUDA versions
    that come closest are the finished folds' (``done``: their done.json), not the machine's that started the run."""
    on_cuda = any(str(d).startswith("cuda") for d in devices | {env.get("device", "")})
    where = (f" ({threads} here: OMP_NUM_THREADS={threads} for a local run, --cpus-per-fold {threads} under "
             "Ray or SLURM)" if threads else "")
    text = (f"{_mmnet_code(env)} On CPU, bit-identical numbers also need the same torch version, thread "
            f"count{where} and instruction set{_instruction_set(env)}.")
    if on_cuda:
        versions = cuda_versions(env, done)
        text += (" On CUDA the numbers are not expected to be bit-identical: cuDNN's autotuning times its "
                 "convolution algorithms in each run and may pick others; the same GPU, "
                 f"CUDA and cuDNN ({versions or 'not recorded'}) give the closest.")
    return text


def _mmnet_code(env: dict) -> str:
    """That bit-identical numbers need the same mmnet code: its version and code digest as `mmnet --version` names
    them (the digest's first 12 hex digits), where env.json records them."""
    said = [f"mmnet {env['mmnet_version']}"] if env.get("mmnet_version") else []
    if env.get("code_digest"):
        said.append(f"code {str(env['code_digest'])[:19]}")
    where = f" ({', '.join(said)} here, as `mmnet --version` names it)" if said else ""
    return f"Bit-identical numbers need the same mmnet code{where} and data."


def _instruction_set(env: dict) -> str:
    """`` (AVX512, with native bf16: avx512_bf16, here)``: what env.json recorded of the CPU's arithmetic."""
    parts = [env["cpu_capability"]] if env.get("cpu_capability") else []
    flags = env.get("cpu_bf16_flags")
    if flags is not None:  # a list, maybe empty; older runs lack it
        parts.append(f"with native bf16: {', '.join(flags)}" if flags else "without native bf16")
    if caps := env.get("isa_caps"):
        parts.append("capped by " + ", ".join(f"{k}={v}" for k, v in sorted(caps.items())))
    return f" ({', '.join(parts)} here)" if parts else ""


def synthetic_terms(env: dict) -> str:
    """How to write the synthetic data a run trained on again; "" for real data (or a run that did not record).
    A set changed after synth wrote it gets no command (``synthetic_modified``): the command writes it as it was."""
    if "synthetic_data" not in env:
        return ""
    command = env.get("synthetic_command")
    if env.get("synthetic_data_inferred"):  # an earlier mmnet's env.json: the data root's synth.json tells
        drawn = f", {env['synthetic_generator']}" if env.get("synthetic_generator") else ""
        return (f" The data are mmnet's synthetic set{drawn}; {env['synthetic_data_inferred']}, which holds the "
                "settings that wrote it.")
    if modified := env.get("synthetic_modified"):
        return (f" The data are mmnet's synthetic set, modified after `mmnet synth` wrote it ({modified}): no "
                "command writes it again, and env.json's synthetic_data holds the settings of the set as synth "
                "wrote it, not as this run read it.")
    unchecked = (f" (whether the data were changed since could not be checked: {env['synthetic_unchecked']})"
                 if env.get("synthetic_unchecked") else "")
    if older := env.get("synthetic_generator"):
        return (f" The data are mmnet's synthetic set, {older}: this mmnet's `mmnet synth` would draw other frames; "
                f"env.json's synthetic_data holds the settings of synth.json that wrote it{unchecked}.")
    if command:
        return (f" The data are mmnet's synthetic set: `{command}` writes it again (then --set data.root=DATA); "
                f"env.json's synthetic_data holds synth.json's settings{unchecked}.")
    return (" The data are mmnet's synthetic set: env.json's synthetic_data holds the settings of synth.json that "
            f"wrote it (`mmnet synth --help`){unchecked}.")
