"""Procedural neutral faces: one per subject, different in shape, proportions, skin tone and texture.

A face is drawn once per subject as a float RGB image; the clips then warp it. Every facial
structure that an action unit moves (brows, eyelids, nose wings, nasolabial folds, lips, chin
crease, forehead lines) is drawn as an edge or a texture, because a displacement only shows in the
apex-minus-onset image where the face has structure (measured: see docs/synthetic-data.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Face", "render_face"]

# Skin tones from light to dark (RGB, 0..255); a subject's tone is a random point between two neighbours.
_SKIN_TONES = np.array(
    [[236, 200, 178], [222, 180, 150], [198, 150, 118], [168, 118, 88], [128, 86, 62], [96, 64, 46]],
    dtype=np.float32,
)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Skin darker than this luminance (tones past the middle of _SKIN_TONES) gets its pores, creases and eyes scaled
# to the skin's brightness, and hair and brows darker than the skin. Drawn as lighter skin is (pores of a fixed
# 5 grey levels, creases darkening by a fixed fraction, white eyes, hair as light as the skin), the darkest tones
# were found by dlib's face detector 1 time in 4. Lighter faces keep their pixels of earlier versions.
DARK_SKIN = 124.0
# The version of the drawing, written to every synthetic set's synth.json: raise it when the same settings draw
# other pixels, so that a set drawn before is not reused as if it were this one. 2: dark skin drawn as above.
# 3: faces larger than REFERENCE_FACE drawn with their strokes, edges and textures scaled to the face.
GENERATOR_VERSION = 3
# The face size (width, height) whose strokes, offsets, soft edges and texture cells are the pixel lengths written
# in render_face: CASME II's crops. A larger face has them scaled with it (feature_scale).
REFERENCE_FACE = (280, 340)


def feature_scale(size: tuple[int, int]) -> float:
    """How much render_face scales its pixel lengths for a face of ``size`` (width, height): 1.0 up to REFERENCE_FACE
    (so such faces keep the exact pixels of earlier versions), then in proportion to the face.

    With lines 1-2 px wide on a 630 x 764 face (a 1920 x 1080 recording), the features vanished when the face
    detector shrank the frame, and dlib found 17 of the 32 faces of seeds 0-3 (subjects 1-8)."""
    return max(1.0, min(size[0] / REFERENCE_FACE[0], size[1] / REFERENCE_FACE[1]))


def _face_size(meta: dict) -> tuple[int, int] | None:
    """The face size of a synthetic set's synth.json: ``face_size`` of long recordings, ``image_size`` of clips."""
    config = meta.get("config")
    size = (config.get("face_size") or config.get("image_size")) if isinstance(config, dict) else None
    ok = isinstance(size, list | tuple) and len(size) == 2 and all(isinstance(v, int | float) for v in size)
    return (size[0], size[1]) if ok else None


def older_generator(meta: dict) -> str | None:
    """Why a synthetic set's synth.json (``meta``) was drawn by another generator than this one; None if it was not."""
    version = meta.get("generator_version", 1)  # sets of before the number was written: version 1
    if version == GENERATOR_VERSION:
        return None
    size = _face_size(meta)
    if version == 2 and size is not None and feature_scale(size) == 1.0:  # version 3 drew these faces unchanged
        return None
    return f"drawn by synthetic generator version {version} (this mmnet draws version {GENERATOR_VERSION})"


@dataclass(frozen=True)
class Face:
    """A subject's neutral face and the landmarks that action units move.

    Attributes:
        image: (H, W, 3) float32 RGB in 0..255.
        landmarks: name -> (x, y) pixel position; left/right pairs end in ``_l``/``_r``
            (``_l`` is the subject's left, i.e. the image's right side).
        scale: a length unit of this face in pixels (eye width), used for motion radii.
    """

    image: np.ndarray
    landmarks: dict[str, tuple[float, float]]
    scale: float


def _noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Smooth value noise with features about ``cell`` px wide, zero mean and unit std."""
    from PIL import Image

    h, w = shape
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    up = np.array(Image.fromarray(coarse).resize((w, h), Image.BICUBIC), dtype=np.float32)
    up -= up.mean()
    return up / (up.std() + 1e-6)


def _bezier(p0, p1, p2, n: int = 48) -> np.ndarray:
    """Points of a quadratic Bezier curve: (n, 2) as (x, y)."""
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    p0, p1, p2 = (np.asarray(p, dtype=np.float32) for p in (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def _stroke(shape: tuple[int, int], pts: np.ndarray, width: float, taper: bool = True) -> np.ndarray:
    """Soft ink of a polyline: exp(-(d / width)^2), d = distance to the nearest curve point.

    ``taper`` narrows the stroke towards both ends, as brows and creases fade out.
    """
    h, w = shape
    out = np.zeros(shape, dtype=np.float32)
    pad = 3.0 * width + 2
    x0, x1 = int(max(0, pts[:, 0].min() - pad)), int(min(w, pts[:, 0].max() + pad + 1))
    y0, y1 = int(max(0, pts[:, 1].min() - pad)), int(min(h, pts[:, 1].max() + pad + 1))
    if x0 >= x1 or y0 >= y1:
        return out
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    # (h', w', n) squared distances to every curve point; curves have <= 64 points, boxes are small
    d2 = (xx[..., None] - pts[:, 0]) ** 2 + (yy[..., None] - pts[:, 1]) ** 2
    k = d2.argmin(axis=-1)
    d = np.sqrt(np.take_along_axis(d2, k[..., None], axis=-1)[..., 0])
    widths = np.full(len(pts), width, dtype=np.float32)
    if taper:
        t = np.linspace(0.0, 1.0, len(pts), dtype=np.float32)
        widths *= 0.35 + 0.65 * np.sqrt(np.abs(np.sin(np.pi * t)))
    out[y0:y1, x0:x1] = np.exp(-((d / widths[k]) ** 2))
    return out


def _ellipse(shape: tuple[int, int], c, rx: float, ry: float, soft: float = 1.5) -> np.ndarray:
    """Soft filled ellipse in 0..1 with an edge ``soft`` px wide."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx - c[0]) / rx) ** 2 + ((yy - c[1]) / ry) ** 2)
    return np.clip((1.0 - r) * min(rx, ry) / soft + 0.5, 0.0, 1.0)


def _paint(img: np.ndarray, alpha: np.ndarray, colour) -> None:
    """Alpha-blend ``colour`` (RGB) into ``img`` in place."""
    a = alpha[..., None]
    img *= 1.0 - a
    img += a * np.asarray(colour, dtype=np.float32)


def render_face(rng: np.random.Generator, size: tuple[int, int] = (280, 340), *, texture: float = 1.0) -> Face:
    """Draw one subject's neutral face.

    Args:
        rng: the subject's own generator; everything about the face comes from it.
        size: (width, height) in pixels; CASME II crops are about 280 x 340. A larger face gets its strokes,
            soft edges and texture scaled with it (``feature_scale``).
        texture: multiplier of the skin-texture contrast (pores, blotches, hair strands).
    """
    w, h = size
    shape = (h, w)
    u = rng.uniform
    k = feature_scale(size)
    # Curve points per stroke width as at REFERENCE_FACE: a larger face's strokes from 48 points were rows of beads.
    points = 48 if k == 1.0 else int(np.ceil(48 * k))

    def curve(p0, p1, p2) -> np.ndarray:
        return _bezier(p0, p1, p2, points)

    # Proportions relative to the frame, so other sizes give the same face layout.
    cx, cy = w * (0.5 + u(-0.02, 0.02)), h * (0.53 + u(-0.02, 0.02))
    rx, ry = w * u(0.40, 0.49), h * u(0.42, 0.50)
    eye_y = cy - ry * u(0.16, 0.26)
    eye_dx = rx * u(0.36, 0.46)
    eye_w = rx * u(0.15, 0.20)
    eye_h = eye_w * u(0.32, 0.48)
    brow_y = eye_y - eye_h - ry * u(0.07, 0.12)
    brow_len = eye_w * u(1.9, 2.4)
    brow_thick = k * u(2.5, 5.5)
    brow_arch = k * u(2.0, 8.0)
    nose_y = cy + ry * u(0.08, 0.17)
    nose_w = rx * u(0.15, 0.23)
    mouth_y = nose_y + ry * u(0.22, 0.30)
    mouth_w = rx * u(0.26, 0.36)
    lip_h = k * u(4.0, 8.0)
    chin_y = min(mouth_y + ry * u(0.22, 0.30), h - 8.0 * k)

    t = u(0, len(_SKIN_TONES) - 1)
    i = min(int(t), len(_SKIN_TONES) - 2)
    skin = _SKIN_TONES[i] + (t - i) * (_SKIN_TONES[i + 1] - _SKIN_TONES[i])
    skin = skin * (1 + rng.normal(0, 0.03, 3))
    luminance = float(skin @ _LUMA)
    dark = luminance < DARK_SKIN
    relative = luminance / DARK_SKIN if dark else 1.0
    hair = rng.uniform(15, 90) * np.array([1.0, u(0.75, 0.95), u(0.55, 0.8)], dtype=np.float32)
    background = rng.uniform(40, 200) * np.array([u(0.8, 1.2), u(0.8, 1.2), u(0.8, 1.2)], dtype=np.float32)
    lip_colour = skin * np.array([u(0.78, 0.9), u(0.55, 0.7), u(0.58, 0.72)], dtype=np.float32)
    iris = rng.uniform(20, 120) * np.array([1.0, u(0.7, 1.0), u(0.4, 0.9)], dtype=np.float32)

    img = np.empty((h, w, 3), dtype=np.float32)
    img[:] = background
    img += 6.0 * texture * _noise(rng, shape, 40 * k)[..., None]

    # Face with Lambertian-like shading from a per-subject light direction.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    nx, ny = (xx - cx) / rx, (yy - cy) / ry
    nz = np.sqrt(np.clip(1 - nx**2 - ny**2, 0, 1))
    light = np.array([u(-0.5, 0.5), u(-0.5, 0.1), 1.0], dtype=np.float32)
    light /= np.linalg.norm(light)
    shade = 0.55 + 0.45 * np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, 1)
    skin_img = skin * shade[..., None]
    skin_img = skin_img * (1 + 0.04 * texture * _noise(rng, shape, 25 * k)[..., None])  # blotches
    pores = 0.5 * _noise(rng, shape, 2.0 * k) + 0.5 * _noise(rng, shape, 4.0 * k)
    skin_img += 5.0 * texture * relative**2 * pores[..., None]
    face_mask = _ellipse(shape, (cx, cy), rx, ry, soft=2.0 * k)
    _paint(img, face_mask, 0)  # composite: img = bg*(1-m); then add skin*m
    img += face_mask[..., None] * skin_img

    # Hair above a per-subject hairline, with strands.
    hairline = brow_y - ry * u(0.22, 0.40)
    wave = 5 * k * np.sin(xx / w * np.pi * u(1, 3) + u(0, 6))
    hair_shape = _ellipse(shape, (cx, cy - ry * u(0.02, 0.08)), rx * u(1.02, 1.1), ry * u(1.03, 1.1), soft=3.0 * k)
    hair_mask = np.clip((hairline + wave - yy) / (3.0 * k), 0, 1) * hair_shape
    strands = hair[None, None, :] * (1 + 0.25 * texture * _noise(rng, shape, 3 * k)[..., None])
    if dark:
        strands = np.minimum(strands, 0.5 * luminance)
    img = img * (1 - hair_mask[..., None]) + hair_mask[..., None] * strands

    # Forehead lines (AU1/AU2 move them) and glabella lines (AU4).
    ink = np.zeros(shape, dtype=np.float32)
    for line in range(rng.integers(2, 4)):
        y = brow_y - ry * (0.08 + 0.06 * line) + k * u(-2, 2)
        half = rx * u(0.3, 0.5)
        ink += u(0.25, 0.45) * _stroke(
            shape, curve((cx - half, y + 3 * k), (cx, y - k * u(1, 5)), (cx + half, y + 3 * k)), 1.4 * k
        )
    for s in (-1, 1):
        gx = cx + s * k * u(4, 9)
        ink += u(0.2, 0.35) * _stroke(
            shape, curve((gx, brow_y - 12 * k), (gx, brow_y - 4 * k), (gx - s * 1.5 * k, brow_y + 4 * k)), 1.2 * k
        )

    # eyes in the shade of their sockets, not bright blobs on dark skin
    sclera = np.array((235, 232, 228), dtype=np.float32) * max(relative, 0.6)
    brow_colour = np.minimum(hair * 0.8, skin * 0.45) if dark else hair * 0.8
    lm: dict[str, tuple[float, float]] = {}
    for s, side in ((-1, "r"), (1, "l")):
        ex = cx + s * eye_dx
        # eye: sclera, iris, lids
        _paint(img, 0.9 * _ellipse(shape, (ex, eye_y), eye_w, eye_h, 1.5 * k), sclera)
        _paint(img, _ellipse(shape, (ex + s * k * u(-1, 1), eye_y), eye_h * 0.75, eye_h * 0.75, 1.5 * k), iris)
        _paint(img, _ellipse(shape, (ex, eye_y), eye_h * 0.3, eye_h * 0.3, 1.5 * k), (10, 8, 8))
        ink += 0.9 * _stroke(
            shape, curve((ex - eye_w, eye_y), (ex, eye_y - 2.1 * eye_h), (ex + eye_w, eye_y)), 1.6 * k, taper=False
        )
        ink += 0.35 * _stroke(
            shape, curve((ex - eye_w, eye_y), (ex, eye_y + 1.9 * eye_h), (ex + eye_w, eye_y)), 1.2 * k
        )
        ink += 0.3 * _stroke(
            shape,
            curve(
                (ex - eye_w * 0.9, eye_y - eye_h * 1.4),
                (ex, eye_y - 2.6 * eye_h),
                (ex + eye_w * 0.9, eye_y - eye_h * 1.4),
            ),
            1.2 * k,
        )
        ink += 0.25 * _stroke(
            shape,
            curve(
                (ex - eye_w * 0.7, eye_y + eye_h * 1.8),
                (ex, eye_y + 2.6 * eye_h),
                (ex + eye_w * 0.8, eye_y + eye_h * 1.6),
            ),
            1.5 * k,
        )
        # brow: inner end near the nose, outer end above the eye's outer corner
        inner = (cx + s * eye_dx * u(0.35, 0.45), brow_y + k * u(0, 3))
        outer = (inner[0] + s * brow_len, brow_y + k * u(1, 5))
        mid = ((inner[0] + outer[0]) / 2, brow_y - brow_arch)
        brow = _stroke(shape, curve(inner, mid, outer), brow_thick)
        brow *= np.clip(0.85 + 0.4 * texture * _noise(rng, shape, 2.0 * k), 0, 1)
        _paint(img, np.clip(brow, 0, 1), brow_colour)
        # nose wing, nostril and nasolabial fold
        wing = (cx + s * nose_w, nose_y)
        ink += 0.6 * _stroke(
            shape,
            curve(
                (cx + s * nose_w * 0.5, nose_y - 14 * k),
                (wing[0] + s * 6 * k, nose_y - 6 * k),
                (cx + s * nose_w * 0.55, nose_y + 5 * k),
            ),
            1.8 * k,
        )
        _paint(
            img,
            0.75 * _ellipse(shape, (cx + s * nose_w * 0.45, nose_y + 3 * k), nose_w * 0.28, nose_w * 0.16, 1.5 * k),
            skin * 0.35,
        )
        corner = (cx + s * mouth_w, mouth_y)
        ink += u(0.3, 0.55) * _stroke(
            shape,
            curve(
                (wing[0] + s * 4 * k, nose_y - 4 * k),
                (corner[0] + s * 10 * k, (nose_y + mouth_y) / 2),
                (corner[0] + s * 6 * k, mouth_y + 10 * k),
            ),
            2.2 * k,
        )
        ink += 0.45 * _stroke(
            shape,
            curve(
                (corner[0] - s * 2 * k, mouth_y - 2 * k),
                (corner[0] + s * 3 * k, mouth_y),
                (corner[0] + s * 3 * k, mouth_y + 4 * k),
            ),
            1.5 * k,
        )
        lm |= {
            f"brow_inner_{side}": inner,
            f"brow_outer_{side}": outer,
            f"brow_mid_{side}": mid,
            f"eye_{side}": (ex, eye_y),
            f"upper_lid_{side}": (ex, eye_y - eye_h),
            f"lower_lid_{side}": (ex, eye_y + eye_h),
            f"cheek_{side}": (ex + s * 4 * k, eye_y + ry * 0.25),
            f"nose_wing_{side}": wing,
            f"lip_corner_{side}": corner,
            f"upper_lip_{side}": (cx + s * mouth_w * 0.45, mouth_y - lip_h),
            f"lower_lip_{side}": (cx + s * mouth_w * 0.45, mouth_y + lip_h),
            f"nasolabial_{side}": (corner[0] + s * 8 * k, (nose_y + mouth_y) / 2),
        }
    # nose bridge sides (soft shadow) and lips
    for s in (-1, 1):
        ink += 0.2 * _stroke(
            shape,
            curve(
                (cx + s * 7 * k, eye_y),
                (cx + s * 9 * k, (eye_y + nose_y) / 2),
                (cx + s * nose_w * 0.7, nose_y - 12 * k),
            ),
            2.5 * k,
        )
    upper = np.clip(
        _stroke(
            shape,
            curve((cx - mouth_w, mouth_y), (cx, mouth_y - 2.2 * lip_h), (cx + mouth_w, mouth_y)),
            lip_h * 0.6,
            taper=True,
        ),
        0,
        1,
    )
    lower = np.clip(
        _stroke(
            shape,
            curve((cx - mouth_w * 0.9, mouth_y + k), (cx, mouth_y + 2.6 * lip_h), (cx + mouth_w * 0.9, mouth_y + k)),
            lip_h * 0.7,
            taper=True,
        ),
        0,
        1,
    )
    _paint(img, 0.8 * np.maximum(upper, lower), lip_colour)
    ink += 0.9 * _stroke(
        shape, curve((cx - mouth_w, mouth_y), (cx, mouth_y + k * u(-2, 3)), (cx + mouth_w, mouth_y)), 1.5 * k
    )
    ink += 0.35 * _stroke(
        shape,
        curve(
            (cx - mouth_w * 0.45, chin_y - ry * 0.12),
            (cx, chin_y - ry * 0.09),
            (cx + mouth_w * 0.45, chin_y - ry * 0.12),
        ),
        2.0 * k,
    )
    ink += 0.25 * _stroke(
        shape, curve((cx - 4 * k, chin_y - 10 * k), (cx, chin_y - 6 * k), (cx + 4 * k, chin_y - 10 * k)), 2.0 * k
    )
    ink *= face_mask
    img *= 1.0 - (0.55 + 0.45 * (1.0 - relative)) * np.clip(ink, 0, 1)[..., None]

    lm |= {
        "glabella": (cx, brow_y),
        "nose_tip": (cx, nose_y),
        "upper_lip": (cx, mouth_y - lip_h),
        "lower_lip": (cx, mouth_y + lip_h),
        "mouth": (cx, mouth_y),
        "chin": (cx, chin_y - ry * 0.08),
        "forehead": (cx, brow_y - ry * 0.12),
    }
    return Face(image=np.clip(img, 0, 255).astype(np.float32), landmarks=lm, scale=float(eye_w))
