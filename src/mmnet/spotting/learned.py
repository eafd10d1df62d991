"""Spotters with one interface: the training-free ``FlowSpotter`` and the trained ``LearnedSpotter``.

``make_spotter(config)`` picks one by ``config.method`` ("flow" or "learned"). Both take a
``LongVideo`` (or a video file / frame folder with ``fps``), stream it and return a ``SpotResult``:

    spotter = make_spotter(spot_config("casme2", ["method=learned", "learned.epochs=10"]), seed=0)
    stats = spotter.fit(train_videos)          # LongVideos with their ground-truth intervals
    result = spotter.spot(test_video)          # SpotResult: intervals, gaps, curves
    spotter.save("spotter.pt"); spotter = load_spotter("spotter.pt")

The learned spotter (SoftNet, docs/spotting.md) reuses the flow spotter's reading, face alignment,
flow and head-motion removal (``flow_spotter.extract_motion`` with its ``on_flow`` hook), turns
every flow pair into a small feature map (``learned_net``), trains one SoftNet-like network per
expression type on pseudo-labels (the types ``fit`` is given: a dataset that annotates micro-
expressions alone trains and spots micro only), and at spotting time feeds the networks the
pairs in batches as they are computed (``learned_spotting``, ``learned_outputs``: ``mmnet spot --out``
resumes it as it resumes the flow spotter); its score curve goes through the flow spotter's
smoothing, threshold, peaks and length gates (``peaks.spot_intervals``) with ``learned.p`` as
the threshold. Memory while spotting does not grow with the recording (a few numbers per
frame); while fitting, the kept training pairs are held: 6 KiB each at ``learned.size=32``, so
at 30 fps with half the pairs without an expression dropped, about 11 MiB per minute of
training video for both types.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import run_log
from ..errors import ConfigError, DataError
from ..progress import write_line
from .base import FORMAT, VERSION, FrameCallback, Spotter, load_spotter, recording_source
from .config import SpotConfig
from .flow_spotter import SCALES, extract_motion, open_recording
from .learned_net import FeatureMaker, coverage, make_net, pair_label, train_net
from .learned_spotting import spot_learned
from .spotter import SpotResult, spot_recording

if TYPE_CHECKING:
    from ..data.long_video import LongVideo

__all__ = ["FlowSpotter", "LearnedSpotter", "load_spotter", "check_learned_folds", "learned_types", "FORMAT"]

log = logging.getLogger("mmnet.spotting")

#: How to choose the training-free flow spotter instead, on the command line and in Python.
FLOW_INSTEAD = "--set method=flow; in Python the override method=flow, e.g. spot_config('casme2', 'method=flow')"


def learned_types(types: Iterable[str]) -> tuple[str, ...]:
    """``types`` checked and in the spotter's order (micro, macro): the types a learned spotter trains and spots."""
    types = tuple(types)
    unknown = [t for t in types if t not in SCALES]
    if unknown or not types:
        raise ConfigError(f"the learned spotter's types are some of {', '.join(SCALES)}, got {list(types)}")
    return tuple(s for s in SCALES if s in types)


def check_learned_folds(videos: Sequence[LongVideo], fold_of: Mapping[str, str], *, folds: Iterable[str] | None = None,
                        types: Sequence[str] = SCALES, instead: str = FLOW_INSTEAD) -> None:
    """Raise, from the annotation alone (before any frame is read), when a fold's training videos hold no interval
    of a type the dataset annotates: the learned spotter trains one network per such type and could not train that
    fold. A type the dataset does not annotate (CAS(ME)^3's macro from its label file alone) is not trained.

    ``fold_of``: video id -> fold (the held-out subject); ``folds``: those to check (default: all);
    ``types``: the types the dataset annotates; ``instead``: how to choose the flow spotter where it is said.
    """
    types = learned_types(types)
    for fold in sorted(set(fold_of.values()) if folds is None else folds):
        train = [v for v in videos if fold_of[v.video] != fold]
        missing = [s for s in types if not any(i.type == s for v in train for i in v.intervals)]
        if missing:
            raise DataError(f"learned spotter, fold {fold}: its training videos hold no {' or '.join(missing)} "
                            f"interval (fold {fold} trains on every other subject's videos); the learned spotter "
                            f"trains one network per type the dataset annotates ({' and '.join(types)}) and cannot "
                            f"be trained for it. Use the training-free flow spotter: {instead}.")


def _counting(on_frame: FrameCallback | None, total: list) -> Callable[[int], None] | None:
    """``extract_motion``'s per-frame progress (called with 1) as ``on_frame(done, total[0])``."""
    if on_frame is None:
        return None
    done = [0]

    def step(frames: int) -> None:
        done[0] += frames
        on_frame(done[0], total[0])

    return step


def _say(progress: bool, text: str) -> None:
    if progress:
        write_line(text)


class FlowSpotter(Spotter):
    """The training-free optical-flow spotter (``spot_recording``) behind the spotters' interface."""

    method = "flow"
    fold_independent = True  # nothing is learned: one result per recording serves every fold

    def fit(self, videos: Sequence[LongVideo], *, types: Sequence[str] = SCALES, progress: bool = False) -> dict:
        """Nothing to learn; returns {}. The flow spotter spots both types whatever ``types`` says."""
        return {}

    def spot(self, video: LongVideo | str | Path, *, fps: float | None = None, progress: bool = False,
             on_frame: FrameCallback | None = None) -> SpotResult:
        """``on_frame(done, total)`` after every frame (``total`` the count the recording declares, or None): a
        caller follows the spotting, and stops it by raising there (the server's cancelled job)."""
        source, fps, name = recording_source(video, fps)
        _say(progress, f"spotting {name} (flow)")
        total: list[int | None] = [None]
        return spot_recording(source, self.config, fps=fps, aligner=self.aligner(),
                              progress=_counting(on_frame, total), on_total=lambda n: total.__setitem__(0, n))


class LearnedSpotter(Spotter):
    """SoftNet-like networks (one per expression type) on the flow spotter's flow pairs; see the module doc."""

    method = "learned"

    def __init__(self, config: SpotConfig, *, seed: int = 0, device: str = "cpu"):
        super().__init__(config, seed=seed, device=device)
        self.nets: dict[str, tuple[object, np.ndarray]] = {}  # type -> (network, feature scale), the trained types
        self.stats: dict = {}
        self._features = FeatureMaker(self.config.learned.size)

    @property
    def types(self) -> tuple[str, ...]:
        """The types this spotter has a network for and spots (none before ``fit``)."""
        return tuple(s for s in SCALES if s in self.nets)

    def collect(self, video: LongVideo, *, types: Sequence[str] = SCALES,
                progress: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """One video's training pairs of ``types``: type -> (features (N, 3, size, size) float16, pseudo-labels (N,)).

        Every pair with an expression is kept, and a ``learned.negatives`` fraction of the others
        (drawn from the seed and the video's id); pairs that touch a frame without a face are dropped.
        """
        source, fps, name = recording_source(video, None)
        _say(progress, f"reading {name} for training")
        frames, rate, total = open_recording(source, fps)
        last = video.frames[-1][0] if getattr(video, "frames", ()) else 0
        types = learned_types(types)
        cums = {s: coverage(video.intervals, s, last) for s in types}
        rng = np.random.default_rng([self.seed, zlib.crc32(name.encode())])
        keep_negative = self.config.learned.negatives
        kept: dict[str, tuple[list, list, list]] = {s: ([], [], []) for s in types}

        def hook(scale, pos, pair, flow, regions):
            if scale not in kept:
                return
            label = pair_label(cums[scale], *pair)
            if label > 0 or rng.random() < keep_negative:
                positions, feats, labels = kept[scale]
                positions.append(pos)
                feats.append(self._features(flow, regions))
                labels.append(label)

        curves = extract_motion(frames, rate, self.config, aligner=self.aligner(), source=name, on_flow=hook,
                                declared=total)
        for note in curves.notes:  # training goes on with the frames that decoded; the user should know
            log.warning("%s", note)  # a command shows "warning: <note>" (progress.command_log); a caller filters it
        out = {}
        size = self.config.learned.size
        for s in types:
            positions, feats, labels = kept[s]
            half = curves.strides[s] // 2
            valid = ~np.isnan(curves.scores[s]).all(axis=1)  # the curve's frame i is the pair ending at i + half
            ok = np.array([bool(valid[p - half]) for p in positions], bool)
            x = np.stack(feats) if feats else np.zeros((0, 3, size, size), np.float16)
            out[s] = (x[ok] if len(ok) else x, np.asarray(labels, np.float32)[ok] if len(ok) else np.zeros(0))
        return out

    def fit(self, videos: Sequence[LongVideo], *, types: Sequence[str] = SCALES, progress: bool = False) -> dict:
        """Train one network per type of ``types`` on ``videos`` (their ground-truth intervals); returns training
        statistics. ``types`` are the types the videos' dataset annotates (``LongVideoLoad.types``): pass
        ``types=("micro",)`` for a dataset without macro-expressions. It is asked for, not guessed from the
        videos: a training set without macro intervals from a dataset that annotates them (too few videos, one
        fold) is a mistake to say, not a reason to quietly train a spotter that never spots a macro-expression.
        """
        types = learned_types(types)
        videos = list(videos)
        if not videos:
            raise DataError("LearnedSpotter.fit: no training videos given.")
        counts = {s: sum(i.type == s for v in videos for i in v.intervals) for s in SCALES}
        missing = [s for s in types if counts[s] == 0]
        if missing:
            raise DataError(f"LearnedSpotter.fit: the {len(videos)} training video(s) hold no {' or '.join(missing)} "
                            f"interval to learn from ({counts['micro']} micro, {counts['macro']} macro), and one "
                            f"network is trained per type of types={types}. Train on videos annotated with every "
                            "type given, pass the types the dataset annotates (LongVideoLoad.types; "
                            "types=('micro',) for micro-expressions alone), or use the training-free flow spotter "
                            f"({FLOW_INSTEAD}).")
        parts = [self.collect(v, types=types, progress=progress) for v in videos]
        stats = self.fit_collected(parts, types=types, progress=progress)
        from .in_sample import trained_on

        self.fitted_on = trained_on(None, videos)  # saved with it: scores on these videos are in-sample
        return stats

    def fit_collected(self, parts: Sequence[dict], *, types: Sequence[str] = SCALES, progress: bool = False) -> dict:
        """Train on the output of ``collect`` for several videos (LOSO reads each video once, then reuses it)."""
        types = learned_types(types)
        learned = self.config.learned
        stats: dict = {"videos": len(parts)}
        nets = {}
        for s in types:
            x = np.concatenate([p[s][0] for p in parts]) if parts else np.zeros((0, 3, learned.size, learned.size))
            y = np.concatenate([p[s][1] for p in parts]) if parts else np.zeros(0, np.float32)
            if not (y > 0).any():
                raise DataError(f"LearnedSpotter.fit: no {s} training pair overlaps an annotated {s} interval (all "
                                "of them fall where no face was found, or outside the frames); nothing to learn.")

            def report(epoch, loss, s=s):
                _say(progress, f"{s}: epoch {epoch}/{learned.epochs}, loss {loss:.5f}")
                # status.json (train-spotter's MODEL.status.json): the epochs of every type, one after another
                run_log.fold_epoch(types.index(s) * learned.epochs + epoch, learned.epochs * len(types))

            # a type's seed does not depend on the other types: the micro network is the same with or without macro
            net, scale, st = train_net(x, y, size=learned.size, epochs=learned.epochs, batch=learned.batch,
                                       lr=learned.lr, seed=self.seed + 1000 * SCALES.index(s), device=self.device,
                                       progress=report, flip=learned.flip)
            nets[s] = (net, scale)
            stats[s] = {**st, "feature_mib": round(x.nbytes / 2**20, 2)}
        self.nets, self.stats = nets, stats
        return stats

    def spot(self, video: LongVideo | str | Path, *, fps: float | None = None, progress: bool = False,
             on_frame: FrameCallback | None = None) -> SpotResult:
        """As ``FlowSpotter.spot``: ``on_frame(done, total)`` after every frame (``learned_spotting.spot_learned``
        also keeps and continues ``mmnet spot --out``'s progress)."""
        self._check_trained()
        source, fps, name = recording_source(video, fps)
        _say(progress, f"spotting {name} (learned)")
        total: list[int | None] = [None]
        return spot_learned(self, source, fps=fps, name=name, progress=_counting(on_frame, total),
                            on_total=lambda n: total.__setitem__(0, n))

    def spot_kept(self, source: str | Path, *, fps: float | None = None, progress: Callable[[int], None] | None = None,
                  on_total: Callable[[int | None], None] | None = None, keep=None) -> SpotResult:
        """``mmnet spot --spotter-model``'s ``spot`` of a video file or frame folder: ``progress(1)`` after every
        frame, ``on_total(count)``, and with ``keep`` (a ``partial_state.PartialSpot``, its --out) the progress
        kept as it goes and continued from what an interrupted run kept."""
        self._check_trained()
        return spot_learned(self, source, fps=fps, progress=progress, on_total=on_total, keep=keep)

    def _check_trained(self) -> None:
        if not self.nets:
            raise ConfigError("LearnedSpotter.spot: the spotter is not trained; call fit() or load a saved one "
                              "(LearnedSpotter.load / mmnet spot --spotter-model).")

    def _payload(self) -> dict:
        import torch

        if not self.nets:
            raise ConfigError("LearnedSpotter.save: the spotter is not trained; call fit() first.")
        nets = {s: {"state": net.state_dict(), "scale": torch.from_numpy(scale)}
                for s, (net, scale) in self.nets.items()}
        version = 1 if self.types == SCALES else VERSION
        return {**super()._payload(), "version": version, "types": list(self.types), "nets": nets,
                "stats": self.stats}

    def _restore(self, data: dict) -> None:
        for s in learned_types(data.get("types", SCALES)):  # a version-1 file holds both types' networks
            net = make_net(self.config.learned.size)
            net.load_state_dict(data["nets"][s]["state"])
            self.nets[s] = (net.to(self.device).eval(), data["nets"][s]["scale"].numpy())
        self.stats = data.get("stats", {})
