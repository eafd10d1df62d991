"""The spotter interface: ``Spotter``, the base class of every spotter, the package's and one's own.

A spotter of one's own subclasses ``Spotter`` in an importable module and is chosen by its import path, as
``model.factory`` chooses a network: ``method="package.module:Class"`` in the spotting config
(``--set method=package.module:Class``, ``spot_config("casme2", "method=mypkg.spot:MySpotter")``). Nothing in
mmnet is edited. What each command asks of it:

* ``spot(video, *, fps=None, progress=False, on_frame=None) -> SpotResult`` (required): ``video`` is a
  ``LongVideo`` or a video file / frame folder (``recording_source`` tells them apart, ``open_recording``
  streams the frames); ``on_frame(done, total)`` after every frame, if the spotter says its progress.
  ``spot_scores`` turns per-frame score curves into the ``SpotResult`` (mmnet's smoothing, threshold, peaks and
  length gates). Used by ``mmnet spot --spotter-model``, ``mmnet serve --spotter-model``, ``train-spotter
  --loso`` and spot then recognise.
* ``fit(videos, *, types, progress=False) -> dict``: learn from ``LongVideo``s and their ground truth, for the
  expression types ``types``; returns statistics (JSON values: LOSO keeps them per fold). Default: nothing
  learned, ``{}``. ``train-spotter`` calls it once on the whole dataset, ``--loso`` once per fold.
* ``_payload() -> dict`` / ``_restore(data)``: what ``save`` writes beyond the config, seed and ``fitted_on``
  (plain values and tensors: a model is read with ``weights_only=True``) and reading it back. Default: nothing more.
* ``fitted_on``: the dataset, video ids and subjects it learnt from (``in_sample.trained_on``; ``train-spotter``
  sets it), saved with it and copied into ``spot.json``, so that ``score-spots`` can say when scores are
  in-sample. None: unknown.
* ``fold_independent = True`` when ``spot`` does not depend on ``fit``: spot then recognise spots each
  recording once for every fold.
* ``spot_kept``: ``mmnet spot --spotter-model``'s call; by default ``spot``, its ``on_frame`` shown as progress.
  The package's spotters override it to keep and resume ``--out``'s progress.

``method`` is the name a spotter is saved under: a spotter of one's own leaves it unset, and it is then its
import path, by which ``load_spotter`` finds the class again. The package's spotters are registered by name in
``spotters.SPOTTERS``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CheckpointError, ConfigError
from .config import SpotConfig, spot_config_from
from .flow_spotter import SCALES, open_recording
from .spotter import SpotResult

if TYPE_CHECKING:
    from ..data.long_video import LongVideo

__all__ = ["Spotter", "load_spotter", "recording_source", "open_recording", "FORMAT"]

FORMAT = "mmnet-spotter"
# A spotter is written with the oldest format version that reads it: 1, except a learned spotter without a network
# for every type (version 2: a version-1 reader loads both types' networks and would fail on it).
VERSION = 2
READABLE = (1, 2)

#: ``on_frame(done, total)``: frames done so far, and the count the recording declares (None when unknown).
FrameCallback = Callable[[int, "int | None"], None]


def recording_source(video, fps: float | None = None) -> tuple[str | Path, float | None, str]:
    """(path, fps, name) of what ``spot`` is given: a ``LongVideo`` (its path, its rate unless ``fps``, its id) or
    a video file / frame folder (``fps`` as given: None reads a video's own rate)."""
    if isinstance(video, (str, Path)):
        return video, fps, str(video)
    if not hasattr(video, "path") or not hasattr(video, "fps"):
        raise ConfigError(f"spot() takes a LongVideo, a video file or a frame folder, got {type(video).__name__}")
    return video.path, fps or video.fps, getattr(video, "video_id", str(video.path))


def _unimportable(cls: type) -> str | None:
    """Where ``cls`` is defined when no later process can import it by its name: inside a function, or in the script
    run as ``__main__`` (a notebook too), where another process finds its own script or none; else None."""
    if "<locals>" in cls.__qualname__:
        return "inside a function"
    if cls.__module__ == "__main__":
        return "in the script run as __main__ (or a notebook)"
    return None


class Spotter:
    """The base of every spotter: config, seed, device, one face aligner, ``save``/``load``, and the defaults of
    the interface (the module doc). A subclass implements ``spot`` at least."""

    method = ""
    fold_independent = False  # True: spot does not depend on fit (one result per recording serves every fold)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # a spotter of one's own is named by where it is imported from; one defined in a function (a test's double)
        # or in a script run as __main__ (a notebook) cannot be imported by that name, and keeps the method it inherits
        if "method" not in cls.__dict__ and not _unimportable(cls):
            cls.method = f"{cls.__module__}:{cls.__qualname__}"

    def __init__(self, config: SpotConfig, *, seed: int = 0, device: str = "cpu"):
        if not isinstance(config, SpotConfig):
            raise ConfigError(f"a spotter takes a SpotConfig (mmnet.spotting.config.spot_config), got "
                              f"{type(config).__name__}")
        from .spotters import SPOTTERS

        if self.method not in SPOTTERS and ":" not in self.method:  # saved under it, it could not be loaded
            if where := _unimportable(type(self)):
                raise ConfigError(f"{type(self).__qualname__} is defined {where}: a spotter of your own is found by "
                                  "its import path, 'package.module:Class', by which load_spotter and --set method=... "
                                  "import it again; define it at a module's top level (a .py file on the path, not the "
                                  "script you run) and import it from there.")
            raise ConfigError(f"{type(self).__name__}.method is {self.method!r}, which is no registered spotter "
                              f"({', '.join(SPOTTERS)}); leave `method` unset on a spotter of your own: it is then "
                              f"its import path, {type(self).__module__}:{type(self).__qualname__}, by which "
                              "--set method=... and load_spotter find it.")
        self.config = replace(config, method=self.method)
        self.seed, self.device = seed, device
        # what it learnt from (in_sample.trained_on): None when unknown (not fitted, or saved by an earlier mmnet)
        self.fitted_on: dict | None = None
        self._aligner = None
        self._aligner_lock = threading.Lock()

    def aligner(self):
        """One face aligner (and landmark model) for every recording this spotter reads, also when threads share the
        spotter (``mmnet serve --workers``): the lock keeps two first calls from loading the landmark model twice."""
        if self._aligner is None and self.config.face.mode == "align":
            with self._aligner_lock:
                if self._aligner is None:  # another thread may have built it while this one waited
                    from ..preprocess import CropGeometry, FaceAligner

                    self._aligner = FaceAligner(CropGeometry(self.config.face.width, self.config.face.height),
                                                landmarks=self.config.face.landmarks)
        return self._aligner

    def fit(self, videos: Sequence[LongVideo], *, types: Sequence[str] = SCALES, progress: bool = False) -> dict:
        """Learn from ``videos`` (their ground-truth intervals) for ``types``; returns statistics. Here: nothing to
        learn, ``{}``."""
        return {}

    def spot(self, video: LongVideo | str | Path, *, fps: float | None = None, progress: bool = False,
             on_frame: FrameCallback | None = None) -> SpotResult:
        """The intervals of one recording (a ``LongVideo``, a video file or a frame folder)."""
        raise NotImplementedError(f"{type(self).__name__} must implement spot(video, *, fps=None, progress=False, "
                                  "on_frame=None) -> SpotResult (mmnet.spotting.scores.spot_scores makes one from "
                                  "score curves)")

    def spot_kept(self, source: str | Path, *, fps: float | None = None, progress: Callable[[int], None] | None = None,
                  on_total: Callable[[int | None], None] | None = None, keep=None) -> SpotResult:
        """``mmnet spot --spotter-model``'s call: ``spot``, with ``progress(n)`` for the frames each ``on_frame``
        reports and ``on_total(count)`` at its first. ``keep`` (``--out``'s ``partial_state.PartialSpot``) is not
        used here: an interrupted run of this spotter starts over."""
        told = [0, False]

        def on_frame(done: int, total: int | None) -> None:
            if not told[1]:
                told[1] = True
                if on_total is not None:
                    on_total(total)
            if progress is not None and done > told[0]:
                progress(done - told[0])
                told[0] = done

        return self.spot(source, fps=fps, on_frame=on_frame)

    def _payload(self) -> dict:
        return {"format": FORMAT, "version": 1, "method": self.method, "config": asdict(self.config),
                "seed": self.seed, **({"fitted_on": self.fitted_on} if self.fitted_on is not None else {})}

    def _restore(self, data: dict) -> None:
        """Read back what the subclass's ``_payload`` added (``data`` is the whole payload); nothing here."""

    def save(self, path) -> None:
        """Write the spotter (parameters and, when learned, the networks) to ``path`` (torch.save, weights only)."""
        import io

        import torch

        from ..utils import atomic_write_bytes

        buf = io.BytesIO()
        torch.save(self._payload(), buf)
        atomic_write_bytes(path, buf.getvalue())  # fsynced: a crash never leaves an empty spotter.pt behind

    @classmethod
    def load(cls, path, *, device: str = "cpu"):
        spotter = load_spotter(path, device=device)
        if not isinstance(spotter, cls):
            raise CheckpointError(f"'{path}' holds a {spotter.method} spotter, not a {cls.method} one; "
                                  "use mmnet.spotting.base.load_spotter for any")
        return spotter


def check_spotter_path(path) -> Path:
    """``path`` as a Path when it is a file; CheckpointError naming what to give otherwise (said before the slow
    loads of a command: ``mmnet serve`` checks it before FastAPI and PyTorch)."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"Spotter model '{path}' is a folder; give the file `mmnet train-spotter` wrote "
                              "(its --out, e.g. spotter.pt) or LearnedSpotter.save wrote.")
    if not path.is_file():
        raise CheckpointError(f"Spotter model '{path}' does not exist; train one with `mmnet train-spotter`.")
    return path


def load_spotter(path, *, device: str = "cpu") -> Spotter:
    """A spotter written by ``save``: the package's, or one's own (its class imported by its ``method``)."""
    import torch

    path = check_spotter_path(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same clear message
        with open(path, "rb") as f:
            zipped = f.read(4) == b"PK\x03\x04"  # torch.save's format: a damaged one, not another kind of file
        what = ("is empty" if path.stat().st_size == 0 else "is damaged or cut short" if zipped
                else "is not a spotter saved by mmnet")
        again = "; copy it again or retrain it with `mmnet train-spotter`" if zipped or what == "is empty" else ""
        raise CheckpointError(f"'{path}' {what} ({type(exc).__name__}: {exc}){again}.") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"'{path}' is not a spotter saved by mmnet (no '{FORMAT}' marker); an MMNet "
                              "checkpoint goes to --checkpoint (Predictor.from_checkpoint) instead.")
    if data.get("version") not in READABLE:
        raise CheckpointError(f"'{path}' is a spotter of format version {data.get('version')}; this mmnet reads "
                              f"versions {' and '.join(map(str, READABLE))}.")
    from .spotters import SPOTTERS, spotter_class

    method = str(data.get("config", {}).get("method", ""))
    if method not in SPOTTERS and ":" not in method:
        raise CheckpointError(
            f"Spotter model '{path}' was saved by a spotter of method {method!r}, which is not one of mmnet's "
            f"({', '.join(SPOTTERS)}). A spotter of your own is found by its import path: save it from a subclass of "
            "mmnet.spotting.base.Spotter that leaves `method` unset (it is then 'package.module:Class'), in a "
            "module importable where the model is used (installed, or on PYTHONPATH); docs/spotting.md, "
            "\"A spotter of your own\".")
    try:
        config = spot_config_from(data["config"])  # its method is registered or imported (spotters.check_method)
    except ConfigError as exc:
        raise CheckpointError(f"Spotter model '{path}': {exc}") from exc
    spotter = spotter_class(config.method)(config, seed=int(data.get("seed", 0)), device=device)
    from .in_sample import read_trained_on

    spotter.fitted_on = read_trained_on(data.get("fitted_on"))  # absent (an earlier mmnet's): unknown
    spotter._restore(data)
    return spotter
