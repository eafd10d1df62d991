"""Whose results an `mmnet spot --out` folder holds: another recording's are not replaced without --overwrite."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def earlier_spot(path: Path) -> dict | None:
    """The spot.json an earlier run wrote in the --out folder, or None (none, or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("source"), str) else None


def _same_recording(earlier: dict, source: Path) -> bool:
    """The earlier results are of ``source``: the path as given, the same file or folder reached by another path,
    or (moved, copied, or run from another directory) a file whose bytes the earlier provenance records."""
    then = earlier["source"]
    if then == str(source) or os.path.realpath(then) == os.path.realpath(source):
        return True
    recorded = (earlier.get("provenance") or {}).get("recording") or {}
    if not source.is_file() or not isinstance(recorded, dict):
        return False
    if recorded.get("bytes") != source.stat().st_size or not recorded.get("sha256"):
        return False
    from ..run_folder import file_sha256

    return file_sha256(source) == recorded["sha256"]


def check_out_folder(args: argparse.Namespace, video_id: str) -> None:
    """Refuse (ConfigError), before the recording is read, an --out folder holding another recording's results,
    unless --overwrite: they would be gone. The same recording spotted again replaces its own results, as ever."""
    from ..errors import ConfigError

    earlier = earlier_spot(args.out / "spot.json")
    if earlier is None or _same_recording(earlier, args.source):
        return
    if not getattr(args, "overwrite", False):
        raise ConfigError(
            f"'{args.out}' holds the results of {earlier['source']} (spot.json, intervals.csv, spotting.csv, "
            f"spots.eaf, timeline.png); spotting {args.source} there would replace them. Give each recording its "
            f"own folder, e.g. --out {args.out / video_id}/, or pass --overwrite to replace them.")
    print(f"note: {args.out} held the results of {earlier['source']}; they are replaced (--overwrite)",
          file=sys.stderr)
