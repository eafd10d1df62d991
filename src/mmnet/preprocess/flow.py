"""Dense optical flow from the onset to the apex frame, as an alternative main-branch input.

``MMNet(MMNetConfig(main_input="flow"))`` takes a (B, 3, H, W) tensor whose channels are
(u, v, magnitude). ``compute_flow`` returns one such field as (3, H, W) float32:

* u, v: horizontal (x, right positive) and vertical (y, down positive) displacement of each onset
  pixel towards the apex, in pixels **of the images passed in**, divided by ``FLOW_SCALE`` (2 px);
* magnitude: sqrt(u^2 + v^2) of the scaled components (so also in units of 2 px).

Compute the flow on the frames the network sees (224 x 224 after resizing): the scale then means
the same thing for every dataset, and micro-expression motion gives values of about 0-1.

Methods (all from OpenCV; TV-L1 needs the contrib build, which the face extra installs):

* ``"tvl1"``: Dual TV-L1 (Zach et al. 2007), the flow of the micro-expression literature
  (OFF-ApexNet, STSTNet); most accurate, about 65 ms at 224 x 224.
* ``"dis"``: DIS, preset MEDIUM (Kroeger et al. 2016); about 2-3 ms at 224 x 224.
* ``"farneback"``: Farneback (2003) polynomial expansion; about 7 ms at 224 x 224.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import PreprocessError, install_hint, verify_choice
from ..private_files import cache_access_error, make_private_folder, write_private

__all__ = ["FLOW_METHODS", "FLOW_SCALE", "FLOW_VERSION", "compute_flow", "flow_calculator", "cached_flow",
           "flow_cache_path", "flow_file_text"]

FLOW_METHODS = ("tvl1", "dis", "farneback")
#: Pixels of displacement per unit of the returned field.
FLOW_SCALE = 2.0
#: Bumped whenever the scaling or a method's parameters change, so old cache files are not reused.
FLOW_VERSION = 1


def _grey(image: np.ndarray, name: str) -> np.ndarray:
    import cv2

    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise PreprocessError(f"{name} must be uint8, got dtype {image.dtype}")
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    raise PreprocessError(f"{name} must be (H, W, 3) RGB or (H, W) grey, got shape {image.shape}")


def flow_calculator(method: str = "tvl1") -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A reusable ``calc(onset, apex)`` -> OpenCV's own (H, W, 2) float32 flow, in pixels (not divided by
    ``FLOW_SCALE``), for grey (H, W) uint8 frames of one size.

    The method's OpenCV object is made once, here: a caller that computes many pairs (the spotter, two a frame)
    keeps one; with no initial flow given, each call's result is the same as a fresh object's. One per thread:
    OpenCV's flow objects are not safe to share between threads.
    """
    verify_choice("flow method", method, FLOW_METHODS)
    try:
        import cv2
    except ImportError:
        raise PreprocessError(f"optical flow needs OpenCV; install it with: {install_hint('face')}") from None
    if method == "tvl1":
        if not hasattr(cv2, "optflow"):
            raise PreprocessError(
                "TV-L1 flow needs OpenCV's contrib build (cv2.optflow), but the installed OpenCV has none. "
                f"Uninstall other opencv-* packages and run: {install_hint('face')} "
                "(or choose flow method 'dis' or 'farneback')"
            )
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
        return lambda a, b: tvl1.calc(a, b, None)
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return lambda a, b: dis.calc(a, b, None)
    return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)


def compute_flow(onset: np.ndarray, apex: np.ndarray, method: str = "tvl1") -> np.ndarray:
    """Optical flow onset -> apex as (3, H, W) float32 channels (u, v, magnitude) / FLOW_SCALE.

    Args:
        onset, apex: (H, W, 3) RGB or (H, W) grey uint8 frames of the same size.
        method: one of FLOW_METHODS.
    """
    verify_choice("flow method", method, FLOW_METHODS)
    try:
        import cv2  # noqa: F401  (said before the frames are checked, as ever)
    except ImportError:
        raise PreprocessError(f"optical flow needs OpenCV; install it with: {install_hint('face')}") from None
    a, b = _grey(onset, "onset"), _grey(apex, "apex")
    if a.shape != b.shape:
        raise PreprocessError(f"onset and apex differ in size: {a.shape} vs {b.shape}")
    flow = flow_calculator(method)(a, b)  # a new OpenCV object per call: a caller of many pairs keeps its own
    uv = flow.transpose(2, 0, 1).astype(np.float32) / np.float32(FLOW_SCALE)  # (2, H, W)
    mag = np.hypot(uv[0], uv[1])[None]  # (1, H, W)
    return np.ascontiguousarray(np.concatenate([uv, mag], axis=0), dtype=np.float32)


def flow_file_text(text: str) -> str:
    """``text`` as a flow file's name writes it: each run of characters other than ASCII letters, digits, '.', '_'
    and '-' (a '/', an 'é') becomes one '_'. ``mmnet cache prune --subject`` finds a subject's files by it."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def flow_cache_path(cache_dir: str | Path, key: str, method: str) -> Path:
    """File that ``cached_flow`` uses for ``key``: readable name + a hash (keys may hold '/')."""
    verify_choice("flow method", method, FLOW_METHODS)
    readable = flow_file_text(key).strip("._")[:80] or "flow"
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
    return Path(cache_dir) / f"flow-v{FLOW_VERSION}-{method}" / f"{readable}-{digest}.npy"


def cached_flow(cache_dir: str | Path, key: str, onset: np.ndarray, apex: np.ndarray,
                method: str = "tvl1") -> np.ndarray:
    """``compute_flow`` through a file cache: one ``.npy`` per (key, method), written atomically.

    ``key`` must identify the frame pair and its preprocessing, e.g.
    ``"casme2/01/EP02_01f/40-52/224"``. A cached field whose size differs from the frames is
    recomputed and replaced. Concurrent writers are safe (each renames a complete file).
    """
    path = flow_cache_path(cache_dir, key, method)
    shape = (3, *np.asarray(onset).shape[:2])
    try:
        found = path.is_file()
    except PermissionError as exc:  # in another user's private folder
        raise cache_access_error(path, exc) from None
    if found:
        try:
            flow = np.load(path, allow_pickle=False)
        except PermissionError as exc:  # another user's file: not damaged, and not to be written over
            raise cache_access_error(path, exc) from None
        except (OSError, ValueError):
            flow = None  # unreadable (e.g. a disk error): recompute below
        if flow is not None and flow.shape == shape and flow.dtype == np.float32:
            return flow
    flow = compute_flow(onset, apex, method)
    buf = io.BytesIO()
    np.save(buf, flow, allow_pickle=False)
    # a face's motion is the dataset's data: private where mmnet makes the cache folder, as shared as a group's
    cache_dir = Path(cache_dir)
    try:
        make_private_folder(path.parent, inside=cache_dir.parent if cache_dir.name == "flow" else cache_dir)
        write_private(path, buf.getvalue())
    except PermissionError as exc:  # another user's folder in a shared cache: whose, and how to share it
        raise cache_access_error(path, exc, "cannot be written") from None
    return flow
