"""Manage mmnet's cache of derived data (decoded frames, optical flow, apex estimates, CPU calibrations).

The cache lives in one folder: $MMNET_CACHE_DIR, else $XDG_CACHE_HOME/mmnet, else ~/.cache/mmnet
(data.cache_dir in a config overrides it for a run). Everything in it is rebuilt when needed, so
pruning never loses results, and an entry that a run uses (a training or its workers, until they end) is
kept: prune says "in use, kept" (this relies on file locks, which hold across machines only where the
shared file system shares them; a worker whose entry was pruned stops, and rerunning the command builds
it again). Only files named as mmnet names its entries are counted and removed: anything else in the
folder (one set by mistake to your home or a dataset) is listed as "not mmnet's, kept". An entry prune may
not delete (another user's, in a shared folder) is listed as "not removed (permission denied)", and the
exit code is 1. `mmnet info --cache` shows its size, and how much of it is stale: entries of an earlier cache
format (a frame cache of version 1, an earlier optical flow or CPU calibration), which no run of this mmnet reads.

Examples:
  mmnet cache prune --older-than 30            (entries not used for 30 days)
  mmnet cache prune --max-size 20 --dry-run    (least recently used first, down to 20 GB; only list)
  mmnet cache prune --stale                    (entries of an earlier format, never read again)
  mmnet cache prune --all                      (everything, e.g. to erase what was derived from faces)
  mmnet cache prune --subject 07 --dry-run     (the entries holding subject 07's faces; only list)
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    prune = sub.add_parser("prune", help="remove old or least recently used cache entries")
    prune.add_argument("--older-than", type=float, default=None, metavar="DAYS",
                       help="remove entries last used more than DAYS days ago")
    prune.add_argument("--max-size", type=float, default=None, metavar="GB",
                       help="then remove the least recently used entries until the cache holds at most GB gigabytes")
    prune.add_argument("--stale", action="store_true",
                       help="remove the entries of an earlier cache format, which this mmnet never reads, and the "
                            "partial files of killed builds (with --older-than/--max-size: those too)")
    prune.add_argument("--all", action="store_true",
                       help="remove every entry, and the partial files of killed builds (those another process "
                            "uses or builds now are kept, and listed)")
    prune.add_argument("--subject", default=None, metavar="ID",
                       help="remove the entries holding a sample of this subject (as train --folds reads one: '07' or "
                            "'sub07' of CASME II, '6' or '006' of SAMM, or 'DATASET/ID'; mmnet info --cache lists "
                            "them): the frame caches that include it, with their optical flow, and its per-clip "
                            "optical-flow files")
    prune.add_argument("--dry-run", action="store_true", help="only list what would be removed, with whose faces")
    prune.add_argument("--dir", type=Path, default=None,
                       help="cache folder (default: $MMNET_CACHE_DIR, else $XDG_CACHE_HOME/mmnet, else ~/.cache/mmnet)")


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def run(args: argparse.Namespace) -> int:
    import math
    import sys
    import time

    from ..data.cache import cache_entries, default_cache_dir, prune_cache
    from ..data.cache_names import unsearched_line
    from ..data.cache_stale import stale_reason
    from ..data.cache_subjects import describe_samples, entries_of_subject, entry_samples, held_subjects, subjects_named
    from ..errors import ConfigError, UsageError
    from ..unicode_names import nfc

    if args.all and (args.older_than is not None or args.max_size is not None or args.stale or args.subject):
        raise ConfigError("mmnet cache prune --all removes every entry: give it without --older-than, --max-size, "
                          "--stale and --subject.")
    if args.all:
        args.older_than = 0.0  # every entry was last used before now
    if args.older_than is None and args.max_size is None and not args.stale and args.subject is None:
        raise UsageError("mmnet cache prune needs --older-than DAYS and/or --max-size GB, --stale, --subject ID, or "
                         "--all.")
    if args.subject is not None and not args.subject.strip("/ "):
        raise ConfigError("--subject needs a subject id, e.g. --subject 01 or --subject casme2/01.")
    if args.subject is not None:
        args.subject = nfc(args.subject)  # typed decomposed (a Mac's shell completion): ids are written composed
    for name, value in (("--older-than", args.older_than), ("--max-size", args.max_size)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"{name} must be a number >= 0, got {value}")
    folder = args.dir or default_cache_dir()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"cache folder '{folder}' is a file, not a folder.")
    entries = cache_entries(folder)
    before = sum(e.size for e in entries)
    stale = {e.name: why for e in entries if (why := stale_reason(folder, e))} if args.stale else {}
    whose = {e.name: describe_samples(samples) for e in entries if (samples := entry_samples(folder, e)) is not None}
    of_subject, unknown = entries_of_subject(folder, entries, args.subject) if args.subject else (set(), [])
    pruned = prune_cache(folder, older_than_days=args.older_than,
                         max_bytes=None if args.max_size is None else int(args.max_size * 1e9), dry_run=args.dry_run,
                         chosen=(lambda e: e.name in stale or e.name in of_subject) if stale or of_subject else None,
                         temporaries=args.all or args.stale or args.subject is not None)
    removed = pruned.removed
    listed = {p for e in entries for p in e.paths}  # a temporary a day old is also an entry: counted once
    before += sum(t.size for t in pruned.temporaries if t.path not in listed)
    verb = "would remove" if args.dry_run else "removed"
    for e in removed:
        age = (time.time() - e.last_used) / 86400
        why = f"  stale: {stale[e.name]}" if e.name in stale else f"  ({e.note})" if e.note else ""
        held = f"  holds {whose[e.name]}" if e.name in whose else ""
        print(f"{verb}  {e.name}  {human_size(e.size)}  last used {age:.1f} days ago{why}{held}")
    for e in pruned.in_use:  # another mmnet process uses, builds or checks it now
        print(f"in use, kept  {e.name}  {human_size(e.size)}")
    for e in pruned.refused:
        print(f"not removed (permission denied)  {e.name}  {human_size(e.size)}")
    if pruned.foreign:  # a cache folder set by mistake ($HOME, a dataset) loses nothing but mmnet's entries
        n, shown = len(pruned.foreign), ", ".join(p.relative_to(folder).as_posix() for p in pruned.foreign[:5])
        print(f"not mmnet's, kept  {n} file{'s' if n > 1 else ''} or folder{'s' if n > 1 else ''} in {folder}: {shown}"
              + (f" and {n - 5} more" if n > 5 else "") + " (is this the cache folder you meant?)")
    for path, exc in pruned.unsearched:  # another user's private folder: what it holds, prune cannot know
        print(unsearched_line(path, exc))
    if args.subject is not None:
        partial = any(t.dead for t in pruned.temporaries)
        _subject_lines(args.subject, of_subject, unknown, held_subjects(folder, entries),
                       subjects_named(folder, entries, args.subject), partial, bool(pruned.unsearched))
    freed = sum(e.size for e in removed) + _temporary_lines(pruned.temporaries, folder, verb, args.subject is not None)
    n = len(pruned.unsearched)
    print(f"cache {folder}: {human_size(before)}; {verb} {len(removed)} entr{'y' if len(removed) == 1 else 'ies'}, "
          f"{human_size(freed)}; {human_size(before - freed)} left"
          + (f", not counting what the {n} folder{'s' if n > 1 else ''} not searched hold{'' if n > 1 else 's'}"
             if n else ""))
    if pruned.refused:
        print(f"{len(pruned.refused)} entr{'y' if len(pruned.refused) == 1 else 'ies'} could not be removed "
              "(permission denied): most likely another user's, in a folder with the sticky bit or one you may not "
              "write (their owner can prune them), or on a read-only file system", file=sys.stderr)
    if n:
        print(f"{n} folder{'s' if n > 1 else ''} of the cache could not be searched (listed above): the prune is "
              "incomplete; their owner or an admin can prune or open them", file=sys.stderr)
    return 1 if pruned.refused or n else 0


def _temporary_lines(temporaries, folder: Path, verb: str, subject: bool) -> int:
    """Print the temporary files (partial frame caches of faces) prune removed, as their builds were killed, and
    those kept for a build in progress; returns the bytes removed."""
    # no index says whose faces a killed build's file holds: --subject removes it whoever it holds
    whose = "; whose faces it holds is not recorded" if subject else ""
    for t in temporaries:
        if t.dead:
            print(f"{verb}  {t.path.relative_to(folder).as_posix()}  {human_size(t.size)}  (partial file of a killed "
                  f"build{whose})")
    kept = [t for t in temporaries if not t.dead]
    if kept:
        n = len(kept)
        print(f"kept: {n} temporary file{'s' if n > 1 else ''} of a build in progress, "
              f"{human_size(sum(t.size for t in kept))} (prune again once it ended)")
    return sum(t.size for t in temporaries if t.dead)


def _subject_lines(subject: str, chosen: set[str], unknown, held: str, named: list[str], partial: bool,
                   unsearched: bool = False) -> None:
    """What --subject found: nothing (said, so that an erasure is known to be complete), and the frame caches whose
    index cannot be read, so that nobody can tell whom they hold. ``partial``: killed builds' files go too.
    ``unsearched``: folders could not be searched, so nothing found is not known to be nothing there."""
    if not chosen:
        # a killed build's partial file records nobody: it may hold the subject, and is removed below
        said = "no complete cache entry holds" if partial else "no cache entry holds"
        said = f"{said.replace('entry', 'entry in the folders searched', 1)}" if unsearched else said
        print(f"{said} subject {subject!r}; the subjects the cache holds: {held}"
              + ("; the partial files below may" if partial else ""))
    elif len(named) > 1:  # erasing more is safe (the cache is rebuilt), but the user should know whom it meant
        print(f"subject {subject!r} names {len(named)} subjects here: {', '.join(named)} (give DATASET/ID for one)")
    for e in unknown:
        print(f"kept, cannot tell whose faces it holds (its index cannot be read: a build in progress or a damaged "
              f"entry)  {e.name}  {human_size(e.size)}; mmnet cache prune --all removes it")
