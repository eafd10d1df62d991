"""Show what an mmnet checkpoint holds: model settings, classes, how its training clips were aligned (and so how new
footage is), preprocessing, parameters.

With --cache: where mmnet's cache of derived data is and how large it is (see `mmnet cache prune`).
Without a checkpoint: this machine and its cached calibration (the measured choice of precision and
memory format for training on CPU, mmnet.train.calibrate); --calibrate measures it (again).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, nargs="?", help="mmnet checkpoint folder or its model.safetensors")
    p.add_argument("--cache", action="store_true", help="show the cache folder and its size instead")
    p.add_argument("--calibrate", action="store_true",
                   help="measure fp32/bf16 and NCHW/channels_last training steps on this CPU now (again) "
                        "and cache the choice that train.precision/memory_format=auto use")
    p.add_argument("--image-size", type=int, nargs="+", default=None, metavar="PX",
                   help="image sizes to calibrate with --calibrate (default: 224)")
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")


def _calibration_lines(cal, current: dict) -> list[str]:
    from ..train.calibrate import INFERENCE_ROUTES, OPTIONS, choose

    choice = choose(cal)
    same = cal.key == {**current, "size_bucket": cal.key.get("size_bucket"), "version": cal.key.get("version")}
    head = (f"  {cal.image_size} px (bucket {cal.key.get('size_bucket')}, batch {cal.batch}), measured "
            f"{cal.measured_at} in {cal.seconds:.1f} s: "
            + ("/".join(choice) if choice else "no usable option (the CPU-flag rule decides)"))
    if not same:
        head += (f"  [other machine or setup: {cal.key.get('cpu_model')}, torch {cal.key.get('torch_version')}, "
                 f"{cal.key.get('torch_threads')} threads"
                 + _onednn_cap(cal.key) + "]")
    lines = [head]
    if cal.metric == "cpu":
        lines.append(f"    the host was busy while measuring (this process had {cal.cpu_share:.0%} of its threads' "
                     "CPU time): ms/step is CPU time / threads, not wall time; `mmnet info --calibrate` measures again")
    if cal.under_load:
        from ..train.calibrate_choice import MAX_BUSY_STREAK

        then = ("a run on a quiet host measures it again" if cal.busy_streak < MAX_BUSY_STREAK else
                f"kept after {cal.busy_streak} busy measurements in a row; `mmnet info --calibrate` measures again")
        lines.append(f"    measured on a busy host ({'; '.join(cal.under_load)}): {then}")
    for option in OPTIONS:
        entry = cal.options.get(option, {})
        if entry.get("status") == "ok":
            lines.append(f"    {option:20} {entry['ms_per_step']:9.1f} ms/step {entry['img_per_s']:8.2f} img/s "
                         f"(best of {entry['steps']}, rounds {entry.get('spread', 0):.0%} apart; "
                         f"wall {entry.get('wall_ms', 0):.0f} ms, "
                         f"CPU {entry.get('cpu_ms', 0):.0f} ms)")
        else:
            lines.append(f"    {option:20} {entry.get('status', 'not measured')}")
    for name, entry in cal.routes.items():
        if "plain_ms" in entry:
            lines.append(f"    fp32 route {name:16} {entry['route_ms']:7.1f} ms against {entry['plain_ms']:.1f} ms "
                         f"plain ({entry.get('layout')}) -> "
                         + (f"used in fp32 training ({entry.get('layout')})" if entry.get("use") else "not used")
                         + (" and inference" if entry.get("use") and name in INFERENCE_ROUTES else ""))
        else:
            lines.append(f"    fp32 route {name:16} {entry.get('status', 'not measured')}")
    chk = cal.bf16_check
    if "max_logit_diff" in chk:
        allowed = f"{chk['tolerance']} x max(1, {chk['logit_scale']:.3g})"
        lines.append(f"    bf16 check: conv {chk.get('screen_ratio')}x fp32's time; logits within "
                     f"{chk['max_logit_diff']:.3g} of fp32 (allowed {allowed}); "
                     f"losses {'finite' if chk.get('finite') else 'NOT finite'}")
    return lines


def _onednn_cap(key: dict) -> str:
    """', oneDNN capped at ISA' for a machine key with ONEDNN_MAX_CPU_ISA set, else ''."""
    return f", oneDNN capped at {key['onednn_max_cpu_isa']}" if key.get("onednn_max_cpu_isa") else ""


def _machine_info(args: argparse.Namespace) -> int:

    import torch

    from ..calibration_cache import ENV_SWITCH, cached_calibrations, calibration_enabled, calibration_folder
    from ..errors import ConfigError
    from ..runtime import configure_cpu_numerics, machine_fingerprint
    from ..train.calibrate import calibrate, choose

    if args.calibrate:
        sizes = args.image_size or [224]
        if any(s < 16 or s % 16 for s in sizes):
            raise ConfigError(f"--image-size takes multiples of 16 (as data.image_size), got {sizes}")
        configure_cpu_numerics()  # as training does
        for size in sizes:
            calibrate(size, force=True)
    current = machine_fingerprint()
    cached = cached_calibrations()
    if args.json:
        print(json.dumps({"machine": current, "calibration_dir": str(calibration_folder(None)),
                          "calibrations": [{"file": str(path), **({"error": cal} if isinstance(cal, str) else {
                              **cal.summary(), "choice": choose(cal)})} for path, cal in cached]}, indent=2))
        return 0
    print(f"machine:     {current['cpu_model'] or '(unknown CPU)'} ({current['cpu_capability']}), "
          f"torch {current['torch_version']}, {current['torch_threads']} threads"
          + _onednn_cap(current)
          + (f", CUDA: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))
    off = not calibration_enabled()
    print(f"calibration: {calibration_folder(None)}" + (f" (off: {ENV_SWITCH}=0)" if off else ""))
    if not cached:
        from ..train.calibrate import not_keepable

        unkept = None if off else not_keepable(calibration_folder(None) / "probe.json")
        print(f"  none yet: {unkept}, so trainings choose from the CPU flags without measuring; set "
              "MMNET_CACHE_DIR to a writable folder of your own to have it measured once" if unkept else
              "  none yet: the first CPU training with train.precision/memory_format=auto measures it "
              "(or: mmnet info --calibrate --image-size PX)")
    for path, cal in cached:
        if isinstance(cal, str):
            print(f"  {path.name}: {cal}")
        else:
            print("\n".join(_calibration_lines(cal, current)))
    return 0


def _cache_info(as_json: bool) -> int:
    from ..data.cache_folder import build_temporaries, cache_entries, default_cache_dir, default_cache_dir_source
    from ..data.cache_names import unsearched_folders, unsearched_line
    from ..data.cache_stale import stale_reason
    from ..data.cache_subjects import describe_samples, entry_samples
    from .cache import human_size

    folder = default_cache_dir()
    entries = cache_entries(folder)
    size = sum(e.size for e in entries)
    source = default_cache_dir_source()
    temporaries = build_temporaries(folder)
    temporary_bytes = sum(p.stat().st_size for p in temporaries)
    stale = [e for e in entries if stale_reason(folder, e)]  # an earlier format's: never read again
    stale_bytes = sum(e.size for e in stale)
    samples = sorted({s for e in entries for s in entry_samples(folder, e) or []})  # whose faces the frames are
    unsearched = unsearched_folders(folder)  # another user's private folder: its entries are not counted
    other = _default_folder_with_frames(folder, source)  # faces an earlier mmnet cached where this one looks not
    if as_json:
        print(json.dumps({"cache_dir": str(folder), "bytes": size, "entries": len(entries),
                          **({"other_cache_dir_with_frames": str(other)} if other else {}),
                          "stale_entries": len(stale), "stale_bytes": stale_bytes,
                          "temporary_files": len(temporaries), "temporary_bytes": temporary_bytes,
                          "samples": samples, "not_searched": [str(p) for p, _ in unsearched]}, indent=2))
        return 0
    print(f"cache:   {folder} ({source}; data.cache_dir overrides it per run)")
    print(f"size:    {human_size(size)} in {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
          + ("" if folder.is_dir() else " (the folder does not exist yet)"))
    if samples:
        print(f"faces:   {describe_samples(samples)} (mmnet cache prune --all --dry-run: per entry; --subject ID: "
              "one subject's)")
    if stale:
        print(f"stale:   {human_size(stale_bytes)} in {len(stale)} entr{'y' if len(stale) == 1 else 'ies'} of an "
              "earlier cache format, which this mmnet never reads (mmnet cache prune --stale removes them)")
    if temporaries:  # builds in progress, or killed ones: the entry's next build (or a prune a day on) removes them
        print(f"partial: {human_size(temporary_bytes)} in {len(temporaries)} temporary file(s) of builds in progress "
              "or killed (removed by the next build of their entry, by prune --all, --stale or --subject once their "
              "build ended, or by any prune once a day old)")
    for path, exc in unsearched:
        print(f"{unsearched_line(path, exc)} (the size above leaves them out)")
    print("prune:   mmnet cache prune --older-than DAYS | --max-size GB | --stale | --subject ID | --all [--dry-run]")
    if other:
        print(f"also:    {other} holds mmnet frame-cache entries too (of an mmnet before 0.2.0, which did not read "
              f"$MMNET_CACHE_DIR, or of a run without it): `mmnet cache prune --all --dry-run --dir {other}` lists "
              f"them, `mmnet cache prune --stale --dir {other}` removes the earlier format's (--all: all), and "
              f"`chmod -R go= {other}` makes them private")
    return 0


def _default_folder_with_frames(folder: Path, source: str) -> Path | None:
    """With $MMNET_CACHE_DIR set: the folder mmnet would use without it ($XDG_CACHE_HOME/mmnet or ~/.cache/mmnet)
    where it holds frame-cache entries (faces) that the cache commands, run without --dir, never see; else None."""
    import os

    from ..data.cache_folder import cache_entries
    from ..user_folders import cache_dir_and_source

    if source != "$MMNET_CACHE_DIR":
        return None
    default = cache_dir_and_source({k: v for k, v in os.environ.items() if k != "MMNET_CACHE_DIR"})[0]
    if default.resolve() == folder.resolve():
        return None
    return default if any(e.name.startswith("frames-") for e in cache_entries(default)) else None


# cli.py's "interrupted: ..." line (the default says finished work is kept for a rerun to continue)
INTERRUPTED = "nothing was written"


def _refuse_ignored_options(args: argparse.Namespace) -> None:
    """ConfigError for options the chosen view would ignore: info shows a checkpoint, the cache or this machine."""
    from ..errors import ConfigError

    view = "--cache" if args.cache else "a checkpoint" if args.checkpoint is not None else None
    ignored = [name for name, given in (("a checkpoint", args.checkpoint is not None and args.cache),
                                        ("--calibrate", args.calibrate), ("--image-size", args.image_size))
               if given and view is not None]
    if ignored:
        raise ConfigError(f"mmnet info with {view} does not use {' or '.join(ignored)}: run "
                          "`mmnet info CHECKPOINT`, `mmnet info --cache` or `mmnet info [--calibrate --image-size PX]` "
                          "separately.")
    if args.image_size and not args.calibrate:
        raise ConfigError("--image-size chooses the sizes that --calibrate measures; add --calibrate "
                          f"(`mmnet info --calibrate --image-size {' '.join(map(str, args.image_size))}`).")


def run(args: argparse.Namespace) -> int:
    from ..model import read_checkpoint

    _refuse_ignored_options(args)
    if args.cache:
        return _cache_info(args.json)
    if args.checkpoint is None or args.calibrate:
        return _machine_info(args)
    from ..model.mmnet import model_from_weights

    weights, meta = read_checkpoint(args.checkpoint)
    model = model_from_weights(weights, meta, source=str(args.checkpoint))  # the MMNet layout, as predict checks it
    n_params = sum(v.numel() for k, v in weights.items()
                   if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    from ..infer.alignment import alignment_summary
    from ..model import CheckpointInfo

    # how new footage is aligned for this model (predict --align, spot --checkpoint): the checkpoint's own record
    alignment = alignment_summary(CheckpointInfo.from_metadata(meta).training)
    from ..model.config import variant_name

    # the network by name: an ablation (no PC, no CA, apex input) said first, not only in model.* below
    network = variant_name(meta["model"]) if not meta["model"].get("factory") else meta.get("network") or "not MMNet"
    if args.json:
        print(json.dumps({**meta, "variant": network, "parameters": n_params, "alignment": alignment}, indent=2))
        return 0
    print(f"checkpoint:    {args.checkpoint}")
    print(f"mmnet version: {meta.get('mmnet_version')}")
    print(f"network:       {network}")
    print(f"parameters:    {n_params:,}")
    print(f"classes:       {meta.get('class_names') or '(unnamed)'}")
    from ..infer.provenance import card_problem, licence_note, record_caption, training_record

    record = training_record(args.checkpoint)
    if problem := card_problem(args.checkpoint):
        print(f"note:          {problem}")
    print(f"training:      {record_caption(record)}")
    for conflict in record.get("conflicts") or []:  # records that disagree: said, not settled silently
        print(f"note:          {conflict}")
    if source := record.get("source"):  # weights converted by `mmnet convert`: the file they came from
        print(f"source:        {source.get('file')} (SHA-256 {source.get('sha256')}), {source.get('origin')}")
    print(f"licence:       {licence_note(record)}")
    print(f"alignment:     {alignment['caption']}")
    for key, value in meta["model"].items():
        print(f"  model.{key} = {value}")
    from ..infer.predictor import Preprocessing

    # what predict applies: a plain save_pretrained stores no preprocessing, and the defaults then hold
    stored = meta.get("preprocessing") or {}
    applied = Preprocessing.from_checkpoint(model, CheckpointInfo.from_metadata(meta)).to_dict()
    for key, value in applied.items():
        print(f"  preprocessing.{key} = {stored[key]}" if key in stored else
              f"  preprocessing.{key} = {value} (default: not stored in the checkpoint)")
    for key in sorted(set(stored) - set(applied)):  # recorded, not applied by predict: a flow model's flow_method
        print(f"  preprocessing.{key} = {stored[key]}")
    return 0
