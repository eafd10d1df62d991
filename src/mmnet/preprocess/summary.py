"""What ``mmnet prepare`` did, clip by clip: the printed summary and the JSON one."""

from __future__ import annotations

import errno
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..media import PREPARE_SUMMARY

__all__ = ["STATUSES", "ClipResult", "PrepareSummary", "default_summary_path", "os_error_message"]

#: ok: prepared now; skipped: prepared before with the same settings; other_settings: prepared
#: before with other settings, left as it is (--force redoes it); failed: not written.
STATUSES = ("ok", "skipped", "other_settings", "failed")


@dataclass
class ClipResult:
    """What happened to one clip. ``status``: one of STATUSES.

    ``reason`` is a short code for failures: no_face, corrupt_frame, video_decode, no_frames,
    missing_onset, frame_size, bad_folder, error.
    """

    clip_id: str
    status: str
    out_dir: str
    n_frames: int = 0
    reason: str | None = None
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    alignment: dict | None = None
    face_watch: dict | None = None  # FaceWatch.record: where the face left the onset's crop


@dataclass
class PrepareSummary:
    """Results of one ``prepare`` run, one per clip, in input order.

    ``interrupted``: the run stopped (Ctrl-C) before every clip was settled; the results are those
    of the clips settled so far.
    """

    layout: str
    source: str
    out_root: str
    results: list[ClipResult]
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)  # of the run, not of one clip (discover.desktop_note)

    def by_status(self, status: str) -> list[ClipResult]:
        return [r for r in self.results if r.status == status]

    @property
    def failed(self) -> list[ClipResult]:
        return self.by_status("failed")

    def to_dict(self) -> dict:
        counts = {s: len(self.by_status(s)) for s in STATUSES}
        return {"layout": self.layout, "source": self.source, "out_root": self.out_root, "counts": counts,
                "interrupted": self.interrupted, "notes": list(self.notes), "clips": [asdict(r) for r in self.results]}

    def format(self) -> str:
        """Human-readable summary: counts, then every failure, clip left with other settings and warning."""
        # a single clip or video: its own folder (out_root is the folder around it, e.g. ".")
        target = self.results[0].out_dir if self.layout in ("frames", "video") and len(self.results) == 1 \
            else self.out_root
        skipped, other = self.by_status("skipped"), self.by_status("other_settings")
        counts = [f"{len(self.by_status('ok'))} clip(s) prepared",
                  f"{len(skipped)} already done (skipped{'; --force redoes them' if skipped else ''})"]
        if other:
            counts.append(f"{len(other)} prepared with other settings (left as they are: rerun with --force to "
                          "redo them)")
        lines = [", ".join(counts) + f", {len(self.failed)} failed -> {target}"]
        for r in self.failed:
            lines.append(f"  FAILED {r.clip_id} [{r.reason}]: {r.message}")
        if self.layout in ("casme2", "samm") and any(r.reason == "no_face" for r in self.failed):
            lines.append("  (no_face: the alignment is measured on a clip's first frame, which must show the face; "
                         "prepare such a clip alone with --onset at a frame that shows it: mmnet prepare RAW_CLIP "
                         "--out OUT_CLIP --onset N)")
        for r in other:
            lines.append(f"  OTHER SETTINGS {r.clip_id}: {r.message}")
        for r in self.results:
            for w in r.warnings:
                lines.append(f"  warning {r.clip_id}: {w}")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def default_summary_path(layout: str, out_root: str | Path) -> Path | None:
    """Where ``prepare`` writes its JSON summary unless told: a dataset's output root; none for one clip or video."""
    return Path(out_root) / PREPARE_SUMMARY if layout in ("casme2", "samm") else None


def os_error_message(exc: OSError, job, tmp: Path) -> str:
    """A failed write's message: the file it concerns (not a temporary one in ``tmp``) and what to do."""
    path = exc.filename
    if path is None or Path(path).is_relative_to(tmp):  # PIL names no file; a temporary name means nothing
        path = job.out_dir
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        advice = "free disk space or choose another --out"
    else:
        advice = "check the path and its permissions"
    return f"'{path}': {exc.strerror or exc}; {advice}"
