"""SMIC loader, HS / VIS / NIR (Li et al., FG 2013; docs/datasets.md, "Layouts accepted").

SMIC ships no annotation file: labels are folder names and each clip folder holds onset..offset.
Accepted root layouts (``variant`` picks HS, VIS or NIR)::

    ROOT/HS/s1/micro/negative/s1_ne_01/reg_image106324.bmp      (cropped; raw: image106324.bmp)
    ROOT/SMIC_all_cropped/HS/...   or   ROOT/SMIC_all_raw/HS/...
    ROOT = the variant folder itself (holding s1/, s2/, ...)

``non_micro`` folders are ignored. Onset and offset are the first and last frame on disk. There
is no apex anywhere in SMIC: it is estimated from the frames (``apex.py``: the apex spotting of
``mmnet.spotting``), cached under the user cache folder, and each estimate is logged as a warning
Issue.
Subjects are the folder names ('s1', unpadded); the MEGC2019 list writes 's01', mapped by the
composite loader.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import DataError
from ..media import list_frames
from .apex import METHOD, ApexCache
from .cache import default_cache_dir
from .common import DatasetLoad, check_sample, finish, missing_dataset, natural_key
from .crop_state import uncropped_issue
from .desktop_junk import split_desktop
from .root_files import folder_in_any_case
from .sample import Issue, Sample
from .unannotated import report_unannotated

__all__ = ["load_smic", "VARIANTS"]

VARIANTS = ("HS", "VIS", "NIR")
RELEASES = ("SMIC_all_cropped", "SMIC_all_raw", "SMIC")
EMOTIONS = ("negative", "positive", "surprise")
_FRAME = re.compile(r"(?:reg_)?image(\d+)\.(?:bmp|jpe?g|png)", re.IGNORECASE)
_SUBJECT = re.compile(r"s\d+", re.IGNORECASE)

_LAYOUT_HELP = [
    "HS/s1/micro/negative/s1_ne_01/reg_image106324.bmp ...   (also VIS/, NIR/)",
    "or SMIC_all_cropped/HS/... / SMIC_all_raw/HS/...; no annotation file is needed",
]


def _missing(root: Path, missing: list[str]):
    owner = "the University of Oulu, CMVS (https://www.oulu.fi/cmvs/node/41319)"
    return missing_dataset("SMIC", root, missing, _LAYOUT_HELP, owner, "smic")


def _variant_dir(root: Path, variant: str) -> Path | None:
    for release in ("", *RELEASES):  # in any case, as copied from Windows ('smic_all_cropped/hs')
        if (found := folder_in_any_case(root, [*filter(None, [release]), variant])) is not None:
            return found
    if any(_SUBJECT.fullmatch(p.name) and (p / "micro").is_dir() for p in root.iterdir() if p.is_dir()):
        return root
    return None


def load_smic(
    root: str | Path,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    variant: str = "HS",
    estimate_apex: bool = True,
    cache_dir: str | Path | None | bool = None,
) -> DatasetLoad:
    """Load SMIC micro-expression clips from their folders.

    Args:
        root: dataset folder (see the module docstring).
        annotation: must be None (SMIC has no annotation file; accepted for a uniform signature).
        strict: raise on any error-severity issue.
        variant: "HS" (100 fps, 164 clips), "VIS" or "NIR" (25 fps, 71 clips each).
        estimate_apex: estimate the apex from the frames (default); False leaves ``apex=None``.
        cache_dir: folder for the apex cache file; None = ``cache.default_cache_dir()``, False = no cache.
    """
    from ..errors import ConfigError, verify_choice

    variant = str(verify_choice("SMIC variant", variant.upper(), VARIANTS))
    if annotation is not None:
        raise ConfigError("SMIC has no annotation file (labels are folder names); leave --annotation out.")
    root = Path(root)
    if not root.is_dir():
        raise _missing(root, ["the folder itself"])
    vdir = _variant_dir(root, variant)
    if vdir is None:
        present = [v for v in VARIANTS if v != variant and _variant_dir(root, v) not in (None, root)]
        others = (f"; this copy holds {', '.join(present)}: use --variant {present[0]} (or dataset smic-"
                  f"{present[0].lower()} to train)" if present else "")
        raise _missing(root, [f"a '{variant}/' folder (or SMIC_all_cropped/{variant}/) holding s1/micro/...{others}"])
    if cache_dir is False:
        cache = ApexCache(None)
    else:
        cache = ApexCache(Path(cache_dir or default_cache_dir()) / "apex" / f"smic-{variant.lower()}.json")

    issues: list[Issue] = []
    samples: list[Sample] = []
    dataset = "smic"
    subjects = sorted((p for p in vdir.iterdir() if p.is_dir() and _SUBJECT.fullmatch(p.name)),
                      key=lambda p: natural_key(p.name))
    for sdir in subjects:
        micro = sdir / "micro"
        if not micro.is_dir():
            issues.append(Issue(f"{dataset}/{sdir.name}", "no_micro_folder", f"{sdir} has no 'micro' folder",
                                "warning"))
            continue
        for edir in sorted(p for p in micro.iterdir() if p.is_dir()):
            label = edir.name.lower()
            if label not in EMOTIONS:
                issues.append(Issue(f"{dataset}/{sdir.name}", "unknown_emotion_folder", f"folder '{edir}' is not one "
                                    f"of {EMOTIONS}; its clips are still loaded with label '{label}'", "warning"))
            for cdir in sorted((p for p in edir.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name)):
                samples.append(_clip(dataset, sdir.name, cdir, label, variant, estimate_apex, cache, issues))
            junk = split_desktop(f"{dataset}/{sdir.name}", edir, (p.name for p in edir.iterdir() if not p.is_dir()),
                                 issues)
            if junk:
                issues.append(Issue(f"{dataset}/{sdir.name}", "junk_files", f"{len(junk)} non-folder entries in "
                                    f"{edir} ignored: {junk[:5]}", "warning"))
    cache.save()
    report_unannotated(_folders(vdir), {Path(s.extra["folder"]) for s in samples}, _FRAME, issues,
                       why=f"no label: SMIC's labels are the emotion folders of {variant}/s<N>/micro/<emotion>/<clip>/",
                       advice="move it there if it is a micro-expression clip")
    if not samples:
        raise _missing(root, [f"clip folders under {vdir}/s*/micro/<emotion>/"])
    # SMIC_all_raw's frames are image<N>.bmp, the crops' reg_image<N>.bmp; mmnet prepare has no SMIC layout
    if not any(s.frames[0][1].name.lower().startswith("reg_") for s in samples if s.frames) and any(
            s.frames for s in samples):
        issues.append(uncropped_issue("smic", vdir, root, f"{RELEASES[0]}/{variant}/", prepare=False))
    load = finish(samples, issues, None, strict)
    load.frames_dirs = {"smic": vdir}
    return load


def _folders(vdir: Path, depth: int = 4) -> list[tuple[str, Path]]:
    """(sample id, folder) for every folder down to ``depth`` levels below the variant folder, but
    those under ``non_micro`` (macro-expressions: not used on purpose)."""
    out: list[tuple[str, Path]] = []
    level = [vdir]
    for _ in range(depth):
        level = sorted((p for d in level for p in d.iterdir() if p.is_dir() and p.name.lower() != "non_micro"),
                       key=lambda p: natural_key(str(p)))
        for p in level:
            subject = p.relative_to(vdir).parts[0]
            out.append((f"smic/{subject if _SUBJECT.fullmatch(subject) else '?'}/{p.name}", p))
    return out


def _clip(dataset: str, subject: str, cdir: Path, label: str, variant: str, estimate: bool, cache: ApexCache,
          issues: list[Issue]) -> Sample:
    frames, junk = list_frames(cdir, _FRAME, duplicates="first")
    sid = f"{dataset}/{subject}/{cdir.name}"
    junk = split_desktop(sid, cdir, junk, issues)
    extra = {"variant": variant, "folder": os.fspath(cdir)}
    if not frames:
        issues.append(Issue(sid, "no_frames", f"no image<N>.bmp / reg_image<N>.bmp files in {cdir}; the sample is "
                            "excluded", "error"))
        return Sample(dataset, subject, cdir.name, 0, None, None, label, (), (), extra)
    apex = None
    if estimate:
        try:
            apex, cached = cache.apex(frames)
        except DataError as exc:  # one frame only, frames of different sizes, a corrupt frame
            issues.append(Issue(sid, "apex_not_estimated", f"SMIC has no apex annotation and none could be "
                                f"estimated: {exc}", "warning"))
        else:
            extra["apex_source"] = f"estimated ({METHOD}{', cached' if cached else ''})"
            issues.append(Issue(sid, "apex_estimated", f"SMIC has no apex annotation; estimated apex {apex} "
                                f"({METHOD}{', from cache' if cached else ''})", "warning"))
    s = Sample(dataset, subject, cdir.name, frames[0][0], apex, frames[-1][0], label, (), frames, extra)
    issues.extend(check_sample(s, junk, apex_required=False))
    return s
