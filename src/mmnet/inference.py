"""The module ``mmnet.inference`` of the first 0.1.0 releases, kept for programs written against it: its
names now live in :mod:`mmnet.infer` (and the frame-file helpers in :mod:`mmnet.media`). Importing it warns
(DeprecationWarning) and forwards each name on first use, so importing it costs no more than ``mmnet.infer``.
Removed in mmnet 0.3.0."""

from __future__ import annotations

from .lazy_names import lazy_name, warn_moved

warn_moved("mmnet.inference", "mmnet.infer (frame_number, list_frames and IMAGE_SUFFIXES to mmnet.media)")

#: The names of the old module, each with the module that has it now.
_HOME = {**{name: "infer" for name in ("Preprocessing", "Clip", "ClipRequest", "Prediction", "Predictor",
                                       "load_clip", "align_clip", "read_clip_list")},
         **{name: "media" for name in ("IMAGE_SUFFIXES", "frame_number", "list_frames")}}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> object:
    if name == "check_same_size":
        raise AttributeError("mmnet.inference.check_same_size was removed: a Clip of mmnet.infer checks its "
                             "frames' sizes itself when they are read")
    return lazy_name("mmnet", _HOME, name)
