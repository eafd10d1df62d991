"""What the clip datasets' check (``check_data``) and the long-video datasets' (``check_data_long``) share:
loading a dataset as `mmnet check-data` does, and printing its problems, subjects and verdict."""

from __future__ import annotations

__all__ = ["loader_options", "wrap", "load_quietly", "frames_folder", "by_missing_subject", "print_issues",
           "per_subject", "papers", "finish"]


def loader_options(loader, args) -> dict:
    import inspect

    accepted = inspect.signature(loader).parameters
    wanted = {"layout": args.layout, "variant": args.variant, "cache_dir": args.cache_dir, "frames": args.frames,
              "fps": getattr(args, "fps", None)}
    if args.no_corrections:
        wanted["corrections"] = False
    out = {}
    for key, value in wanted.items():
        if value is None:
            continue
        if key not in accepted:
            from ..errors import ConfigError

            raise ConfigError(f"--{key.replace('_', '-')} does not apply to dataset {args.dataset!r}.")
        out[key] = value
    return out


def wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, max(20, width)) or [""]


def load_quietly(args, root):
    import logging

    from ..data import DATASETS, LONG_VIDEO_DATASETS, load_dataset

    loader = {**DATASETS, **LONG_VIDEO_DATASETS}[args.dataset]
    # the loader's one-line summary would repeat what this command prints in full
    data_log = logging.getLogger("mmnet.data")
    level = data_log.level
    data_log.setLevel(logging.ERROR)
    try:
        options = loader_options(loader, args)
        return load_dataset(args.dataset, root, annotation=args.annotation, strict=False, **options)
    finally:
        data_log.setLevel(level)


def frames_folder(folders) -> str:
    """The folder the frames were read from (the clips' common parent), e.g. ROOT/Cropped for CASME II, so that
    a user sees which of a dataset's frame folders (cropped or raw) training takes."""
    import os

    return os.path.commonpath([str(f) for f in folders]) if folders else "(none: no clip has frames on disk)"


def by_missing_subject(issues) -> list:
    """``issues`` with the clips of each subject folder missing in a partial copy as one line per subject (it was
    one line per clip: hundreds), in the place of the subject's first clip."""
    from ..data.common import PARTIAL_COPY as partial
    from ..data.sample import Issue

    groups: dict[tuple[str, str], list] = {}
    for i in issues:
        if i.check == "clip_missing" and (m := partial.search(i.message)):
            groups.setdefault((m[1], m[2]), []).append((i, m[3]))
    shown, done = [], set()
    for i in issues:
        m = partial.search(i.message) if i.check == "clip_missing" else None
        if m is None:
            shown.append(i)
        elif (key := (m[1], m[2])) not in done:
            done.add(key)
            clips = groups[key]
            shown.append(Issue(i.sample_id.rsplit("/", 1)[0], i.check,
                               f"subject folder {m[1]} missing in {m[2]} (which holds {m[3]}: a partial copy?): its "
                               f"{len(clips)} clip(s) cannot be used"))
    return shown


def print_issues(issues, max_width: int) -> int:
    """The problem table and its summary line (counting every issue); returns the number of errors."""
    from collections import Counter

    from ..display_width import display_width, pad

    if issues:
        counted, issues = issues, by_missing_subject(issues)
        # widths as shown, not len(): a CJK subject's characters take two columns each
        sid_w = min(34, max(len("sample"), *(display_width(i.sample_id) for i in issues)))
        chk_w = max(len("check"), *(display_width(i.check) for i in issues))
        head = f"{'sample':<{sid_w}}  {'severity':<8}  {'check':<{chk_w}}  message"
        print(head)
        print("-" * min(max_width, max(len(head), 60)))
        indent = sid_w + 8 + chk_w + 6
        for i in issues:
            lines = wrap(i.message, max_width - indent)
            print(f"{pad(i.sample_id, sid_w)}  {i.severity:<8}  {pad(i.check, chk_w)}  {lines[0]}")
            for line in lines[1:]:
                print(" " * indent + line)
        print()
        issues = counted
    by_check = Counter((i.severity, i.check) for i in issues)
    errors = sum(n for (sev, _), n in by_check.items() if sev == "error")
    print(f"problems    {errors} error(s), {len(issues) - errors} warning(s)"
          + ("" if not by_check else ": " + ", ".join(f"{c} {n}" for (_, c), n in sorted(by_check.items()))))
    print()
    return errors


def per_subject(counts) -> str:
    """'01 12, 02 9, ...': a count per subject, in natural order."""
    from ..data.common import natural_key

    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items(), key=lambda kv: natural_key(kv[0])))


def papers(dataset: str, root, parts=None) -> list[str]:
    """The papers to cite for ``dataset``'s data (docs/datasets.md's table); none for a lab's own table, nor for a
    set of `mmnet synth` (its synth.json in a root, or the folder above it): drawn faces, no one's recordings. A
    composite's: the protocol's paper and those of ``parts``, the parts its list names (all three when unknown)."""
    from pathlib import Path

    from ..data.common import SYNTH_MARKER
    from ..data.releases import papers_to_cite

    roots = [Path(r) for r in (root.values() if isinstance(root, dict) else [root])]
    if any((folder / SYNTH_MARKER).is_file() for r in roots for folder in (r, r.parent)):
        return []
    if dataset == "composite":
        from ..data.composite import PART_ORDER  # MEGC2019's order, as the report lists the parts

        return papers_to_cite([p for p in PART_ORDER if parts is None or p in parts], composite=True)
    return papers_to_cite([dataset])


def _short(paper: str) -> str:
    """'Yan et al., 2014, PLoS ONE 9(1): e86041' of a paper's entry: its title (in quotes) and remarks left out."""
    if paper.count('"') < 2:
        return paper
    authors, _, rest = paper.partition('"')
    venue = rest.rpartition('"')[2].strip(", ").split(" (")[0]
    return f"{authors.rstrip(', ')}, {venue}"


def finish(subjects, errors: int, strict: bool, after: str | None = None, cite: list[str] = ()) -> int:
    """The subjects line (one LOSO fold each; ``after`` qualifies it), the papers to ``cite`` (shortened, on one
    line; their full entries: --json, docs/datasets.md) and the exit code: 1 with --strict when errors were found."""
    print(f"subjects    {len(subjects)} (LOSO folds): " + per_subject(subjects))
    if after:
        print(after)
    if cite:
        print("cite        " + "; ".join(_short(p) for p in cite))
    if strict and errors:
        print(f"\nstrict: {errors} error(s) found")
        return 1
    return 0
