"""What `mmnet agree` compares: each coder given as a file, a folder of files (one coder's files, one per recording,
as ELAN keeps them: each file's video from its own media or name) or ``FILE#TIER`` (one coder's tiers of a file
that holds several coders'); the videos each pair of coders holds in common."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from ..typed_separators import split_typed
from .score_spots_hints import shown
from .score_spots_read import ReadOptions, file_text, read_intervals

#: the files of a coder's folder that are read (ELAN keeps a .pfsx of settings beside each .eaf: left out)
SUFFIXES = (".eaf", ".txt", ".csv", ".tsv", ".xlsx")


@dataclass(frozen=True)
class Coder:
    """One coder: the argument as given (its label), its files, and the tiers read (None: all)."""

    label: str
    paths: tuple[Path, ...]
    tiers: tuple[str, ...] | None = None


def parse_coder(text: str) -> Coder:
    """A FILE argument: a file, a folder (its coder files, in name order), or FILE#NAME[,NAME...] (the tiers named
    by id, annotator or participant); a path with '#' in its name that exists is read as that path."""
    from ..errors import DataError

    path, tiers = Path(text), None
    if not path.exists() and "#" in text:
        head, _, names = text.rpartition("#")
        tiers = tuple(split_typed(names))  # FILE#甲，乙 as FILE#甲,乙 (typed_separators)
        if not tiers:
            raise DataError(f"{text!r}: name the tiers after '#', e.g. '{head}#ME_coder1' (a tier id, or the "
                            "annotator of the tiers).")
        path = Path(head)
    if not path.is_dir():
        return Coder(text, (path,), tiers)
    files = _folder_files(path)
    read = tuple(p for p in files if p.suffix.lower() in SUFFIXES and not p.name.startswith("~$"))
    if not read:
        raise DataError(f"folder '{path}' holds no coder's file ({', '.join(SUFFIXES)}): give one coder's files of "
                        "every recording in it, or the files themselves.")
    if locks := [str(p.relative_to(path)) for p in files if p.name.startswith("~$")]:
        print(f"note: '{path}': {len(locks)} lock file(s) of an open workbook not read: {', '.join(locks[:5])}"
              + (", ..." if len(locks) > 5 else ""), file=sys.stderr)
    if left := [str(p.relative_to(path)) for p in files if p not in read and not p.name.startswith("~$")]:
        print(f"note: '{path}': {len(left)} file(s) not read (not {', '.join(SUFFIXES)}): {', '.join(left[:5])}"
              + (", ..." if len(left) > 5 else ""), file=sys.stderr)
    return Coder(text, read, tiers)


def _folder_files(folder: Path) -> list[Path]:
    """A coder's folder's files, its subfolders' too (a folder per participant), in path order; hidden files and
    folders (.git, ELAN's backups) left out."""
    out = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            out += _folder_files(path)
        elif path.is_file():
            out.append(path)
    return out


def check_outputs(args, coders: list[Coder]) -> None:
    """--pairs and --write-truth FILE before anything is read: never a coder's own file (or a file in a coder's
    folder, which a rerun would read as that coder's), never one file for both, and an existing file only with
    --overwrite (a hand-curated intervals.csv, its subjects filled in, is not replaced without a word)."""
    from ..errors import ConfigError

    inputs = {p.resolve() for c in coders for p in c.paths}
    folders = {Path(c.label).resolve() for c in coders if Path(c.label).is_dir()}
    seen: dict = {}
    for option, path in (("--pairs", args.pairs), ("--write-truth", args.write_truth)):
        if path is None:
            continue
        full = path.resolve()
        if full in inputs or any(full.is_relative_to(f) for f in folders):
            raise ConfigError(f"{option} '{path}' is {'a coder' if full in inputs else 'in a coder'}'s "
                              f"{'file' if full in inputs else 'folder'} (read as a coder's): write it elsewhere.")
        if full in seen:
            raise ConfigError(f"{option} '{path}' is the {seen[full]} FILE too: give each its own file.")
        seen[full] = option
        if full.exists() and not args.overwrite:
            raise ConfigError(f"{option} '{path}' exists; pass --overwrite to replace it (or write another file).")


def _by_video(path: Path, intervals: dict) -> dict:
    """An STR CSV's (subject, video) keys as video ids, to compare with a file that names videos alone."""
    from ..errors import DataError

    out: dict = {}
    for (_, video), items in intervals.items():
        if video in out:
            raise DataError(f"'{path}' names video {video!r} for two subjects, and another file names videos without "
                            "subjects, so they cannot be told apart: give every file as an STR CSV, or unique ids.")
        out[video] = items
    return out


def _tiers(coder: Coder, path: Path, texts: dict) -> frozenset[str] | None:
    """The tiers a coder reads of ``path`` (lower case), an .eaf's annotator names resolved to its tier ids; None:
    all of them."""
    from ..spotting.coder_tiers import eaf_tier_owners, resolve_tiers

    if coder.tiers is None:
        return None
    return resolve_tiers(f"'{path}'", coder.tiers, eaf_tier_owners(file_text(path, texts)))


def _same_files(coders: list[Coder], texts: dict) -> None:
    """One file given as two coders with tiers in common (the same tiers named two ways: by id and by annotator)
    agrees with itself on them: an error, not a kappa of 1. Two files of the same text get a warning: small CSVs of
    two coders can be the same, a copied file is too."""
    from ..errors import DataError

    seen: dict = {}
    read: dict = {}  # path -> [(coder index, tiers read)]
    for k, coder in enumerate(coders):
        for path in coder.paths:
            if not path.is_file():
                continue  # read_intervals names it
            tiers = _tiers(coder, path, texts)
            for m, other in read.setdefault(path.resolve(), []):
                if m != k and (tiers is None or other is None or tiers & other):
                    said = (f" (tiers {', '.join(sorted(tiers & other))} in both)" if tiers and other else "")
                    raise DataError(f"'{path}' of coder '{coder.label}' is the same file as coder "
                                    f"'{coders[m].label}' reads{said}: a file compared with itself agrees perfectly; "
                                    "give each coder's own file (for coders on tiers of one .eaf: 'FILE#TIER1' "
                                    "'FILE#TIER2', no tier in both).")
            read[path.resolve()].append((k, tiers))
            key = (hashlib.sha256(file_text(path, texts).encode()).hexdigest(), tiers)
            index, other = seen.setdefault(key, (k, path))
            if index == k or path.resolve() == other.resolve():
                continue
            label = coders[index].label
            said = f"'{path}'" + (f" (coder '{coder.label}')" if coder.label != str(path) else "")
            other_said = f"'{other}'" + (f" (coder '{label}')" if label != str(other) else "")
            print(f"warning: {said} has the same content as {other_said}: they agree perfectly; check that "
                  "neither is a copy of the other coder's file.", file=sys.stderr)


def read_coders(coders: list[Coder], options: ReadOptions, rates: dict, media: dict | None = None) -> list[dict]:
    """Each coder's video -> intervals, its files' videos together (a video in two files of one coder is an error);
    STR CSVs keep (subject, video) keys only when every file is one; ``rates`` gets the rate of each intervals.csv
    (or web CSV) as its seconds give it, ``media`` path -> {video: frames} of a coder's file that gives its media's
    duration."""
    from ..errors import DataError

    texts: dict = {}  # each file read once, for the comparison of contents and for its reader
    _same_files(coders, texts)
    # a folder's file that marks nothing and names no media is its file name's video (without --video-id)
    read = [[(path, *read_intervals(path, replace(options, tiers=coder.tiers, empty_video=_empty(coder, path, options)),
                                    rates, texts, media))
             for path in coder.paths] for coder in coders]
    all_str = all(is_str for files in read for _, _, is_str, _, _ in files)
    out = []
    for coder, files in zip(coders, read):
        merged: dict = {}
        where: dict = {}
        for path, intervals, is_str, _, _ in files:
            for video, items in (intervals if all_str or not is_str else _by_video(path, intervals)).items():
                if video in merged:
                    apart = ("; a video is named by its media file's name or the file's own, without their folders: "
                             "give each recording a name of its own (P01_s1.eaf)"
                             if where[video].parent != path.parent else "")
                    raise DataError(f"coder {coder.label!r}: '{where[video]}' and '{path}' both annotate video "
                                    f"{shown(video)!r}: keep one file per recording in a coder's folder (with "
                                    f"--video-id, every file is named that one video: leave it out){apart}.")
                merged[video], where[video] = list(items), path
        out.append(merged)
    return out


def _empty(coder: Coder, path: Path, options: ReadOptions) -> str | None:
    return path.stem if options.video_id is None and Path(coder.label).is_dir() else None


def _videos(f: dict) -> str:
    return ", ".join(repr(shown(v)) for v in list(f)[:5]) + (", ..." if len(f) > 5 else "") or "none"


def _none_in_common(labels: list[str], files: list[dict], i: int, j: int) -> str:
    """The error for coders that hold no video in common, with what to do: --video-id only where each holds one
    video (one recording under two names), never for coders of several recordings (it would merge them)."""
    said = (f"'{labels[i]}' and '{labels[j]}' hold no video in common ('{labels[i]}': {_videos(files[i])}; "
            f"'{labels[j]}': {_videos(files[j])}): ")
    if len(files[i]) == 1 and len(files[j]) == 1:
        return said + ("if both annotate one recording, give --video-id ID to name the video of an ELAN or BORIS "
                       "file (or intervals.csv, the web page's CSV) as the other file names it; if they annotate "
                       "different recordings, give each coder's files of every recording together: a folder per "
                       "coder (mmnet agree coder1/ coder2/).")
    return said + ("compare the coders' files of the same recordings (a folder per coder: mmnet agree coder1/ "
                   "coder2/; each file's video is named by its media or its file name).")


def shared_videos(labels: list[str], files: list[dict]) -> dict[tuple[int, int], list]:
    """(i, j) -> the videos both coders hold, for each pair that holds one (an incomplete design: a pair with none
    is left out, with a note); an error where no pair, or a coder with no other, holds a video in common. Notes
    name the videos not in every coder's files."""
    from ..errors import DataError

    out, apart = {}, []
    for i in range(len(files)):
        for j in range(i + 1, len(files)):
            both = [v for v in files[i] if v in files[j]]
            if both:
                out[i, j] = both
            else:
                apart.append((i, j))
    alone = next((k for k in range(len(files)) if not any(k in key for key in out)), None)
    if alone is not None:
        i, j = next(key for key in apart if alone in key)
        raise DataError(_none_in_common(labels, files, i, j))
    if apart:
        print(f"note: {len(apart)} pair(s) hold no video in common, not compared (an incomplete design: "
              "Krippendorff's alpha takes the videos each coder holds): "
              + ", ".join(f"'{labels[i]}' and '{labels[j]}'" for i, j in apart), file=sys.stderr)
    for k, (label, f) in enumerate(zip(labels, files)):
        alone_videos = [shown(v) for v in f if not any(v in g for m, g in enumerate(files) if m != k)]
        compared = dict.fromkeys(v for both in out.values() for v in both)
        missing = [shown(v) for v in compared if v not in f]
        if alone_videos:
            print(f"note: '{label}' alone holds {len(alone_videos)} video(s), not compared: "
                  f"{', '.join(alone_videos[:5])}" + (", ..." if len(alone_videos) > 5 else ""), file=sys.stderr)
        if missing and len(files) > 2:
            print(f"note: '{label}' does not hold {len(missing)} video(s) other files hold (left out of its pairs; "
                  f"missing in the alpha): {', '.join(missing[:5])}" + (", ..." if len(missing) > 5 else ""),
                  file=sys.stderr)
    return out
